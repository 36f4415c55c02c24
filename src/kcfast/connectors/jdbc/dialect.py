"""PostgreSQL as a sink: column types for Connect schemas, and Connect values as psycopg2 parameters."""

from __future__ import annotations

import datetime as _dt
import decimal
from collections.abc import Callable
from typing import Any

from kcfast.data import Schema, Type

__all__ = ["column_type", "parameter_converter", "parse_jdbc_url", "quote"]

_EPOCH = _dt.datetime(1970, 1, 1)
_EPOCH_DATE = _dt.date(1970, 1, 1)


def quote(name: str) -> str:
    """``name`` as a quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def parse_jdbc_url(url: str) -> dict[str, Any]:
    """psycopg2 keywords of a ``jdbc:postgresql://host[:port]/db[?k=v&...]`` URL.

    Raises:
        ValueError: not a PostgreSQL JDBC URL.
    """
    prefix = "jdbc:postgresql://"
    if not url.startswith(prefix):
        raise ValueError("must start with jdbc:postgresql://")
    rest = url[len(prefix):]
    rest, _, query = rest.partition("?")
    hostport, _, dbname = rest.partition("/")
    host, _, port = hostport.rpartition(":") if ":" in hostport else (hostport, "", "")
    out: dict[str, Any] = {"host": host or "localhost", "port": int(port) if port else 5432}
    if dbname:
        out["dbname"] = dbname
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        if key == "user":
            out["user"] = value
        elif key == "password":
            out["password"] = value
        elif key == "sslmode":
            out["sslmode"] = value
        elif key == "connectTimeout":
            out["connect_timeout"] = int(value)
    return out


_NAMED_TYPES = {
    "org.apache.kafka.connect.data.Date": "date",
    "io.debezium.time.Date": "date",
    "org.apache.kafka.connect.data.Time": "time(3)",
    "io.debezium.time.Time": "time(3)",
    "io.debezium.time.MicroTime": "time(6)",
    "io.debezium.time.NanoTime": "time(6)",
    "org.apache.kafka.connect.data.Timestamp": "timestamp(3)",
    "io.debezium.time.Timestamp": "timestamp(3)",
    "io.debezium.time.MicroTimestamp": "timestamp(6)",
    "io.debezium.time.NanoTimestamp": "timestamp(6)",
    "io.debezium.time.ZonedTimestamp": "timestamptz",
    "io.debezium.time.ZonedTime": "timetz",
    "io.debezium.time.MicroDuration": "interval",
    "io.debezium.time.Interval": "interval",
    "io.debezium.data.Json": "json",
    "io.debezium.data.Uuid": "uuid",
    "io.debezium.data.Xml": "xml",
    "io.debezium.data.VariableScaleDecimal": "numeric",
    "io.debezium.data.Bits": "bit varying",
    "io.debezium.time.IsoDate": "date",
    "io.debezium.time.IsoTime": "time",
    "io.debezium.time.IsoTimestamp": "timestamp",
}

_PLAIN_TYPES = {
    Type.INT8: "smallint", Type.INT16: "smallint", Type.INT32: "integer", Type.INT64: "bigint",
    Type.FLOAT32: "real", Type.FLOAT64: "double precision", Type.BOOLEAN: "boolean", Type.STRING: "text",
    Type.BYTES: "bytea",
}


def column_type(schema: Schema) -> str:
    """The PostgreSQL column type for values of ``schema``."""
    name = schema.name
    if name == "org.apache.kafka.connect.data.Decimal":
        params = schema.parameters or {}
        scale = params.get("scale", "0")
        precision = params.get("connect.decimal.precision")
        return f"numeric({precision},{scale})" if precision else "numeric"
    if name in _NAMED_TYPES:
        return _NAMED_TYPES[name]
    if schema.type is Type.ARRAY and schema.value_schema is not None:
        return column_type(schema.value_schema) + "[]"
    if schema.type in (Type.MAP, Type.STRUCT):
        return "jsonb"
    return _PLAIN_TYPES.get(schema.type, "text")


def _micros(value: int) -> _dt.datetime:
    return _EPOCH + _dt.timedelta(microseconds=value)


def _time_of(micros: int) -> _dt.time:
    return (_EPOCH + _dt.timedelta(microseconds=micros)).time()


def _variable_decimal(value: Any) -> decimal.Decimal:
    scale = value.get("scale")
    unscaled = int.from_bytes(value.get("value"), "big", signed=True)
    return decimal.Decimal(unscaled).scaleb(-scale)


def _bits(value: bytes) -> str:
    return format(int.from_bytes(value, "little"), "b")


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "io.debezium.time.Date": lambda v: _EPOCH_DATE + _dt.timedelta(days=v),
    "io.debezium.time.Time": lambda v: _time_of(v * 1000),
    "io.debezium.time.MicroTime": _time_of,
    "io.debezium.time.NanoTime": lambda v: _time_of(v // 1000),
    "io.debezium.time.Timestamp": lambda v: _micros(v * 1000),
    "io.debezium.time.MicroTimestamp": _micros,
    "io.debezium.time.NanoTimestamp": lambda v: _micros(v // 1000),
    "io.debezium.time.MicroDuration": lambda v: _dt.timedelta(microseconds=v),
    "io.debezium.data.VariableScaleDecimal": _variable_decimal,
    "io.debezium.data.Bits": _bits,
}


def parameter_converter(schema: Schema) -> Callable[[Any], Any] | None:
    """A function turning a non-null Connect value of ``schema`` into a psycopg2 parameter (None: as it is)."""
    conv = _CONVERTERS.get(schema.name or "")
    if conv is not None:
        return conv
    if schema.type in (Type.MAP, Type.STRUCT):
        import json

        from kcfast.data import Values

        return lambda v: json.dumps(Values.java_str(v)) if not isinstance(v, dict) else json.dumps(v)
    return None
