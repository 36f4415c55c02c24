"""ConfigDef parsing, validation and the typed Config helper, against Kafka's behaviour and exact texts."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

from kcfast.api._text import java_double_str, java_str
from kcfast.api.config import (
    NO_DEFAULT_VALUE,
    AbstractConfig,
    CaseInsensitiveValidString,
    CompositeValidator,
    Config,
    ConfigDef,
    ConfigValue,
    Importance,
    LambdaValidator,
    ListSize,
    NonEmptyString,
    NonEmptyStringWithoutControlChars,
    NonNullValidator,
    Password,
    Range,
    Recommender,
    RegexValidator,
    Type,
    ValidList,
    ValidString,
    Width,
    convert_to_string,
)
from kcfast.errors import ConfigError


def one_key(type_: Type, validator: Any = None, default: Any = NO_DEFAULT_VALUE) -> ConfigDef:
    return ConfigDef().define("name", type_, default, validator, Importance.HIGH, "docs")


def parse_error(config_def: ConfigDef, value: Any) -> str:
    with pytest.raises(ConfigError) as info:
        config_def.parse({"name": value})
    return str(info.value)


class TestParse:
    def test_basic_types(self) -> None:
        config_def = (
            ConfigDef()
            .define("a", Type.INT, 5, Range.between(0, 14), Importance.HIGH, "docs")
            .define("b", Type.LONG, importance=Importance.HIGH, documentation="docs")
            .define("c", Type.STRING, "hello", importance=Importance.HIGH)
            .define("d", Type.LIST)
            .define("e", Type.DOUBLE)
            .define("f", Type.CLASS)
            .define("g", Type.BOOLEAN)
            .define("h", Type.BOOLEAN)
            .define("i", Type.BOOLEAN)
            .define("j", Type.PASSWORD)
            .define("k", Type.SHORT)
        )
        values = config_def.parse(
            {
                "a": "1   ",
                "b": 2,
                "d": " a , b, c",
                "e": 42.5,
                "f": "org.example.Plugin",
                "g": "true",
                "h": "FalSE",
                "i": "TRUE",
                "j": "password",
                "k": " -7",
            }
        )
        assert values == {
            "a": 1,
            "b": 2,
            "c": "hello",
            "d": ["a", "b", "c"],
            "e": 42.5,
            "f": "org.example.Plugin",
            "g": True,
            "h": False,
            "i": True,
            "j": Password("password"),
            "k": -7,
        }
        assert list(values) == list("abcdefghijk")  # definition order

    def test_password_is_hidden_but_kept(self) -> None:
        secret = one_key(Type.PASSWORD).parse({"name": "  s3cret "})["name"]
        assert str(secret) == "[hidden]"
        assert repr(secret) == "[hidden]"
        assert f"{ {'p': secret} }" == "{'p': [hidden]}"
        assert secret.value() == "s3cret"

    @pytest.mark.parametrize(
        ("type_", "value", "message"),
        [
            (Type.INT, "hello", "Invalid value hello for configuration name: Not a number of type INT"),
            (Type.INT, "42.5", "Invalid value 42.5 for configuration name: Not a number of type INT"),
            (
                Type.INT,
                "2147483648",
                "Invalid value 2147483648 for configuration name: Not a number of type INT",
            ),
            (Type.INT, "1_000", "Invalid value 1_000 for configuration name: Not a number of type INT"),
            (
                Type.INT,
                42.5,
                (
                    "Invalid value 42.5 for configuration name: Expected value to be a 32-bit integer, "
                    "but it was a java.lang.Double"
                ),
            ),
            (
                Type.INT,
                2**40,
                (
                    "Invalid value 1099511627776 for configuration name: Expected value to be a 32-bit integer, "
                    "but it was a java.lang.Long"
                ),
            ),
            (Type.SHORT, "32768", "Invalid value 32768 for configuration name: Not a number of type SHORT"),
            (
                Type.LONG,
                "922337203685477580700",
                "Invalid value 922337203685477580700 for configuration name: Not a number of type LONG",
            ),
            (Type.DOUBLE, "hello", "Invalid value hello for configuration name: Not a number of type DOUBLE"),
            (Type.DOUBLE, "inf", "Invalid value inf for configuration name: Not a number of type DOUBLE"),
            (
                Type.STRING,
                5,
                "Invalid value 5 for configuration name: Expected value to be a string, but it was a java.lang.Integer",
            ),
            (Type.LIST, 53, "Invalid value 53 for configuration name: Expected a comma separated list."),
            (
                Type.BOOLEAN,
                "truee",
                "Invalid value truee for configuration name: Expected value to be either true or false",
            ),
            (
                Type.BOOLEAN,
                1,
                "Invalid value 1 for configuration name: Expected value to be either true or false",
            ),
            (
                Type.CLASS,
                3,
                "Invalid value 3 for configuration name: Expected a Class instance or class name.",
            ),
        ],
    )
    def test_bad_inputs_have_kafkas_messages(self, type_: Type, value: Any, message: str) -> None:
        assert parse_error(one_key(type_), value) == message

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("1e3", 1000.0),
            ("-2.5", -2.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("1.5d", 1.5),
            ("2F", 2.0),
            ("0x1p4", 16.0),
            ("-Infinity", -math.inf),
            (" 3.125 ", 3.125),
        ],
    )
    def test_double_follows_java_grammar(self, text: str, expected: float) -> None:
        assert one_key(Type.DOUBLE).parse({"name": text})["name"] == expected

    def test_double_nan(self) -> None:
        assert math.isnan(one_key(Type.DOUBLE).parse({"name": "NaN"})["name"])

    @pytest.mark.parametrize(
        ("text", "expected"),
        [("", []), ("  ", []), (" a , b,c ", ["a", "b", "c"]), ("a,,b", ["a", "", "b"]), ("a,", ["a", ""])],
    )
    def test_list_splitting(self, text: str, expected: list[str]) -> None:
        assert one_key(Type.LIST).parse({"name": text})["name"] == expected

    def test_integers_accept_sign_and_java_trim(self) -> None:
        config_def = one_key(Type.INT)
        assert config_def.parse({"name": "+12"})["name"] == 12
        assert config_def.parse({"name": "\t-3\n"})["name"] == -3
        # Java's trim() leaves a no-break space in place, so the value is not a number.
        assert "Not a number of type INT" in parse_error(config_def, "\u00a012")

    def test_string_is_trimmed_and_empty_default_allowed(self) -> None:
        config_def = ConfigDef().define("s", Type.STRING, "").define("t", Type.STRING)
        assert config_def.parse({"t": "  x  "}) == {"s": "", "t": "x"}

    def test_null_default_and_explicit_none(self) -> None:
        config_def = one_key(Type.INT, default=None)
        assert config_def.parse({}) == {"name": None}
        assert config_def.parse({"name": None}) == {"name": None}

    def test_missing_required(self) -> None:
        with pytest.raises(
            ConfigError, match=r'^Missing required configuration "name" which has no default value\.$'
        ):
            one_key(Type.INT).parse({})

    def test_default_is_parsed_and_validated_at_definition(self) -> None:
        assert one_key(Type.INT, default="7").config_keys()["name"].default_value == 7
        with pytest.raises(ConfigError, match="Not a number of type INT"):
            one_key(Type.INT, default="hello")
        with pytest.raises(
            ConfigError, match=r"^Invalid value -1 for configuration name: Value must be at least 0$"
        ):
            one_key(Type.INT, Range.between(0, 10), default=-1)
        with pytest.raises(ConfigError, match="String must be one of: valid, values"):
            one_key(Type.STRING, ValidString.in_("valid", "values"), default="bad")

    def test_defined_twice(self) -> None:
        with pytest.raises(ConfigError, match=r"^Configuration a is defined twice\.$"):
            ConfigDef().define("a", Type.STRING).define("a", Type.INT)

    def test_undefined_dependent_blocks_parse(self) -> None:
        config_def = ConfigDef().define("parent", Type.STRING, "x", dependents=["child"])
        with pytest.raises(ConfigError, match="referred in the dependents, but not defined: child"):
            config_def.parse({})

    def test_groups_in_first_definition_order(self) -> None:
        config_def = (
            ConfigDef()
            .define("a", Type.INT, 1, group="group2", order_in_group=1, width=Width.SHORT)
            .define("b", Type.INT, 1, group="group2", order_in_group=2)
            .define("c", Type.INT, 1, group="group1", order_in_group=2)
        )
        assert config_def.groups() == ["group2", "group1"]
        assert config_def.names() == {"a", "b", "c"}

    def test_copy_constructor_is_independent(self) -> None:
        base = ConfigDef().define("a", Type.STRING, "x", group="g")
        derived = ConfigDef(base).define("b", Type.STRING, "y", group="h")
        assert list(base.config_keys()) == ["a"]
        assert list(derived.config_keys()) == ["a", "b"]
        assert derived.groups() == ["g", "h"]

    def test_nested_aliases_like_java(self) -> None:
        config_def = ConfigDef().define(
            "n", ConfigDef.Type.INT, 1, ConfigDef.Range.at_least(1), ConfigDef.Importance.LOW
        )
        assert config_def.parse({"n": "3"}) == {"n": 3}
        assert ConfigDef.NO_DEFAULT_VALUE is NO_DEFAULT_VALUE


class TestValidators:
    @pytest.mark.parametrize(
        ("type_", "validator", "default", "good", "bad", "message"),
        [
            (Type.INT, Range.between(0, 10), 5, [0, "5", 10], [-1], "Value must be at least 0"),
            (Type.INT, Range.between(0, 10), 5, [9], [11], "Value must be no more than 10"),
            (Type.INT, Range.at_least(1), 1, [1, 100], [0], "Value must be at least 1"),
            (Type.DOUBLE, Range.between(0.5, 1.5), 1.0, [0.5, 1.5], [2], "Value must be no more than 1.5"),
            (
                Type.STRING,
                ValidString.in_("good", "values", "default"),
                "default",
                ["good", "values"],
                ["bad", "DEFAULT"],
                "String must be one of: good, values, default",
            ),
            (
                Type.STRING,
                CaseInsensitiveValidString.in_("good", "values"),
                "good",
                ["gOOd", "VALUES"],
                ["Bad"],
                "String must be one of (case insensitive): GOOD, VALUES",
            ),
            (
                Type.LIST,
                ValidList.in_("1", "2", "3"),
                "1",
                ["1,2", "3"],
                ["4", "1,5"],
                "String must be one of: 1, 2, 3",
            ),
            (Type.STRING, NonEmptyString(), "x", ["a"], [""], "String must be non-empty"),
            (
                Type.STRING,
                NonEmptyStringWithoutControlChars(),
                "name",
                ["test", "test\u1234", "     test   \n\r", "\U0001f601"],
                ["", "as\u0001cii"],
                "String may not",
            ),
            (
                Type.LIST,
                ListSize.at_most_of_size(2),
                "a",
                ["a,b"],
                ["a,b,c"],
                "exceeds maximum list size of [2].",
            ),
            (Type.STRING, RegexValidator(), "a.*", ["[ab]+"], ["(unclosed"], "Invalid regex: "),
        ],
    )
    def test_good_and_bad_values(
        self, type_: Type, validator: Any, default: Any, good: list[Any], bad: list[Any], message: str
    ) -> None:
        config_def = one_key(type_, validator, default)
        for value in good:
            config_def.parse({"name": value})
        for value in bad:
            assert message in parse_error(config_def, value)

    def test_null_values(self) -> None:
        assert parse_error(one_key(Type.INT, Range.at_least(0), 1), None) == (
            "Invalid value null for configuration name: Value must be non-null"
        )
        assert parse_error(one_key(Type.STRING, NonNullValidator(), "a"), None) == (
            "Invalid value null for configuration name: entry must be non null"
        )
        assert parse_error(one_key(Type.STRING, ValidString.in_("a"), "a"), None) == (
            "Invalid value null for configuration name: String must be one of: a"
        )
        assert one_key(Type.STRING, NonEmptyString(), "a").parse({"name": None}) == {"name": None}

    def test_control_characters_listed(self) -> None:
        message = parse_error(one_key(Type.STRING, NonEmptyStringWithoutControlChars(), "n"), "a\tb\x7fc")
        assert message == (
            "Invalid value a\tb\x7fc for configuration name: "
            "String may not contain control sequences but had the following ASCII chars: 9, 127"
        )
        assert parse_error(one_key(Type.STRING, NonEmptyStringWithoutControlChars(), "n"), "") == (
            "Invalid value  for configuration name: String may not be empty"
        )

    def test_list_size_default_message(self) -> None:
        with pytest.raises(ConfigError) as info:
            ConfigDef().define(
                "lst", Type.LIST, ["a", "b"], ListSize.at_most_of_size(1), Importance.HIGH, "lst doc"
            )
        assert (
            str(info.value) == "Invalid value [a, b] for configuration lst: exceeds maximum list size of [1]."
        )

    def test_composite_runs_all_in_order(self) -> None:
        validator = CompositeValidator.of(NonNullValidator(), ValidString.in_("a", "b"))
        config_def = one_key(Type.STRING, validator, "a")
        assert "entry must be non null" in parse_error(config_def, None)
        assert "String must be one of: a, b" in parse_error(config_def, "c")
        assert str(validator) == "non-null string, [a, b]"

    def test_lambda_validator(self) -> None:
        def even(name: str, value: Any) -> None:
            if value % 2:
                raise ConfigError(name, value, "must be even")

        validator = LambdaValidator.with_(even, lambda: "even numbers")
        assert (
            parse_error(one_key(Type.INT, validator, 2), "3")
            == "Invalid value 3 for configuration name: must be even"
        )
        assert str(validator) == "even numbers"

    def test_descriptions(self) -> None:
        assert str(Range.at_least(1)) == "[1,...]"
        assert str(Range.between(0, 10)) == "[0,...,10]"
        assert str(Range.between(0.5, 2.0)) == "[0.5,...,2.0]"
        assert str(ValidString.in_("a", "b")) == "[a, b]"
        assert str(CaseInsensitiveValidString.in_("x", "y")) == "(case insensitive) [X, Y]"
        assert str(NonEmptyString()) == "non-empty string"
        assert str(NonEmptyStringWithoutControlChars()) == "non-empty string without ISO control characters"


class IntegerRecommender(Recommender):
    def __init__(self, has_parent: bool) -> None:
        self.has_parent = has_parent

    def valid_values(self, name: str, parsed_config: Mapping[str, Any]) -> list[Any]:
        return [4, 5] if self.has_parent else [1, 2, 3]

    def visible(self, name: str, parsed_config: Mapping[str, Any]) -> bool:
        return True


def dependent_def(*extra_dependents: str) -> ConfigDef:
    return (
        ConfigDef()
        .define(
            "a",
            Type.INT,
            importance=Importance.HIGH,
            documentation="docs",
            group="group",
            order_in_group=1,
            width=Width.SHORT,
            display_name="a",
            dependents=["b", "c", *extra_dependents],
            recommender=IntegerRecommender(False),
        )
        .define("b", Type.INT, group="group", order_in_group=2, recommender=IntegerRecommender(True))
        .define("c", Type.INT, group="group", order_in_group=3, recommender=IntegerRecommender(True))
    )


MISSING_B = 'Missing required configuration "b" which has no default value.'
MISSING_C = 'Missing required configuration "c" which has no default value.'


class TestValidate:
    def test_dependents_and_recommenders(self) -> None:
        config_def = dependent_def().define(
            "d",
            Type.INT,
            group="group",
            order_in_group=4,
            dependents=["b"],
            recommender=IntegerRecommender(False),
        )
        result = config_def.validate_all({"a": "1", "d": "10"})
        assert list(result) == ["a", "b", "c", "d"]
        assert result["a"] == ConfigValue("a", 1, [1, 2, 3], [])
        # b depends on both a and d: Kafka parses it once per parent, so its error appears twice.
        assert result["b"] == ConfigValue("b", None, [4, 5], [MISSING_B, MISSING_B])
        assert result["c"] == ConfigValue("c", None, [4, 5], [MISSING_C])
        assert result["d"] == ConfigValue("d", 10, [1, 2, 3], [])
        assert config_def.validate({"a": "1", "d": "10"}) == list(result.values())

    def test_undefined_dependent(self) -> None:
        result = dependent_def("d").validate_all({"a": "1"})
        assert result["d"] == ConfigValue(
            "d", None, [], ["d is referred in the dependents, but not defined."], False
        )
        assert result["b"].error_messages == [MISSING_B]

    def test_cannot_parse(self) -> None:
        result = ConfigDef().define("a", Type.INT, importance=Importance.HIGH).validate({"a": "non_integer"})
        assert result == [
            ConfigValue(
                "a", None, [], ["Invalid value non_integer for configuration a: Not a number of type INT"]
            )
        ]

    def test_validator_also_sees_missing_value(self) -> None:
        result = ConfigDef().define("n", Type.INT, validator=Range.at_least(1)).validate({})
        assert result[0].error_messages == [
            'Missing required configuration "n" which has no default value.',
            "Invalid value null for configuration n: Value must be non-null",
        ]

    def test_all_errors_reported_not_just_first(self) -> None:
        config_def = (
            ConfigDef()
            .define("name", Type.STRING, validator=NonEmptyStringWithoutControlChars())
            .define("tasks.max", Type.INT, 1, Range.at_least(1))
            .define("flag", Type.BOOLEAN, False)
        )
        errors = {
            v.name: v.error_messages for v in config_def.validate({"name": "", "tasks.max": "0", "flag": "x"})
        }
        assert errors == {
            "name": ["Invalid value  for configuration name: String may not be empty"],
            "tasks.max": ["Invalid value 0 for configuration tasks.max: Value must be at least 1"],
            "flag": ["Invalid value x for configuration flag: Expected value to be either true or false"],
        }

    def test_recommender_visibility_and_errors(self) -> None:
        class Mode(Recommender):
            def valid_values(self, name: str, parsed_config: Mapping[str, Any]) -> list[Any]:
                if parsed_config.get("kind") == "broken":
                    raise ConfigError("cannot recommend for broken")
                return ["x", "y"]

            def visible(self, name: str, parsed_config: Mapping[str, Any]) -> bool:
                return parsed_config.get("kind") == "fancy"

        config_def = (
            ConfigDef()
            .define("kind", Type.STRING, "plain", dependents=["mode"])
            .define("mode", Type.STRING, "x", recommender=Mode())
        )
        assert config_def.validate_all({})["mode"] == ConfigValue("mode", "x", ["x", "y"], [], False)
        assert config_def.validate_all({"kind": "fancy"})["mode"].visible is True
        assert config_def.validate_all({"kind": "broken"})["mode"].error_messages == [
            "cannot recommend for broken"
        ]

    def test_internal_config_validates(self) -> None:
        result = (
            ConfigDef()
            .define_internal("internal.config", Type.STRING, "", Importance.LOW)
            .validate({"internal.config": "value"})
        )
        assert result == [ConfigValue("internal.config", "value")]


class TestEmbed:
    def test_embedded_keys_groups_and_validator_names(self) -> None:
        child = (
            ConfigDef()
            .define("z.optional", Type.STRING, "dflt", importance=Importance.LOW)
            .define("field", Type.STRING, validator=NonEmptyString(), importance=Importance.HIGH)
            .define("count", Type.INT, 3, Range.at_least(1), Importance.HIGH, group="Inner")
        )
        parent = ConfigDef().define("transforms", Type.LIST, "", group="Transforms")
        parent.embed("transforms.t1.", "Transforms: t1", 7, child)
        keys = parent.config_keys()
        assert list(keys) == [
            "transforms",
            "transforms.t1.field",
            "transforms.t1.z.optional",
            "transforms.t1.count",
        ]
        assert [keys[k].order_in_group for k in list(keys)[1:]] == [7, 8, 9]
        assert keys["transforms.t1.count"].group == "Transforms: t1: Inner"
        assert parent.groups() == ["Transforms", "Transforms: t1", "Transforms: t1: Inner"]
        errors = {
            v.name: v.error_messages
            for v in parent.validate({"transforms.t1.field": "", "transforms.t1.count": "0"})
        }
        # As in Kafka, the embedded validator reports the key without its prefix.
        assert errors["transforms.t1.field"] == [
            "Invalid value  for configuration field: String must be non-empty"
        ]
        assert errors["transforms.t1.count"] == [
            "Invalid value 0 for configuration count: Value must be at least 1"
        ]


class TestConfig:
    DEF = (
        ConfigDef()
        .define("topic", Type.STRING)
        .define("batch.size", Type.INT, 2000)
        .define("topics", Type.LIST, "")
        .define("enabled", Type.BOOLEAN, True)
        .define("secret", Type.PASSWORD, None)
        .define("ratio", Type.DOUBLE, 0.5)
        .define("limit", Type.LONG, 10)
        .define("small", Type.SHORT, 3)
        .define("cls", Type.CLASS, "a.b.C")
    )

    def test_typed_getters(self) -> None:
        config = Config(self.DEF, {"topic": " t ", "topics": "a, b", "secret": "pw", "extra.key": "1"})
        assert config.get_string("topic") == "t"
        assert config.get_int("batch.size") == 2000
        assert config.get_list("topics") == ["a", "b"]
        assert config.get_boolean("enabled") is True
        password = config.get_password("secret")
        assert password is not None and password.value() == "pw"
        assert config.get_double("ratio") == 0.5
        assert config.get_long("limit") == 10
        assert config.get_short("small") == 3
        assert config.get_class("cls") == "a.b.C"
        assert config.type_of("topics") is Type.LIST
        assert config.type_of("nope") is None
        assert AbstractConfig is Config

    def test_invalid_props_raise_config_error(self) -> None:
        with pytest.raises(ConfigError, match='Missing required configuration "topic"'):
            Config(self.DEF, {})
        with pytest.raises(
            ConfigError, match="Invalid value x for configuration batch.size: Not a number of type INT"
        ):
            Config(self.DEF, {"topic": "t", "batch.size": "x"})

    def test_unknown_key_and_wrong_getter(self) -> None:
        config = Config(self.DEF, {"topic": "t"})
        with pytest.raises(ConfigError, match=r"^Unknown configuration 'nope'$"):
            config.get_int("nope")
        with pytest.raises(ConfigError, match="is of type STRING, not INT"):
            config.get_int("topic")

    def test_originals_and_prefixes(self) -> None:
        config = Config(
            self.DEF,
            {"topic": "t", "producer.override.acks": "all", "producer.override.linger.ms": "5", "x": "y"},
        )
        assert config.originals_with_prefix("producer.override.") == {"acks": "all", "linger.ms": "5"}
        assert config.originals_with_prefix("producer.override.", strip=False) == {
            "producer.override.acks": "all",
            "producer.override.linger.ms": "5",
        }
        assert config.originals({"x": "z"})["x"] == "z"
        assert config.originals()["x"] == "y"
        assert config.originals_strings()["topic"] == "t"

    def test_values_with_prefix_override(self) -> None:
        config = Config(self.DEF, {"topic": "t", "sub.batch.size": "5", "sub.unknown": "1"})
        values = config.values_with_prefix_override("sub.")
        assert values["batch.size"] == 5
        assert "unknown" not in values
        assert values["topic"] == "t"

    def test_unused_tracks_reads(self) -> None:
        config = Config(self.DEF, {"topic": "t", "batch.size": "1", "extra": "e"})
        config.get_string("topic")
        assert config.unused() == {"batch.size", "extra"}
        config.ignore("extra")
        assert config.unused() == {"batch.size"}

    def test_repr_hides_passwords(self) -> None:
        config = Config(self.DEF, {"topic": "t", "secret": "hunter2"})
        assert "hunter2" not in repr(config)
        assert "[hidden]" in repr(config)

    def test_non_string_keys_rejected(self) -> None:
        with pytest.raises(ConfigError, match="Key must be a string."):
            Config(self.DEF, {1: "x"})  # type: ignore[dict-item]


class TestJavaText:
    @pytest.mark.parametrize(
        ("value", "text"),
        [
            (1.0, "1.0"),
            (3.125, "3.125"),
            (0.1, "0.1"),
            (0.001, "0.001"),
            (1e-4, "1.0E-4"),
            (1.5e-5, "1.5E-5"),
            (9999999.0, "9999999.0"),
            (1e7, "1.0E7"),
            (123456789.0, "1.23456789E8"),
            (-2.5, "-2.5"),
            (-0.0, "-0.0"),
            (math.inf, "Infinity"),
            (-math.inf, "-Infinity"),
            (math.nan, "NaN"),
            (100.0, "100.0"),
        ],
    )
    def test_double(self, value: float, text: str) -> None:
        assert java_double_str(value) == text

    def test_values(self) -> None:
        assert java_str(None) == "null"
        assert java_str(True) == "true"
        assert java_str(["a", 1, None]) == "[a, 1, null]"
        assert java_str({"k": False}) == "{k=false}"

    @pytest.mark.parametrize(
        ("value", "type_", "text"),
        [
            (True, Type.BOOLEAN, "true"),
            (32767, Type.SHORT, "32767"),
            (2147483647, Type.INT, "2147483647"),
            (9223372036854775807, Type.LONG, "9223372036854775807"),
            (3.125, Type.DOUBLE, "3.125"),
            ("foobar", Type.STRING, "foobar"),
            (Password("foobar"), Type.PASSWORD, "[hidden]"),
            ("foobar", Type.PASSWORD, "foobar"),
            (["a", "bc", "d"], Type.LIST, "a,bc,d"),
            ("org.example.Thing", Type.CLASS, "org.example.Thing"),
            (ConfigDef, Type.CLASS, "kcfast.api.config.ConfigDef"),
            (None, Type.LIST, None),
        ],
    )
    def test_convert_to_string(self, value: Any, type_: Type, text: str | None) -> None:
        assert convert_to_string(value, type_) == text
