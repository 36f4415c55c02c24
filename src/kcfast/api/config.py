"""``ConfigDef``: typed, validated configuration definitions, as in Kafka's ``org.apache.kafka.common.config``.

A connector, converter or transformation describes the keys it accepts with a :class:`ConfigDef`. The worker
uses it to parse configurations (:meth:`ConfigDef.parse`) and to answer the REST validate endpoint
(:meth:`ConfigDef.validate_all`, then :func:`kcfast.api.config_infos.config_infos`). Parsing follows Java's
rules and error texts exactly, because users see them through the REST API::

    CONFIG_DEF = (
        ConfigDef()
        .define("topic", Type.STRING, validator=NonEmptyString(), importance=Importance.HIGH,
                documentation="The topic to publish data to")
        .define("batch.size", Type.INT, 2000, Range.at_least(1), Importance.LOW, "Records per poll")
    )
    config = Config(CONFIG_DEF, {"topic": "t"})
    config.get_int("batch.size")  # 2000

A ``ConfigDef`` is not thread-safe while keys are being defined; once built it may be shared.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeAlias

from kcfast.api._config_types import (
    _IMPORTANCE_ORDER,
    NO_DEFAULT_VALUE,
    Importance,
    Password,
    Type,
    Width,
    class_name,
    convert_to_string,
    parse_type,
)
from kcfast.api._text import java_class_name, java_trim
from kcfast.api.validators import (
    CaseInsensitiveValidString,
    CompositeValidator,
    LambdaValidator,
    ListSize,
    NonEmptyString,
    NonEmptyStringWithoutControlChars,
    NonNullValidator,
    Range,
    Recommender,
    RegexValidator,
    Validator,
    ValidList,
    ValidString,
    _PrefixedRecommender,
    _PrefixedValidator,
)
from kcfast.errors import ConfigError


class ConfigKey:
    """The definition of one key. The default is parsed, and checked by the validator, on creation.

    Attributes mirror Java's public fields: ``name``, ``type``, ``default_value`` (:data:`NO_DEFAULT_VALUE` if
    required), ``validator``, ``importance``, ``documentation``, ``group``, ``order_in_group``, ``width``,
    ``display_name``, ``dependents``, ``recommender``, ``internal_config``, ``alternative_string``.
    """

    __slots__ = (
        "alternative_string",
        "default_value",
        "dependents",
        "display_name",
        "documentation",
        "group",
        "importance",
        "internal_config",
        "name",
        "order_in_group",
        "recommender",
        "type",
        "validator",
        "width",
    )

    def __init__(
        self,
        name: str,
        type: Type,
        default_value: Any = NO_DEFAULT_VALUE,
        validator: Validator | None = None,
        importance: Importance = Importance.MEDIUM,
        documentation: str | None = "",
        group: str | None = None,
        order_in_group: int = -1,
        width: Width = Width.NONE,
        display_name: str | None = None,
        dependents: Iterable[str] = (),
        recommender: Recommender | None = None,
        internal_config: bool = False,
        alternative_string: str | None = None,
    ) -> None:
        self.name = name
        self.type = type
        has_default = default_value is not NO_DEFAULT_VALUE
        self.default_value = parse_type(name, default_value, type) if has_default else NO_DEFAULT_VALUE
        self.validator = validator
        self.importance = importance
        if validator is not None and has_default:
            validator.ensure_valid(name, self.default_value)
        self.documentation = documentation
        self.group = group
        self.order_in_group = order_in_group
        self.width = width
        self.display_name = name if display_name is None else display_name
        self.dependents = list(dependents)
        self.recommender = recommender
        self.internal_config = internal_config
        self.alternative_string = alternative_string

    def has_default(self) -> bool:
        """Whether the key has a default (that is, is not required)."""
        return self.default_value is not NO_DEFAULT_VALUE

    def __repr__(self) -> str:
        return f"ConfigKey({self.name!r}, {self.type.name}, default={self.default_value!r})"


class ConfigValue:
    """The outcome of validating one key: parsed value, recommended values, errors and visibility."""

    __slots__ = ("error_messages", "name", "recommended_values", "value", "visible")

    def __init__(
        self,
        name: str,
        value: Any = None,
        recommended_values: Sequence[Any] | None = None,
        error_messages: Sequence[str] | None = None,
        visible: bool = True,
    ) -> None:
        self.name = name
        self.value = value
        self.recommended_values: list[Any] = list(recommended_values or ())
        self.error_messages: list[str] = list(error_messages or ())
        self.visible = visible

    def add_error_message(self, message: str) -> None:
        """Record one more error for this key."""
        self.error_messages.append(message)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfigValue):
            return NotImplemented
        return (
            self.name == other.name
            and self.value == other.value
            and self.recommended_values == other.recommended_values
            and self.error_messages == other.error_messages
            and self.visible == other.visible
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return (
            f"ConfigValue(name={self.name!r}, value={self.value!r}, recommended_values={self.recommended_values!r}, "
            f"error_messages={self.error_messages!r}, visible={self.visible!r})"
        )


class ConfigValidation:
    """The result of :meth:`kcfast.api.Connector.validate`: one :class:`ConfigValue` per key (Java ``Config``)."""

    __slots__ = ("_values",)

    def __init__(self, config_values: Iterable[ConfigValue]) -> None:
        self._values = list(config_values)

    def config_values(self) -> list[ConfigValue]:
        """The validated values, one per key."""
        return self._values

    def __iter__(self) -> Iterator[ConfigValue]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfigValidation):
            return NotImplemented
        return self._values == other._values

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ConfigValidation({self._values!r})"


def _missing(name: str) -> str:
    return f'Missing required configuration "{name}" which has no default value.'


class ConfigDef:
    """An ordered set of :class:`ConfigKey` definitions, built with chained :meth:`define` calls.

    Keys keep their definition order, which is the order of the REST validate answer. The validator and
    recommender classes are also reachable as attributes (``ConfigDef.Range``, ``ConfigDef.Type``), as in Java.
    """

    Type: TypeAlias = Type
    Importance: TypeAlias = Importance
    Width: TypeAlias = Width
    NO_DEFAULT_VALUE: Any = NO_DEFAULT_VALUE
    ConfigKey: TypeAlias = ConfigKey
    Validator: TypeAlias = Validator
    Recommender: TypeAlias = Recommender
    Range: TypeAlias = Range
    ValidString: TypeAlias = ValidString
    CaseInsensitiveValidString: TypeAlias = CaseInsensitiveValidString
    ValidList: TypeAlias = ValidList
    NonNullValidator: TypeAlias = NonNullValidator
    NonEmptyString: TypeAlias = NonEmptyString
    NonEmptyStringWithoutControlChars: TypeAlias = NonEmptyStringWithoutControlChars
    ListSize: TypeAlias = ListSize
    LambdaValidator: TypeAlias = LambdaValidator
    CompositeValidator: TypeAlias = CompositeValidator
    RegexValidator: TypeAlias = RegexValidator

    def __init__(self, base: ConfigDef | None = None) -> None:
        self._keys: dict[str, ConfigKey] = dict(base._keys) if base is not None else {}
        self._groups: list[str] = list(base._groups) if base is not None else []

    # -- definition -------------------------------------------------------------------------------------

    def define_key(self, key: ConfigKey) -> ConfigDef:
        """Add a prepared :class:`ConfigKey` (Java ``define(ConfigKey)``).

        Raises:
            ConfigError: ``Configuration k is defined twice.``
        """
        if key.name in self._keys:
            raise ConfigError(f"Configuration {key.name} is defined twice.")
        if key.group is not None and key.group not in self._groups:
            self._groups.append(key.group)
        self._keys[key.name] = key
        return self

    def define(
        self,
        name: str,
        type: Type,
        default: Any = NO_DEFAULT_VALUE,
        validator: Validator | None = None,
        importance: Importance = Importance.MEDIUM,
        documentation: str | None = "",
        group: str | None = None,
        order_in_group: int = -1,
        width: Width = Width.NONE,
        display_name: str | None = None,
        dependents: Iterable[str] = (),
        recommender: Recommender | None = None,
        alternative_string: str | None = None,
    ) -> ConfigDef:
        """Define a key and return ``self`` so calls chain.

        Args:
            name: the key.
            type: its :class:`Type`.
            default: the default, as a string or a typed value; :data:`NO_DEFAULT_VALUE` makes it required.
            validator: checks parsed values (and the default, right now).
            importance: how likely a user needs to set it.
            documentation: what it does.
            group: the UI group; groups are listed in first-definition order.
            order_in_group: position within the group.
            width: UI width.
            display_name: UI label; the key's name if omitted.
            dependents: keys whose recommendations depend on this one.
            recommender: suggests values and visibility.
            alternative_string: text shown instead of the default in generated docs.

        Raises:
            ConfigError: the key is defined twice, or the default does not parse or validate.
        """
        return self.define_key(
            ConfigKey(
                name,
                type,
                default,
                validator,
                importance,
                documentation,
                group,
                order_in_group,
                width,
                display_name,
                dependents,
                recommender,
                False,
                alternative_string,
            )
        )

    def define_internal(
        self,
        name: str,
        type: Type,
        default: Any,
        importance: Importance,
        validator: Validator | None = None,
        documentation: str = "",
    ) -> ConfigDef:
        """Define a key that is left out of generated documentation."""
        return self.define_key(
            ConfigKey(
                name,
                type,
                default,
                validator,
                importance,
                documentation,
                "",
                -1,
                Width.NONE,
                name,
                (),
                None,
                True,
            )
        )

    def embed(self, key_prefix: str, group_prefix: str, starting_ord: int, child: ConfigDef) -> ConfigDef:
        """Copy ``child``'s keys in under ``key_prefix``, in groups ``group_prefix[: group]``.

        Keys are taken in ``child``'s documentation order and numbered from ``starting_ord``; validators and
        recommenders see the names without the prefix. This is how a connector's ConfigDef gains the keys of its
        transformations (``transforms.<alias>.<key>``).
        """
        order = starting_ord
        for key in child.sorted_configs():
            self.define_key(
                ConfigKey(
                    key_prefix + key.name,
                    key.type,
                    key.default_value,
                    _PrefixedValidator(key_prefix, key.validator) if key.validator is not None else None,
                    key.importance,
                    key.documentation,
                    group_prefix + ("" if key.group is None else ": " + key.group),
                    order,
                    key.width,
                    key.display_name,
                    [key_prefix + d for d in key.dependents],
                    _PrefixedRecommender(key_prefix, key.recommender)
                    if key.recommender is not None
                    else None,
                    key.internal_config,
                    key.alternative_string,
                )
            )
            order += 1
        return self

    # -- introspection ----------------------------------------------------------------------------------

    def names(self) -> frozenset[str]:
        """The defined key names."""
        return frozenset(self._keys)

    def config_keys(self) -> dict[str, ConfigKey]:
        """The definitions by name, in definition order (the live mapping, as in Java)."""
        return self._keys

    def groups(self) -> list[str]:
        """Group names in first-definition order."""
        return self._groups

    def default_values(self) -> dict[str, Any]:
        """Defaults of the keys that have one."""
        return {k.name: k.default_value for k in self._keys.values() if k.has_default()}

    def sorted_configs(self) -> list[ConfigKey]:
        """Keys in documentation order: by group, order in group, required first, importance, then name."""
        group_ord = {g: i for i, g in enumerate(self._groups)}

        def sort_key(key: ConfigKey) -> tuple[int, int, int, int, int, str]:
            return (
                0 if key.group is None else 1,
                group_ord.get(key.group, -1) if key.group is not None else 0,
                key.order_in_group,
                1 if key.has_default() else 0,
                _IMPORTANCE_ORDER[key.importance],
                key.name,
            )

        return sorted(self._keys.values(), key=sort_key)

    def __contains__(self, name: object) -> bool:
        return name in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    # -- parsing ----------------------------------------------------------------------------------------

    def _undefined_dependents(self) -> list[str]:
        undefined = {d for key in self._keys.values() for d in key.dependents if d not in self._keys}
        return sorted(undefined)

    def parse_value(self, key: ConfigKey, value: Any, is_set: bool) -> Any:
        """Parse one key's value (or its default when not set) and run its validator.

        Raises:
            ConfigError: a required key is missing, or the value does not parse or validate.
        """
        if is_set:
            parsed = parse_type(key.name, value, key.type)
        elif not key.has_default():
            raise ConfigError(_missing(key.name))
        else:
            parsed = key.default_value
        if key.validator is not None:
            key.validator.ensure_valid(key.name, parsed)
        return parsed

    def parse(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """Parse and validate ``props`` into typed values for every defined key (defaults filled in).

        Keys of ``props`` that are not defined are ignored. Values may be strings or already typed.

        Raises:
            ConfigError: at the first key (in definition order) that is missing, malformed or invalid.
        """
        undefined = self._undefined_dependents()
        if undefined:
            raise ConfigError(
                "Some configurations in are referred in the dependents, but not defined: "
                + ",".join(undefined)
            )
        return {
            name: self.parse_value(key, props.get(name), name in props) for name, key in self._keys.items()
        }

    # -- validation -------------------------------------------------------------------------------------

    def validate(self, props: Mapping[str, Any]) -> list[ConfigValue]:
        """Validate ``props`` and return one :class:`ConfigValue` per key (see :meth:`validate_all`)."""
        return list(self.validate_all(props).values())

    def validate_all(self, props: Mapping[str, Any]) -> dict[str, ConfigValue]:
        """Validate ``props`` without stopping at the first error.

        Each key gets its parsed value (``None`` if it did not parse) and every error message: a missing
        required key gets ``Missing required configuration "k" which has no default value.``, a malformed or
        invalid value ``Invalid value V for configuration k: <reason>``. Keys are parsed from those that no key
        lists as a dependent, then their dependents; recommenders then set recommended values and visibility.
        A dependent that is not defined gets an invisible entry with the error
        ``d is referred in the dependents, but not defined.`` As in Kafka, a key that is a dependent of several
        keys is parsed once per parent, so its errors repeat (and count) once per parent; a dependency cycle is
        cut where it closes.

        Returns:
            The values by name, in definition order (undefined dependents last).
        """
        values = {name: ConfigValue(name) for name in self._keys}
        for undefined in self._undefined_dependents():
            entry = ConfigValue(undefined, visible=False)
            entry.add_error_message(f"{undefined} is referred in the dependents, but not defined.")
            values[undefined] = entry
        roots = self._configs_with_no_parent()
        parsed: dict[str, Any] = {}
        for name in roots:
            self._parse_for_validate(name, props, parsed, values, set())
        for name in roots:
            self._recommend(name, parsed, values, set())
        return values

    def _configs_with_no_parent(self) -> list[str]:
        with_parent = {d for key in self._keys.values() for d in key.dependents}
        return [name for name in self._keys if name not in with_parent]

    def _parse_for_validate(
        self,
        name: str,
        props: Mapping[str, Any],
        parsed: dict[str, Any],
        values: dict[str, ConfigValue],
        path: set[str],
    ) -> None:
        # ``path`` holds the keys being visited above this one: it only cuts cycles.
        key = self._keys.get(name)
        if key is None or name in path:
            return
        entry = values[name]
        value: Any = None
        if name in props:
            try:
                value = parse_type(name, props[name], key.type)
            except ConfigError as exc:
                entry.add_error_message(str(exc))
        elif not key.has_default():
            entry.add_error_message(_missing(name))
        else:
            value = key.default_value
        if key.validator is not None:
            # As in Kafka, the validator also sees None after a failed parse or a missing required key.
            try:
                key.validator.ensure_valid(name, value)
            except ConfigError as exc:
                entry.add_error_message(str(exc))
        entry.value = value
        parsed[name] = value
        path.add(name)
        for dependent in key.dependents:
            self._parse_for_validate(dependent, props, parsed, values, path)
        path.discard(name)

    def _recommend(
        self, name: str, parsed: dict[str, Any], values: dict[str, ConfigValue], path: set[str]
    ) -> None:
        key = self._keys.get(name)
        if key is None or name in path:
            return
        entry = values[name]
        if key.recommender is not None:
            try:
                recommended = list(key.recommender.valid_values(name, parsed))
                if entry.recommended_values:
                    allowed = entry.recommended_values
                    recommended = [v for v in recommended if v in allowed]
                entry.recommended_values = recommended
                entry.visible = bool(key.recommender.visible(name, parsed))
            except ConfigError as exc:
                entry.add_error_message(str(exc))
        path.add(name)
        for dependent in key.dependents:
            self._recommend(dependent, parsed, values, path)
        path.discard(name)

    parse_type = staticmethod(parse_type)
    convert_to_string = staticmethod(convert_to_string)

    def __repr__(self) -> str:
        return f"ConfigDef({list(self._keys)!r})"


class Config:
    """Parsed configuration with typed getters (Java ``AbstractConfig``; also exported as ``AbstractConfig``).

    ``Config(definition, props)`` parses ``props`` with ``definition`` at once and raises
    :class:`~kcfast.errors.ConfigError` if they are invalid. Subclasses may override
    :meth:`post_process_parsed_config`. Getters remember which keys were read (:meth:`unused`).
    """

    def __init__(self, definition: ConfigDef, originals: Mapping[str, Any]) -> None:
        for key in originals:
            if not isinstance(key, str):
                raise ConfigError("Key must be a string.")
        self._definition = definition
        self._originals: dict[str, Any] = dict(originals)
        self._values: dict[str, Any] = definition.parse(self._originals)
        updates = self.post_process_parsed_config(dict(self._values))
        if updates:
            self._values.update(updates)
            definition.parse(self._values)
        self._used: set[str] = set()

    def post_process_parsed_config(self, parsed_values: Mapping[str, Any]) -> Mapping[str, Any]:
        """Hook for subclasses: values to add or replace after parsing (the result is parsed again)."""
        return {}

    @property
    def definition(self) -> ConfigDef:
        """The definition these values were parsed with."""
        return self._definition

    def get(self, key: str) -> Any:
        """The parsed value of ``key``.

        Raises:
            ConfigError: ``Unknown configuration 'k'``.
        """
        if key not in self._values:
            raise ConfigError(f"Unknown configuration '{key}'")
        self._used.add(key)
        return self._values[key]

    def _typed(self, key: str, *types: Type) -> Any:
        value = self.get(key)
        config_key = self._definition.config_keys().get(key)
        if config_key is not None and config_key.type not in types:
            wanted = " or ".join(t.name for t in types)
            raise ConfigError(f"Configuration '{key}' is of type {config_key.type.name}, not {wanted}")
        return value

    def get_boolean(self, key: str) -> bool | None:
        """A BOOLEAN value."""
        return self._typed(key, Type.BOOLEAN)  # type: ignore[no-any-return]

    def get_short(self, key: str) -> int | None:
        """A SHORT value."""
        return self._typed(key, Type.SHORT)  # type: ignore[no-any-return]

    def get_int(self, key: str) -> int | None:
        """An INT value."""
        return self._typed(key, Type.INT)  # type: ignore[no-any-return]

    def get_long(self, key: str) -> int | None:
        """A LONG value."""
        return self._typed(key, Type.LONG)  # type: ignore[no-any-return]

    def get_double(self, key: str) -> float | None:
        """A DOUBLE value."""
        return self._typed(key, Type.DOUBLE)  # type: ignore[no-any-return]

    def get_list(self, key: str) -> list[Any] | None:
        """A LIST value."""
        return self._typed(key, Type.LIST)  # type: ignore[no-any-return]

    def get_string(self, key: str) -> str | None:
        """A STRING value, trimmed."""
        value = self._typed(key, Type.STRING)
        return None if value is None else java_trim(value)

    def get_password(self, key: str) -> Password | None:
        """A PASSWORD value."""
        return self._typed(key, Type.PASSWORD)  # type: ignore[no-any-return]

    def get_class(self, key: str) -> Any:
        """A CLASS value: the class name as given, or a class object if one was passed."""
        return self._typed(key, Type.CLASS)

    def ignore(self, key: str) -> None:
        """Mark ``key`` as used without reading it."""
        self._used.add(key)

    def type_of(self, key: str) -> Type | None:
        """The type of a defined key, else ``None``."""
        config_key = self._definition.config_keys().get(key)
        return None if config_key is None else config_key.type

    def documentation_of(self, key: str) -> str | None:
        """The documentation of a defined key, else ``None``."""
        config_key = self._definition.config_keys().get(key)
        return None if config_key is None else config_key.documentation

    def unused(self) -> set[str]:
        """Original keys that no getter has read."""
        return set(self._originals) - self._used

    def originals(self, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """A copy of the values as given, updated with ``overrides``."""
        copy = dict(self._originals)
        if overrides:
            copy.update(overrides)
        return copy

    def originals_strings(self) -> dict[str, str]:
        """The values as given, all of which must be strings.

        Raises:
            ConfigError: a value is not a string.
        """
        result: dict[str, str] = {}
        for key, value in self._originals.items():
            if not isinstance(value, str):
                found = None if value is None else java_class_name(value)
                raise ConfigError(f"Non-string value found in original settings for key {key}: {found}")
            result[key] = value
        return result

    def originals_with_prefix(self, prefix: str, strip: bool = True) -> dict[str, Any]:
        """Original values whose key starts with ``prefix``, with the prefix removed if ``strip``."""
        n = len(prefix)
        return {(k[n:] if strip else k): v for k, v in self._originals.items() if k.startswith(prefix)}

    def values_with_prefix_override(self, prefix: str) -> dict[str, Any]:
        """Parsed values, where ``<prefix><key>`` originals override ``<key>`` (parsed with its definition)."""
        result = dict(self._values)
        keys = self._definition.config_keys()
        for original_key, value in self._originals.items():
            if not original_key.startswith(prefix) or len(original_key) <= len(prefix):
                continue
            stripped = original_key[len(prefix) :]
            config_key = keys.get(stripped)
            if config_key is None:
                # Java also accepts one more prefix segment, e.g. "listener.name.x." + key.
                secondary = stripped[stripped.find(".") + 1 :]
                config_key = keys.get(secondary)
            if config_key is not None:
                result[stripped] = self._definition.parse_value(config_key, value, True)
        return result

    def values(self) -> dict[str, Any]:
        """A copy of all parsed values."""
        return dict(self._values)

    def non_internal_values(self) -> dict[str, Any]:
        """Parsed values of the keys not defined as internal."""
        keys = self._definition.config_keys()
        return {k: v for k, v in self._values.items() if k not in keys or not keys[k].internal_config}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return type(self) is type(other) and self._originals == other._originals

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = {
            k: (Password.HIDDEN if isinstance(v, Password) else v) for k, v in sorted(self._values.items())
        }
        return f"{type(self).__name__}({shown!r})"


AbstractConfig = Config

__all__ = [
    "NO_DEFAULT_VALUE",
    "AbstractConfig",
    "CaseInsensitiveValidString",
    "CompositeValidator",
    "Config",
    "ConfigDef",
    "ConfigKey",
    "ConfigValidation",
    "ConfigValue",
    "Importance",
    "LambdaValidator",
    "ListSize",
    "NonEmptyString",
    "NonEmptyStringWithoutControlChars",
    "NonNullValidator",
    "Password",
    "Range",
    "Recommender",
    "RegexValidator",
    "Type",
    "ValidList",
    "ValidString",
    "Validator",
    "Width",
    "class_name",
    "convert_to_string",
    "parse_type",
]
