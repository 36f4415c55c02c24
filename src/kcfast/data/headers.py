"""Record headers: ``Header`` and ``ConnectHeaders`` (Java ``org.apache.kafka.connect.header``).

Headers are an ordered list of (key, schema, value); a key may appear several times. Not thread-safe: a record's
headers belong to the thread handling the record.
"""

from __future__ import annotations

import datetime as _dt
import decimal as _decimal
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from kcfast.data.logical import Date, Decimal, Time, Timestamp
from kcfast.data.schema import Schema, SchemaAndValue, SchemaBuilder, Type, as_schema
from kcfast.data.struct import DATE_NAME, DECIMAL_NAME, INT_RANGES, TIME_NAME, TIMESTAMP_NAME, Struct
from kcfast.errors import DataError

HeaderTransform = Callable[["Header"], "Header | None"]


class Header:
    """One header: a key, a schema (may be None) and a value. Immutable."""

    __slots__ = ("_key", "_sv")

    def __init__(self, key: str, schema_and_value: SchemaAndValue | None = None) -> None:
        if key is None:
            raise DataError("Null header keys are not permitted")
        self._key = key
        self._sv = schema_and_value if schema_and_value is not None else SchemaAndValue.NULL

    @property
    def key(self) -> str:
        """The header key."""
        return self._key

    @property
    def value(self) -> Any:
        """The header value."""
        return self._sv._value

    @property
    def schema(self) -> Schema | None:
        """The header schema; for a Struct value without a schema, the struct's own schema."""
        schema = self._sv._schema
        if schema is None and isinstance(self._sv._value, Struct):
            return self._sv._value.schema
        return schema

    def rename(self, key: str) -> Header:
        """This header under another key."""
        if key is None:
            raise DataError("Null header keys are not permitted")
        return self if key == self._key else Header(key, self._sv)

    def with_value(self, schema: Schema | None, value: Any) -> Header:
        """A header with the same key and a new schema and value (Java ``Header.with``; also ``with_``)."""
        return Header(self._key, SchemaAndValue(schema, value))

    with_ = with_value

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, Header):
            return NotImplemented
        return self._key == other._key and self.schema == other.schema and self.value == other.value

    def __hash__(self) -> int:
        return hash((self._key, self._sv))

    def __repr__(self) -> str:
        return f"ConnectHeader(key={self._key}, value={self.value!r}, schema={self.schema})"


def _check_schema_matches(sv: SchemaAndValue) -> None:
    schema = as_schema(sv.schema)
    if schema is None:
        return
    value = sv.value
    if value is None:
        if not schema.optional:
            raise DataError(f"A null value requires an optional schema but was {schema}")
        return
    stype = schema.type
    name = schema.name
    ok = False
    if stype is Type.BYTES:
        ok = isinstance(value, (bytes, bytearray, memoryview)) or (
            isinstance(value, _decimal.Decimal) and name == DECIMAL_NAME
        )
    elif stype is Type.STRING:
        ok = isinstance(value, str)
    elif stype is Type.BOOLEAN:
        ok = isinstance(value, bool)
    elif stype in INT_RANGES:
        low, high = INT_RANGES[stype]
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
        if stype is Type.INT32 and name in (DATE_NAME, TIME_NAME):
            ok = ok or isinstance(value, (_dt.date, _dt.time))
        if stype is Type.INT64 and name == TIMESTAMP_NAME:
            ok = ok or isinstance(value, _dt.date)
    elif stype in (Type.FLOAT32, Type.FLOAT64):
        ok = isinstance(value, (float, int)) and not isinstance(value, bool)
    elif stype is Type.ARRAY:
        ok = isinstance(value, (list, tuple))
    elif stype is Type.MAP:
        ok = isinstance(value, dict)
    elif stype is Type.STRUCT:
        ok = isinstance(value, Struct)
    if not ok:
        raise DataError(f"The value {value!r} is not compatible with the schema {schema}")


def _check_int(value: int, stype: Type) -> None:
    low, high = INT_RANGES[stype]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DataError(f"The value {value!r} is not a valid {stype} value")


class ConnectHeaders:
    """An ordered, mutable collection of :class:`Header` (Java ``ConnectHeaders``). Mutators return ``self``."""

    __slots__ = ("_headers",)

    def __init__(self, original: Iterable[Header] | None = None) -> None:
        self._headers: list[Header] = []
        if original is not None:
            for header in original:
                if header is None:
                    raise DataError("Unable to add a null header.")
                self._headers.append(header)

    # -- size and iteration ------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._headers)

    def size(self) -> int:
        """The number of headers."""
        return len(self._headers)

    def is_empty(self) -> bool:
        """True when there are no headers."""
        return not self._headers

    def __iter__(self) -> Iterator[Header]:
        return iter(list(self._headers))

    def clear(self) -> ConnectHeaders:
        """Remove every header."""
        self._headers.clear()
        return self

    # -- adding ------------------------------------------------------------------------------------------------

    def add(self, key: str | Header, value: Any = None, schema: Schema | SchemaBuilder | None = None) -> ConnectHeaders:
        """Add a header.

        Forms: ``add(header)``; ``add(key, SchemaAndValue(...))``; ``add(key, value, schema)``.

        Raises:
            DataError: The value does not match the schema.
        """
        if isinstance(key, Header):
            self._headers.append(key)
            return self
        if key is None:
            raise DataError("Null header keys are not permitted")
        if isinstance(value, SchemaAndValue) and schema is None:
            sv = value
        elif value is None and schema is None:
            sv = SchemaAndValue.NULL
        else:
            sv = SchemaAndValue(as_schema(schema), value)
        _check_schema_matches(sv)
        self._headers.append(Header(key, sv))
        return self

    def _add_unchecked(self, key: str, value: Any, schema: Schema | None) -> ConnectHeaders:
        self._headers.append(Header(key, SchemaAndValue(schema, value)))
        return self

    def add_string(self, key: str, value: str | None) -> ConnectHeaders:
        """Add a STRING header."""
        return self._add_unchecked(key, value, Schema.STRING_SCHEMA if value is not None
                                   else Schema.OPTIONAL_STRING_SCHEMA)

    def add_bytes(self, key: str, value: bytes | None) -> ConnectHeaders:
        """Add a BYTES header."""
        return self._add_unchecked(key, value, Schema.BYTES_SCHEMA if value is not None
                                   else Schema.OPTIONAL_BYTES_SCHEMA)

    def add_boolean(self, key: str, value: bool) -> ConnectHeaders:
        """Add a BOOLEAN header."""
        return self._add_unchecked(key, bool(value), Schema.BOOLEAN_SCHEMA)

    def add_byte(self, key: str, value: int) -> ConnectHeaders:
        """Add an INT8 header."""
        _check_int(value, Type.INT8)
        return self._add_unchecked(key, value, Schema.INT8_SCHEMA)

    def add_short(self, key: str, value: int) -> ConnectHeaders:
        """Add an INT16 header."""
        _check_int(value, Type.INT16)
        return self._add_unchecked(key, value, Schema.INT16_SCHEMA)

    def add_int(self, key: str, value: int) -> ConnectHeaders:
        """Add an INT32 header."""
        _check_int(value, Type.INT32)
        return self._add_unchecked(key, value, Schema.INT32_SCHEMA)

    def add_long(self, key: str, value: int) -> ConnectHeaders:
        """Add an INT64 header."""
        _check_int(value, Type.INT64)
        return self._add_unchecked(key, value, Schema.INT64_SCHEMA)

    def add_float(self, key: str, value: float) -> ConnectHeaders:
        """Add a FLOAT32 header."""
        return self._add_unchecked(key, float(value), Schema.FLOAT32_SCHEMA)

    def add_double(self, key: str, value: float) -> ConnectHeaders:
        """Add a FLOAT64 header."""
        return self._add_unchecked(key, float(value), Schema.FLOAT64_SCHEMA)

    def add_list(self, key: str, value: list[Any] | None, schema: Schema) -> ConnectHeaders:
        """Add an ARRAY header with ``schema``."""
        if value is None:
            return self.add(key, None, None)
        self._check_type(schema, Type.ARRAY)
        return self._add_unchecked(key, value, as_schema(schema))

    def add_map(self, key: str, value: dict[Any, Any] | None, schema: Schema) -> ConnectHeaders:
        """Add a MAP header with ``schema``."""
        if value is None:
            return self.add(key, None, None)
        self._check_type(schema, Type.MAP)
        return self._add_unchecked(key, value, as_schema(schema))

    def add_struct(self, key: str, value: Struct | None) -> ConnectHeaders:
        """Add a STRUCT header (the schema is the struct's)."""
        if value is None:
            return self.add(key, None, None)
        return self._add_unchecked(key, value, value.schema)

    def add_decimal(self, key: str, value: _decimal.Decimal | None) -> ConnectHeaders:
        """Add a Decimal header whose scale is the value's."""
        if value is None:
            return self.add(key, None, None)
        schema = Decimal.schema(-int(value.as_tuple().exponent))
        Decimal.from_logical(schema, value)
        return self._add_unchecked(key, value, schema)

    def add_date(self, key: str, value: _dt.date | None) -> ConnectHeaders:
        """Add a Date header."""
        if value is not None:
            Date.from_logical(Date.SCHEMA, value)
        return self._add_unchecked(key, value, Date.SCHEMA)

    def add_time(self, key: str, value: _dt.time | None) -> ConnectHeaders:
        """Add a Time header."""
        if value is not None:
            Time.from_logical(Time.SCHEMA, value)
        return self._add_unchecked(key, value, Time.SCHEMA)

    def add_timestamp(self, key: str, value: _dt.datetime | None) -> ConnectHeaders:
        """Add a Timestamp header."""
        if value is not None:
            Timestamp.from_logical(Timestamp.SCHEMA, value)
        return self._add_unchecked(key, value, Timestamp.SCHEMA)

    @staticmethod
    def _check_type(schema: Schema | SchemaBuilder, expected: Type) -> None:
        built = as_schema(schema)
        if built is None or built.type is not expected:
            found = built.type if built is not None else None
            raise DataError(f"Expecting {expected} but instead found {found}")

    # -- lookup and editing ------------------------------------------------------------------------------------

    def last_with_name(self, key: str) -> Header | None:
        """The last header with ``key``, or None."""
        for header in reversed(self._headers):
            if header.key == key:
                return header
        return None

    def all_with_name(self, key: str) -> Iterator[Header]:
        """The headers with ``key``, in order."""
        return iter([h for h in self._headers if h.key == key])

    def remove(self, key: str) -> ConnectHeaders:
        """Remove every header with ``key``."""
        self._headers = [h for h in self._headers if h.key != key]
        return self

    def retain_latest(self, key: str | None = None) -> ConnectHeaders:
        """Keep only the last header of ``key`` (or of every key when ``key`` is None)."""
        seen: set[str] = set()
        kept: list[Header] = []
        for header in reversed(self._headers):
            if key is not None and header.key != key:
                kept.append(header)
                continue
            if header.key in seen:
                continue
            seen.add(header.key)
            kept.append(header)
        kept.reverse()
        self._headers = kept
        return self

    def apply(self, key_or_transform: str | HeaderTransform, transform: HeaderTransform | None = None) -> ConnectHeaders:
        """Replace headers by ``transform(header)`` (None removes the header).

        Forms: ``apply(transform)`` for every header; ``apply(key, transform)`` for the headers with ``key``.
        """
        if transform is None:
            if not callable(key_or_transform):
                raise DataError("apply() needs a transform")
            key: str | None = None
            fn = key_or_transform
        else:
            key = key_or_transform  # type: ignore[assignment]
            fn = transform
        result: list[Header] = []
        for header in self._headers:
            if key is not None and header.key != key:
                result.append(header)
                continue
            updated = fn(header)
            if updated is not None:
                result.append(updated)
        self._headers = result
        return self

    def duplicate(self) -> ConnectHeaders:
        """A shallow copy (headers are immutable)."""
        return ConnectHeaders(self._headers)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if not isinstance(other, ConnectHeaders):
            return NotImplemented
        return self._headers == other._headers

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ConnectHeaders(headers={self._headers!r})"
