"""PostgreSQL column types -> Connect schemas and converters, as the PostgreSQL CDC connector maps them.

Each column gets a :class:`ColumnMapping`: its Connect schema (Debezium's semantic types:
``io.debezium.time.MicroTimestamp``, ``io.debezium.data.Json``, ``org.apache.kafka.connect.data.Decimal`` with
``connect.decimal.precision``, ...) and a converter from the column's text form (what ``pgoutput`` sends and
what a snapshot query reads with text results) to the Connect value. Converters are built once per column
and table, so converting a row is one call per column.

Each mapping also names its converter's *kind* (:data:`KINDS`): the record core converts the common kinds
(integers, text, timestamps, decimals, ...) itself, straight from the bytes of a pgoutput message, and calls
the Python converter for kind ``"python"`` and for any text whose form it does not handle; the Python
converters here are the reference its results are tested against.

The sessions that read data set ``TimeZone=UTC``, ``DateStyle=ISO`` and ``IntervalStyle=iso_8601`` so that
the text forms parsed here are fixed.
"""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kcfast.data import Date, Decimal, Schema, SchemaBuilder, Struct, Time, Timestamp
from kcfast.data.logical import unscaled_to_bytes
from kcfast.errors import DataError

__all__ = [
    "KINDS",
    "ColumnMapping",
    "MappingOptions",
    "TypeInfo",
    "map_column",
]

Converter = Callable[[str], Any]

#: The converter kinds the record core knows (see ``kcfast.core.PgTable``); ``"python"`` is any other.
KINDS = ("python", "text", "bool", "int", "float", "decimal", "date", "time_us", "time_ms", "time_ns",
         "timestamp_us", "timestamp_ms", "timestamp_ns", "zoned_timestamp", "bytea")

_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()
_DAYS_PER_MONTH_AVG = 365.25 / 12.0
#: What an infinite TIMESTAMP becomes (the values PostgreSQL's JDBC driver uses).
POSITIVE_INFINITY_TS = 9223372036825200000
NEGATIVE_INFINITY_TS = -9223372036832400000

# Built-in type OIDs.
BOOL, BYTEA, CHAR, NAME, INT8, INT2, INT4, TEXT, OID = 16, 17, 18, 19, 20, 21, 23, 25, 26
JSON, XML, FLOAT4, FLOAT8, MONEY = 114, 142, 700, 701, 790
MACADDR8, CIDR, MACADDR, INET = 774, 650, 829, 869
BPCHAR, VARCHAR, DATE, TIME, TIMESTAMP, TIMESTAMPTZ, INTERVAL, TIMETZ = 1042, 1043, 1082, 1083, 1114, 1184, 1186, 1266
BIT, VARBIT, NUMERIC, UUID, JSONB = 1560, 1562, 1700, 2950, 3802
RANGES = {3904, 3906, 3908, 3910, 3912, 3926}
_STRING_TYPES = {CHAR, NAME, TEXT, BPCHAR, VARCHAR, MACADDR, MACADDR8, CIDR, INET, *RANGES}
_STRING_TYPE_NAMES = {"citext", "ltree"}


@dataclass(frozen=True)
class TypeInfo:
    """A row of ``pg_type``, with what the mapping needs: kind, base type of a domain, element of an array."""

    oid: int
    name: str
    kind: str = "b"  # pg_type.typtype: b base, d domain, e enum, r range, c composite, p pseudo
    base_oid: int = 0
    base_typmod: int = -1
    element_oid: int = 0
    category: str = ""
    enum_labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class MappingOptions:
    """The connector settings that change how values are represented."""

    decimal_mode: str = "precise"  # precise | double | string
    time_precision_mode: str = "adaptive"  # adaptive | adaptive_time_microseconds | connect | microseconds | ...
    interval_mode: str = "numeric"  # numeric | string
    binary_mode: str = "bytes"  # bytes | base64 | base64-url-safe | hex
    money_fraction_digits: int = 2
    include_unknown_datatypes: bool = False


@dataclass(frozen=True)
class ColumnMapping:
    """The Connect schema of a column (optional when the column is nullable) and its text -> value converter.

    ``kind`` (one of :data:`KINDS`) and ``arg`` (the fraction digits of ``"zoned_timestamp"``) tell the record
    core which compiled converter gives the same values as ``convert``.
    """

    schema: Schema
    convert: Converter
    builder: Any = field(default=None, repr=False)
    kind: str = "python"
    arg: int = 0


class _Mapped(NamedTuple):
    builder: SchemaBuilder
    convert: Converter
    kind: str = "python"
    arg: int = 0


# ---------------------------------------------------------------------------------------------------------------
# Schemas of Debezium's semantic types.

def _named(builder: SchemaBuilder, name: str) -> SchemaBuilder:
    return builder.name(name).version(1)


def _variable_scale_decimal() -> SchemaBuilder:
    return (SchemaBuilder.struct().name("io.debezium.data.VariableScaleDecimal").version(1)
            .doc("Variable scaled decimal").field("scale", Schema.INT32_SCHEMA).field("value", Schema.BYTES_SCHEMA))


# ---------------------------------------------------------------------------------------------------------------
# Text parsers. Each takes the server's text form and returns the Connect value.

def _parse_bool(text: str) -> bool:
    return text == "t"


def _micros_of_time(text: str) -> int:
    """Microseconds past midnight of ``HH:MM:SS[.ffffff]`` (``24:00:00`` allowed)."""
    seconds = int(text[0:2]) * 3600 + int(text[3:5]) * 60 + int(text[6:8])
    micros = 0
    if len(text) > 9 and text[8] == ".":
        frac = text[9:15]
        micros = int(frac) * 10 ** (6 - len(frac))
    return seconds * 1_000_000 + micros


def _split_zone(text: str) -> tuple[str, int]:
    """``(local part, offset seconds)`` of a value with a trailing ``+HH[:MM[:SS]]`` / ``-HH...`` zone."""
    index = max(text.rfind("+"), text.rfind("-"))
    if index < 8:  # no zone after the time part
        return text, 0
    zone = text[index + 1:].split(":")
    seconds = int(zone[0]) * 3600 + (int(zone[1]) * 60 if len(zone) > 1 else 0) + (int(zone[2]) if len(zone) > 2 else 0)
    return text[:index], -seconds if text[index] == "-" else seconds


def _epoch_days(text: str) -> int:
    return _dt.date(int(text[0:4]), int(text[5:7]), int(text[8:10])).toordinal() - _EPOCH_ORDINAL


def _is_plain_date(text: str) -> bool:
    return len(text) >= 10 and text[4] == "-" and text[7] == "-" and not text.endswith(" BC")


def _timestamp_micros(text: str) -> int:
    """Microseconds since the epoch of ``YYYY-MM-DD HH:MM:SS[.ffffff]`` read as UTC."""
    if not _is_plain_date(text):
        if text == "infinity":
            return POSITIVE_INFINITY_TS
        if text == "-infinity":
            return NEGATIVE_INFINITY_TS
        raise DataError(f"unsupported timestamp value {text!r}")
    return _epoch_days(text) * 86_400_000_000 + _micros_of_time(text[11:])


def _date_days(text: str) -> int | None:
    if _is_plain_date(text):
        return _epoch_days(text)
    if text in ("infinity", "-infinity"):
        return None
    raise DataError(f"unsupported date value {text!r}")


def _fraction(micros: int, width: int) -> str:
    """The ``.ffffff`` part of a time for ``width`` digits (0: as few digits as needed, none when zero)."""
    if width <= 0:
        if micros == 0:
            return ""
        return ("." + f"{micros:06d}").rstrip("0")
    return "." + f"{micros:06d}"[:width].ljust(width, "0")


def _zoned_timestamp(width: int) -> Converter:
    def convert(text: str) -> str:
        if text in ("infinity", "-infinity"):
            return text
        local, offset = _split_zone(text)
        micros = _timestamp_micros(local) - offset * 1_000_000
        stamp = _dt.datetime(1970, 1, 1) + _dt.timedelta(microseconds=micros)
        return stamp.strftime("%Y-%m-%dT%H:%M:%S") + _fraction(stamp.microsecond, width) + "Z"

    return convert


def _zoned_time(text: str) -> str:
    local, offset = _split_zone(text)
    micros = (_micros_of_time(local) - offset * 1_000_000) % 86_400_000_000
    seconds, frac = divmod(micros, 1_000_000)
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}{_fraction(frac, 0)}Z"


_INTERVAL_RE = re.compile(
    r"^P(?:(-?\d+)Y)?(?:(-?\d+)M)?(?:(-?\d+)D)?(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?[\d.]+)S)?)?$")


def _interval_parts(text: str) -> tuple[int, int, int, int, int, decimal.Decimal]:
    match = _INTERVAL_RE.match(text)
    if match is None:
        raise DataError(f"unsupported interval value {text!r} (IntervalStyle must be iso_8601)")
    y, mo, d, h, mi, s = match.groups()
    return (int(y or 0), int(mo or 0), int(d or 0), int(h or 0), int(mi or 0), decimal.Decimal(s or 0))


def _interval_micros(text: str) -> int:
    y, mo, d, h, mi, s = _interval_parts(text)
    days = (y * 12 + mo) * _DAYS_PER_MONTH_AVG + d
    seconds = ((days * 24 + h) * 60 + mi) * 60 + float(s)
    return int(seconds * 1e6)


def _interval_string(text: str) -> str:
    y, mo, d, h, mi, s = _interval_parts(text)
    secs = format(s.normalize(), "f") if s else "0"
    return f"P{y}Y{mo}M{d}DT{h}H{mi}M{secs}S"


def _bytea(text: str) -> bytes:
    if text.startswith("\\x"):
        return bytes.fromhex(text[2:])
    raise DataError("bytea values must use bytea_output=hex")


def _binary_converter(mode: str) -> _Mapped:
    if mode == "base64":
        return _Mapped(SchemaBuilder.string(), lambda t: base64.b64encode(_bytea(t)).decode("ascii"))
    if mode == "base64-url-safe":
        return _Mapped(SchemaBuilder.string(), lambda t: base64.urlsafe_b64encode(_bytea(t)).decode("ascii"))
    if mode == "hex":
        return _Mapped(SchemaBuilder.string(), lambda t: _bytea(t).hex())
    return _Mapped(SchemaBuilder.bytes(), _bytea, "bytea")


def _numeric_precise(text: str) -> decimal.Decimal | None:
    if text == "NaN":
        return None
    return decimal.Decimal(text)


def _variable_scale(schema: Schema) -> Converter:
    make = Struct._from_values

    def convert(text: str) -> Any:
        if text == "NaN":
            return None
        dot = text.find(".")
        scale = len(text) - dot - 1 if dot >= 0 else 0
        unscaled = int(text.replace(".", "")) if dot >= 0 else int(text)
        return make(schema, [scale, unscaled_to_bytes(unscaled)])

    return convert


def _money_text(text: str) -> str:
    negative = text.startswith(("-", "("))
    digits = "".join(c for c in text if c.isdigit() or c == ".")
    return ("-" if negative else "") + digits


def _bits(length: int) -> Converter:
    def convert(text: str) -> bytes:
        size = max((len(text) + 7) // 8, 1)
        return int(text, 2).to_bytes(size, "little") if text else b""

    return convert


def parse_array(text: str) -> list[str | None]:
    """The elements of a one-dimensional array literal (``{a,"b c",NULL}``), as text (None for NULL).

    Raises:
        DataError: not an array literal, or a multi-dimensional one.
    """
    if not text.startswith("{") or not text.endswith("}"):
        raise DataError(f"not an array literal: {text[:40]!r}")
    body = text[1:-1]
    if not body:
        return []
    out: list[str | None] = []
    i, n = 0, len(body)
    while i <= n:
        if i < n and body[i] == "{":
            raise DataError("multi-dimensional arrays are not supported")
        if i < n and body[i] == '"':
            i += 1
            chars = []
            while body[i] != '"':
                if body[i] == "\\":
                    i += 1
                chars.append(body[i])
                i += 1
            out.append("".join(chars))
            i += 2  # closing quote and the comma
        else:
            end = body.find(",", i)
            end = n if end < 0 else end
            item = body[i:end]
            out.append(None if item == "NULL" else item)
            i = end + 1
    return out


# ---------------------------------------------------------------------------------------------------------------
# The mapping itself.

def _precision(typmod: int) -> int:
    return typmod if 0 <= typmod <= 6 else 6


def _micros_to_millis(text: str) -> int:
    return _micros_of_time(text) // 1000


def _micros_to_nanos(text: str) -> int:
    return _micros_of_time(text) * 1000


def _timestamp_millis(text: str) -> int:
    return _timestamp_micros(text) // 1000


def _timestamp_nanos(text: str) -> int:
    return _timestamp_micros(text) * 1000


def _temporal(oid: int, typmod: int, mode: str) -> _Mapped | None:
    precision = _precision(typmod)
    if oid == DATE:
        if mode == "connect":
            return _Mapped(Date.builder(), lambda t: None if (d := _date_days(t)) is None else _dt.date.fromordinal(
                d + _EPOCH_ORDINAL))
        if mode == "isostring":
            return _Mapped(_named(SchemaBuilder.string(), "io.debezium.time.IsoDate"), lambda t: t + "Z")
        return _Mapped(_named(SchemaBuilder.int32(), "io.debezium.time.Date"), _date_days, "date")
    if oid == TIME:
        if mode == "connect":
            return _Mapped(Time.builder(), lambda t: (_dt.datetime(1970, 1, 1) + _dt.timedelta(
                microseconds=_micros_of_time(t))).time())
        if mode == "isostring":
            return _Mapped(_named(SchemaBuilder.string(), "io.debezium.time.IsoTime"), lambda t: t + "Z")
        if mode == "nanoseconds":
            return _Mapped(_named(SchemaBuilder.int64(), "io.debezium.time.NanoTime"), _micros_to_nanos, "time_ns")
        if mode == "adaptive" and precision <= 3:
            return _Mapped(_named(SchemaBuilder.int32(), "io.debezium.time.Time"), _micros_to_millis, "time_ms")
        return _Mapped(_named(SchemaBuilder.int64(), "io.debezium.time.MicroTime"), _micros_of_time, "time_us")
    if oid == TIMESTAMP:
        if mode == "connect":
            return _Mapped(Timestamp.builder(), lambda t: _dt.datetime(1970, 1, 1) + _dt.timedelta(
                microseconds=_timestamp_micros(t)))
        if mode == "isostring":
            return _Mapped(_named(SchemaBuilder.string(), "io.debezium.time.IsoTimestamp"),
                           lambda t: t.replace(" ", "T") + "Z")
        if mode == "nanoseconds":
            return _Mapped(_named(SchemaBuilder.int64(), "io.debezium.time.NanoTimestamp"), _timestamp_nanos,
                           "timestamp_ns")
        if mode in ("adaptive", "adaptive_time_microseconds") and precision <= 3:
            return _Mapped(_named(SchemaBuilder.int64(), "io.debezium.time.Timestamp"), _timestamp_millis,
                           "timestamp_ms")
        return _Mapped(_named(SchemaBuilder.int64(), "io.debezium.time.MicroTimestamp"), _timestamp_micros,
                       "timestamp_us")
    if oid == TIMESTAMPTZ:
        width = typmod if 0 <= typmod <= 6 else 6
        return _Mapped(_named(SchemaBuilder.string(), "io.debezium.time.ZonedTimestamp"), _zoned_timestamp(width),
                       "zoned_timestamp", width)
    if oid == TIMETZ:
        return _Mapped(_named(SchemaBuilder.string(), "io.debezium.time.ZonedTime"), _zoned_time)
    return None


def _base_mapping(info: TypeInfo, typmod: int, options: MappingOptions,
                  lookup: Callable[[int], TypeInfo | None]) -> _Mapped | None:
    oid = info.oid
    if info.kind == "d" and info.base_oid:
        base = lookup(info.base_oid)
        if base is None:
            return None
        return _base_mapping(base, typmod if typmod >= 0 else info.base_typmod, options, lookup)
    if info.kind == "e":
        return _Mapped(SchemaBuilder.string().name("io.debezium.data.Enum").version(1)
                       .parameter("allowed", ",".join(info.enum_labels)), str, "text")
    if oid == BOOL:
        return _Mapped(SchemaBuilder.bool(), _parse_bool, "bool")
    if oid == INT2:
        return _Mapped(SchemaBuilder.int16(), int, "int")
    if oid == INT4:
        return _Mapped(SchemaBuilder.int32(), int, "int")
    if oid in (INT8, OID):
        return _Mapped(SchemaBuilder.int64(), int, "int")
    if oid == FLOAT4:
        return _Mapped(SchemaBuilder.float32(), float, "float")
    if oid == FLOAT8:
        return _Mapped(SchemaBuilder.float64(), float, "float")
    if oid in _STRING_TYPES or info.name in _STRING_TYPE_NAMES:
        return _Mapped(SchemaBuilder.string(), str, "text")
    if oid in (JSON, JSONB):
        return _Mapped(_named(SchemaBuilder.string(), "io.debezium.data.Json"), str, "text")
    if oid == UUID:
        return _Mapped(_named(SchemaBuilder.string(), "io.debezium.data.Uuid"), str, "text")
    if oid == XML:
        return _Mapped(_named(SchemaBuilder.string(), "io.debezium.data.Xml"), str, "text")
    if oid == BYTEA:
        return _binary_converter(options.binary_mode)
    if oid == NUMERIC:
        mode = options.decimal_mode
        if mode == "double":
            return _Mapped(SchemaBuilder.float64(), float, "float")
        if mode == "string":
            return _Mapped(SchemaBuilder.string(), str, "text")
        if typmod < 0:
            builder = _variable_scale_decimal()
            return _Mapped(builder, _variable_scale(builder.build()))
        precision, scale = (typmod - 4) >> 16, (typmod - 4) & 0xFFFF
        return _Mapped(Decimal.builder(scale).parameter("connect.decimal.precision", str(precision)),
                       _numeric_precise, "decimal")
    if oid == MONEY:
        mode, digits = options.decimal_mode, options.money_fraction_digits
        if mode == "double":
            return _Mapped(SchemaBuilder.float64(), lambda t: float(_money_text(t)))
        if mode == "string":
            return _Mapped(SchemaBuilder.string(), _money_text)
        quantum = decimal.Decimal(1).scaleb(-digits)
        return _Mapped(Decimal.builder(digits), lambda t: decimal.Decimal(_money_text(t)).quantize(quantum))
    if oid in (BIT, VARBIT):
        length = typmod if typmod > 0 else (1 if oid == BIT else 2147483647)
        if oid == BIT and length == 1:
            return _Mapped(SchemaBuilder.bool(), lambda t: t == "1")
        return _Mapped(SchemaBuilder.bytes().name("io.debezium.data.Bits").version(1).parameter("length", str(length)),
                       _bits(length))
    if oid == INTERVAL:
        if options.interval_mode == "string":
            return _Mapped(_named(SchemaBuilder.string(), "io.debezium.time.Interval"), _interval_string)
        return _Mapped(_named(SchemaBuilder.int64(), "io.debezium.time.MicroDuration"), _interval_micros)
    temporal = _temporal(oid, typmod, options.time_precision_mode)
    if temporal is not None:
        return temporal
    if info.category == "A" and info.element_oid:
        element = lookup(info.element_oid)
        inner = None if element is None else _base_mapping(element, typmod, options, lookup)
        if inner is None:
            return None
        element_convert = inner.convert
        element_schema = inner.builder.optional().build()

        def convert_array(text: str) -> list[Any]:
            return [None if item is None else element_convert(item) for item in parse_array(text)]

        return _Mapped(SchemaBuilder.array(element_schema), convert_array)
    if options.include_unknown_datatypes:
        return _Mapped(SchemaBuilder.bytes(), lambda t: t.encode())
    return None


def map_column(info: TypeInfo, typmod: int, optional: bool, options: MappingOptions,
               lookup: Callable[[int], TypeInfo | None]) -> ColumnMapping | None:
    """The mapping of a column of type ``info``, or None for a type that is not captured.

    ``lookup`` resolves other type OIDs (domain bases, array elements).
    """
    mapped = _base_mapping(info, typmod, options, lookup)
    if mapped is None:
        return None
    builder = mapped.builder
    if optional:
        builder.optional()
    return ColumnMapping(builder.build(), mapped.convert, builder, mapped.kind, mapped.arg)


BUILTIN_TYPES: dict[int, TypeInfo] = {
    oid: TypeInfo(oid, name) for oid, name in {
        BOOL: "bool", BYTEA: "bytea", CHAR: "char", NAME: "name", INT8: "int8", INT2: "int2", INT4: "int4",
        TEXT: "text", OID: "oid", JSON: "json", XML: "xml", FLOAT4: "float4", FLOAT8: "float8", MONEY: "money",
        MACADDR8: "macaddr8", CIDR: "cidr", MACADDR: "macaddr", INET: "inet", BPCHAR: "bpchar",
        VARCHAR: "varchar", DATE: "date", TIME: "time", TIMESTAMP: "timestamp", TIMESTAMPTZ: "timestamptz",
        INTERVAL: "interval", TIMETZ: "timetz", BIT: "bit", VARBIT: "varbit", NUMERIC: "numeric", UUID: "uuid",
        JSONB: "jsonb",
    }.items()
}
