"""The transformation chain of a connector: ``transforms`` and ``predicates`` configs into callables.

Each stage is a Transformation, optionally guarded by a Predicate (applied iff the predicate's result XOR
``negate``). A stage that returns ``None`` drops the record and ends the chain for it.

:meth:`TransformationChain.apply_tolerant` runs the chain under the task's error handling: a stage that raises
(in its predicate or its transformation) is retried or tolerated at the ``TRANSFORMATION`` stage with the
transformation's class, as Kafka Connect's ``TransformationChain`` does.

:meth:`TransformationChain.apply_batch` does the same for a whole batch in one call to the record core
(``kcfast.core.transform_batch``): the common transformations and predicates run there, compiled, on
schemaless records; every other stage, and every record a compiled stage does not cover, runs the stage's own
Python code. A record that fails is resumed here, at the failing stage, under the task's error handling.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kcfast import core
from kcfast.errors import ConfigError
from kcfast.runtime.tolerance import ProcessingContext, RetryWithToleranceOperator, Stage


def _alias_list(value: str | None) -> list[str]:
    return [a.strip() for a in (value or "").split(",") if a.strip()]


def _sub_config(props: dict[str, str], prefix: str) -> dict[str, str]:
    return {k[len(prefix):]: v for k, v in props.items() if k.startswith(prefix)}


class TransformationStage:
    """One configured transformation with its optional predicate."""

    __slots__ = ("alias", "transformation", "predicate", "negate")

    def __init__(self, alias: str, transformation: Any, predicate: Any = None, negate: bool = False) -> None:
        self.alias = alias
        self.transformation = transformation
        self.predicate = predicate
        self.negate = negate

    def apply(self, record: Any) -> Any:
        if self.predicate is not None and not (bool(self.predicate.test(record)) ^ self.negate):
            return record
        return self.transformation.apply(record)

    def close(self) -> None:
        self.transformation.close()
        if self.predicate is not None:
            self.predicate.close()


class TransformationChain:
    """The ordered stages of a connector. Used from one task thread."""

    def __init__(self, stages: list[TransformationStage]) -> None:
        self.stages = stages
        self._plan: list[Any] | None = None

    @property
    def plan(self) -> list[Any]:
        """The stages as the record core runs them (built on first use, once the stages are configured)."""
        plan = self._plan
        if plan is None:
            plan = self._plan = core.compile_transform_plan(stage_specs(self.stages))
        return plan

    def apply(self, record: Any) -> Any:
        for stage in self.stages:
            record = stage.apply(record)
            if record is None:
                return None
        return record

    def apply_tolerant(self, record: Any, operator: RetryWithToleranceOperator,
                       original_of: Callable[[Any], Any] | None = None
                       ) -> tuple[Any, ProcessingContext | None]:
        """Apply the chain to one record under ``operator``.

        Args:
            record: the record to transform.
            operator: the task's error handling.
            original_of: maps ``record`` to what a failure report names as the original record (sink tasks:
                the consumed bytes); by default ``record`` itself. Called only when a stage fails.

        Returns:
            ``(result, context)``: the transformed record, or ``None`` when a stage dropped it or it failed
            and the failure was tolerated; ``context`` is the failure's context, ``None`` when nothing
            failed.

        Raises:
            ConnectError: a stage failed and the failure is not tolerated.
        """
        return self._resume(record, 0, record, None, operator, original_of)

    def _resume(self, first: Any, index: int, record: Any, error: Exception | None,
                operator: RetryWithToleranceOperator, original_of: Callable[[Any], Any] | None
                ) -> tuple[Any, ProcessingContext | None]:
        """Run the stages from ``index`` on ``record`` (``first`` as it entered the chain); with ``error``,
        stage ``index`` has just raised it on ``record`` and is recovered first."""
        stages = self.stages
        while index < len(stages):
            stage = stages[index]
            if error is None:
                try:
                    result = stage.apply(record)
                except Exception as exc:  # noqa: BLE001 - every failure goes through the operator
                    error = exc
            if error is not None:
                context = ProcessingContext(first if original_of is None else original_of(first))
                result = operator.recover(context, lambda s=stage, r=record: s.apply(r), error,
                                          Stage.TRANSFORMATION, type(stage.transformation))
                error = None
                if context.failed:
                    return None, context
            if result is None:
                return None, None
            record = result
            index += 1
        return record, None

    def apply_batch(self, records: list[Any], operator: RetryWithToleranceOperator,
                    original_of: Callable[[Any], Any] | None = None) -> list[Any]:
        """Apply the chain to a batch under ``operator``: :meth:`apply_tolerant` for every record, in one
        call to the record core.

        A record whose stage fails is handed to ``operator`` at that stage, with the error the stage raised,
        as :meth:`apply_tolerant` would (retry, tolerance, error log, dead letter queue), in batch order.

        Args:
            records: the records to transform.
            operator: the task's error handling.
            original_of: as for :meth:`apply_tolerant`.

        Returns:
            One result per record, in order: the transformed record, or ``None`` when a stage dropped it or
            it failed and the failure was tolerated.

        Raises:
            ConnectError: a stage failed and the failure is not tolerated (the records after it in the batch
                have been transformed but are not returned).
        """
        if not records:
            return []
        results, failures = core.transform_batch(records, self.plan)
        for position, index, current, error in failures:
            results[position], _ = self._resume(records[position], index, current, error, operator,
                                                original_of)
        return results

    def apply_all(self, records: list[Any]) -> list[Any]:
        """The records the chain keeps, in order (no error handling: the first failure is raised)."""
        if not records:
            return []
        results, failures = core.transform_batch(records, self.plan)
        if failures:
            raise failures[0][3]
        return [record for record in results if record is not None]

    def close(self) -> None:
        self._plan = None
        for stage in self.stages:
            stage.close()


# -- the compiled fast path ------------------------------------------------------------------------------
#
# stage_specs describes each stage to the record core (kcfast.core.compile_transform_plan): the compiled op
# that does what the stage's transformation and predicate do, with their parsed configs, or "python" for
# what the core does not cover. Only the built-in classes themselves are described (a subclass may change
# anything), and every op carries the Python callable it stands for: the core calls it for the records it
# does not handle itself (Structs, values of other types) and to raise the exact error of a record that
# fails.

_DAY_MS = 86_400_000
#: The finest ``SimpleDateFormat`` letters and the period in ms their text stays the same for (UTC).
_LETTER_PERIODS = (("S", 1), ("s", 1000), ("m", 60_000), ("HkKha", 3_600_000))


def _format_period(pattern: str) -> int:
    """The period (ms) within which every instant formats the same with ``pattern``, aligned on the epoch.

    In UTC a day is always 86,400,000 ms, so a pattern without time-of-day letters changes once a day.
    """
    letters: set[str] = set()
    quoted = False
    for char in pattern:
        if char == "'":
            quoted = not quoted
        elif not quoted and char.isascii() and char.isalpha():
            letters.add(char)
    for chars, period in _LETTER_PERIODS:
        if letters.intersection(chars):
            return period
    return _DAY_MS


def _predicate_spec(predicate: Any) -> tuple[Any, ...] | None:
    from kcfast.transforms import predicates as p

    if predicate is None:
        return None
    kind = type(predicate)
    if kind is p.TopicNameMatches and predicate._pattern is not None:
        return ("topic_name_matches", predicate.test, predicate._pattern)
    if kind is p.RecordIsTombstone:
        return ("record_is_tombstone", predicate.test)
    if kind is p.HasHeaderKey and predicate._name is not None:
        return ("has_header_key", predicate.test, predicate._name)
    return ("python", predicate.test)


def _transformation_spec(t: Any) -> tuple[Any, ...]:
    # Imported here: the chain module is imported by the worker before any transformation is needed.
    from kcfast import transforms as x
    from kcfast.data import ConnectHeaders, Header
    from kcfast.transforms import _datefmt, regex_router

    kind = type(t)
    apply = t.apply
    key_side = kind in (x.InsertFieldKey, x.ReplaceFieldKey, x.ExtractFieldKey, x.HoistFieldKey)
    if kind is x.Filter:
        return ("filter", apply)
    if kind is x.RegexRouter and t._regex is not None:
        return ("regex_router", apply, t._regex, t._replacement, regex_router.log)
    if kind is x.TimestampRouter:
        try:
            date_format = _datefmt.SimpleDateFormat(t._timestamp_pattern)
        except ValueError:  # the transformation raises it for every record: let it
            return ("python", apply)
        return ("timestamp_router", apply, t._topic_format, date_format.format,
                _format_period(t._timestamp_pattern))
    if kind in (x.InsertFieldKey, x.InsertFieldValue):
        static = t._static.name if t._static is not None and t._static_value is not None else None
        names = [None if spec is None else spec.name
                 for spec in (t._topic, t._partition, t._offset, t._timestamp)]
        return ("insert_field", apply, key_side, *names, static, t._static_value)
    if kind in (x.ReplaceFieldKey, x.ReplaceFieldValue):
        return ("replace_field", apply, key_side, frozenset(t._exclude), frozenset(t._include),
                dict(t._renames))
    if kind in (x.ExtractFieldKey, x.ExtractFieldValue) and t._path.steps:
        return ("extract_field", apply, key_side, tuple(t._path.steps))
    if kind in (x.HoistFieldKey, x.HoistFieldValue):
        return ("hoist_field", apply, key_side, t._field)
    if kind is x.ValueToKey and t._fields:
        return ("value_to_key", apply, tuple(t._fields))
    if kind is x.InsertHeader:
        try:  # the checks ConnectHeaders.add makes on every record, made once
            ConnectHeaders().add(t._header, t._literal)
        except Exception:  # noqa: BLE001 - the transformation raises it for every record: let it
            return ("python", apply)
        return ("insert_header", apply, Header(t._header, t._literal))
    if kind is x.DropHeaders:
        return ("drop_headers", apply, frozenset(t._headers), ConnectHeaders)
    return ("python", apply)


def stage_specs(stages: list[Any]) -> list[tuple[Any, ...]]:
    """How the record core runs ``stages``: per stage ``(predicate spec or None, negate, op spec)``.

    See :func:`kcfast.core.compile_transform_plan` for the specs.
    """
    specs: list[tuple[Any, ...]] = []
    for stage in stages:
        if type(stage) is not TransformationStage:
            specs.append((None, False, ("python", stage.apply)))
            continue
        specs.append((_predicate_spec(stage.predicate), bool(stage.negate),
                      _transformation_spec(stage.transformation)))
    return specs


def build_chain(props: dict[str, str], plugins: Any) -> TransformationChain | None:
    """Build the chain a connector config describes, or ``None`` when it has no transforms."""
    aliases = _alias_list(props.get("transforms"))
    if not aliases:
        return None
    predicates: dict[str, Any] = {}
    for alias in _alias_list(props.get("predicates")):
        type_name = props.get(f"predicates.{alias}.type")
        if not type_name:
            raise ConfigError(
                f"Missing required configuration \"predicates.{alias}.type\" which has no default value.")
        pred = plugins.predicate_class(type_name)()
        pred.configure(_sub_config(props, f"predicates.{alias}."))
        predicates[alias] = pred
    stages = []
    for alias in aliases:
        prefix = f"transforms.{alias}."
        type_name = props.get(prefix + "type")
        if not type_name:
            raise ConfigError(f"Missing required configuration \"{prefix}type\" which has no default value.")
        transformation = plugins.transformation_class(type_name)()
        transformation.configure(_sub_config(props, prefix))
        pred_alias = props.get(prefix + "predicate")
        negate = props.get(prefix + "negate", "false").strip().lower() == "true"
        predicate = None
        if pred_alias:
            if pred_alias not in predicates:
                raise ConfigError(f"Invalid value {pred_alias} for configuration {prefix}predicate: "
                                  "Not a known predicate")
            predicate = predicates[pred_alias]
        stages.append(TransformationStage(alias, transformation, predicate, negate))
    return TransformationChain(stages)
