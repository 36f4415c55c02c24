"""The transformation chain of a connector: ``transforms`` and ``predicates`` configs into callables.

Each stage is a Transformation, optionally guarded by a Predicate (applied iff the predicate's result XOR
``negate``). A stage that returns ``None`` drops the record and ends the chain for it.
"""

from __future__ import annotations

from typing import Any

from kcfast.errors import ConfigError


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
            raise ConfigError(f"Missing required configuration \"predicates.{alias}.type\" which has no default value.")
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
