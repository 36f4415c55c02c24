"""``SchemaProjector`` (Java ``org.apache.kafka.connect.data.SchemaProjector``): re-shape a value written with one
schema to a compatible target schema (numeric promotion, fields dropped or filled from defaults)."""

from __future__ import annotations

from typing import Any

from kcfast.data._java import to_float32
from kcfast.data.schema import Schema, Type
from kcfast.data.struct import Struct
from kcfast.errors import DataError, SchemaProjectorError

_NUMERIC = (Type.INT8, Type.INT16, Type.INT32, Type.INT64, Type.FLOAT32, Type.FLOAT64)


def _is_promotable(source: Type, target: Type) -> bool:
    if source is target:
        return source in _NUMERIC
    return source in _NUMERIC and target in _NUMERIC and _NUMERIC.index(source) < _NUMERIC.index(target)


def _check_maybe_compatible(source: Schema, target: Schema) -> None:
    if source.type is not target.type and not _is_promotable(source.type, target.type):
        raise SchemaProjectorError(
            f"Schema type mismatch. source type: {source.type} and target type: {target.type}"
        )
    if source.name != target.name:
        raise SchemaProjectorError(f"Schema name mismatch. source name: {source.name} and target name: {target.name}")
    if source.parameters != target.parameters:
        raise SchemaProjectorError(
            f"Schema parameters not equal. source parameters: {source.parameters} and target parameters: "
            f"{target.parameters}"
        )


def project(source: Schema, record: Any, target: Schema) -> Any:
    """Project ``record`` (valid for ``source``) onto ``target``.

    Raises:
        SchemaProjectorError: The schemas are not compatible, or a required target value is missing.
    """
    _check_maybe_compatible(source, target)
    if source.optional and not target.optional:
        if target.default_value is None:
            raise SchemaProjectorError(
                "Writer schema is optional, however, target schema does not provide a default value."
            )
        return target.default_value if record is None else _project_required(source, record, target)
    return None if record is None else _project_required(source, record, target)


def _project_required(source: Schema, record: Any, target: Schema) -> Any:
    stype = target.type
    if stype is Type.STRUCT:
        return _project_struct(source, record, target)
    if stype is Type.ARRAY:
        return [project(source.value_schema, item, target.value_schema)  # type: ignore[arg-type]
                for item in record]
    if stype is Type.MAP:
        return {
            project(source.key_schema, k, target.key_schema): project(  # type: ignore[arg-type]
                source.value_schema, v, target.value_schema)  # type: ignore[arg-type]
            for k, v in record.items()
        }
    if _is_promotable(source.type, stype) and isinstance(record, (int, float)) and not isinstance(record, bool):
        if stype in (Type.FLOAT32, Type.FLOAT64):
            value = float(record)
            return to_float32(value) if stype is Type.FLOAT32 else value
        return int(record)
    return record


def _project_struct(source: Schema, record: Struct, target: Schema) -> Struct:
    result = Struct(target)
    for target_field in target.fields:
        name = target_field.name
        source_field = source.field(name)
        if source_field is not None:
            try:
                result.put(name, project(source_field.schema, record.get(name), target_field.schema))
            except SchemaProjectorError as exc:
                raise SchemaProjectorError(f"Error projecting {source_field.name}: {exc}") from exc
            except DataError as exc:
                raise SchemaProjectorError(f"Error projecting {source_field.name}: {exc}") from exc
        elif target_field.schema.optional:
            continue
        elif target_field.schema.default_value is not None:
            result.put(name, target_field.schema.default_value)
        else:
            raise SchemaProjectorError(f"Required field `{name}` is missing from source schema: {source}")
    return result


class SchemaProjector:
    """Java-style static access: ``SchemaProjector.project(source, record, target)``."""

    project = staticmethod(project)
