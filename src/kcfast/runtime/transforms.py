"""The transformation chain of a connector: ``transforms`` and ``predicates`` configs into callables.

Each stage is a Transformation, optionally guarded by a Predicate (applied iff the predicate's result XOR
``negate``). A stage that returns ``None`` drops the record and ends the chain for it.

:meth:`TransformationChain.apply_tolerant` runs the chain under the task's error handling: a stage that raises
(in its predicate or its transformation) is retried or tolerated at the ``TRANSFORMATION`` stage with the
transformation's class, as Kafka Connect's ``TransformationChain`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
        first = record
        for stage in self.stages:
            try:
                record = stage.apply(record)
            except Exception as exc:  # noqa: BLE001 - every failure goes through the operator
                context = ProcessingContext(first if original_of is None else original_of(first))
                current = record
                record = operator.recover(context, lambda s=stage, r=current: s.apply(r), exc,
                                          Stage.TRANSFORMATION, type(stage.transformation))
                if context.failed:
                    return None, context
            if record is None:
                return None, None
        return record, None

    def apply_all(self, records: list[Any]) -> list[Any]:
        out = []
        for record in records:
            record = self.apply(record)
            if record is not None:
                out.append(record)
        return out

    def close(self) -> None:
        for stage in self.stages:
            stage.close()


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
