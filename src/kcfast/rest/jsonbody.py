"""Request bodies read the way Kafka Connect's JSON binding reads them.

Kafka Connect binds request bodies to typed Java objects with Jackson, and its clients see the consequences:
a malformed body, a value of the wrong JSON type and an unknown field in a typed body are all answered with
HTTP 500 and a message naming the problem (``Unrecognized field "key" ...``, ``Cannot deserialize value of
type ...``, ``Cannot construct instance of ...``); JSON numbers and booleans given where a string is expected
are accepted as their source text (``{"tasks.max": 1}`` stores ``"1"``); content after the first JSON value is
ignored. This module reproduces that: a small recursive-descent parser that checks each value against the
expected type as soon as the value starts, so the first problem in document order is the one reported, as
Jackson's streaming binder does.

Types are described with :data:`STRING`, :data:`ANY`, :func:`map_of`, :func:`list_of`, :func:`bean` and
:func:`enum_of`; :func:`parse` returns plain Python values (``dict``, ``list``, ``str``, ``int``, ``float``,
``bool``, ``None``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kcfast.errors import ConnectError

_WHERE = "[Source: REDACTED (`StreamReadFeature.INCLUDE_SOURCE_IN_LOCATION` disabled); line: {}, column: {}]"
_LOCATION = "\n at " + _WHERE
_EXPECTED_VALUE = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_PLAIN = re.compile(r'[^"\\\x00-\x1f]*')
_WORD = re.compile(r"[A-Za-z0-9_$]*")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_TOKENS = {
    "{": ("Object", "START_OBJECT"),
    "[": ("Array", "START_ARRAY"),
    '"': ("String", "VALUE_STRING"),
    "int": ("Integer", "VALUE_NUMBER_INT"),
    "float": ("Floating-point", "VALUE_NUMBER_FLOAT"),
    "t": ("Boolean", "VALUE_TRUE"),
    "f": ("Boolean", "VALUE_FALSE"),
}


class JsonBodyError(ConnectError):
    """A request body that cannot be read as the expected type (answered with HTTP 500, like Kafka Connect)."""


@dataclass(frozen=True)
class JsonType:
    """The expected type of a JSON value.

    Attributes:
        kind: ``string``, ``any``, ``map``, ``list``, ``bean`` or ``enum``.
        java_name: the Java type name used in error messages.
        item: the type of map values or list items.
        fields: the properties of a bean, by JSON name.
        values: the constants of an enum.
    """

    kind: str
    java_name: str
    item: JsonType | None = None
    fields: dict[str, JsonType] = field(default_factory=dict)
    values: tuple[str, ...] = ()


STRING = JsonType("string", "java.lang.String")
ANY = JsonType("any", "java.lang.Object")


def map_of(item: JsonType) -> JsonType:
    """A JSON object with string keys bound to ``LinkedHashMap<String, item>``."""
    return JsonType("map", f"java.util.LinkedHashMap<java.lang.String,{item.java_name}>", item=item)


def list_of(item: JsonType) -> JsonType:
    """A JSON array bound to ``ArrayList<item>``."""
    return JsonType("list", f"java.util.ArrayList<{item.java_name}>", item=item)


def bean(java_name: str, fields: dict[str, JsonType]) -> JsonType:
    """A JSON object bound to a Java class with the given properties; other properties are rejected."""
    return JsonType("bean", java_name, fields=fields)


def enum_of(java_name: str, values: Sequence[str]) -> JsonType:
    """A string naming one of ``values`` (case-insensitive), bound to a Java enum."""
    return JsonType("enum", java_name, values=tuple(values))


def _raw_name(java_name: str) -> str:
    return java_name.split("<", 1)[0]


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.path: list[str] = []

    # -- positions and errors ---------------------------------------------------------------------------
    def where(self, pos: int | None = None) -> str:
        pos = self.pos if pos is None else pos
        line = self.text.count("\n", 0, pos) + 1
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return _WHERE.format(line, column)

    def location(self, pos: int | None = None) -> str:
        return "\n at " + self.where(pos)

    def syntax(self, message: str, pos: int | None = None) -> JsonBodyError:
        return JsonBodyError(message + self.location(pos))

    def mapping(self, message: str) -> JsonBodyError:
        chain = f" (through reference chain: {'->'.join(self.path)})" if self.path else ""
        return JsonBodyError(message + self.location() + chain)

    def unexpected(self, what: str) -> JsonBodyError:
        if self.pos >= len(self.text):
            return self.syntax(f"Unexpected end-of-input: {what}")
        ch = self.text[self.pos]
        return self.syntax(f"Unexpected character ({_char(ch)}): {what}")

    # -- lexing -----------------------------------------------------------------------------------------
    def skip_ws(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        self.pos = pos

    def peek_token(self) -> str:
        """Classify the next value without consuming it: ``{ [ " int float t f n`` or an error."""
        self.skip_ws()
        if self.pos >= len(self.text):
            raise self.syntax("Unexpected end-of-input: expected a value")
        ch = self.text[self.pos]
        if ch in '{["':
            return ch
        if ch == "-" or ch.isdigit():
            match = _NUMBER.match(self.text, self.pos)
            if match is None or match.end() == self.pos:
                raise self.syntax("Invalid numeric value: Missing integer part (next char '-')")
            rest = self.text[match.end() : match.end() + 1]
            if rest.isdigit():
                raise self.syntax("Invalid numeric value: Leading zeroes not allowed")
            return "float" if (match.group(1) or match.group(2)) else "int"
        word = _WORD.match(self.text, self.pos)
        token = word.group(0) if word else ""
        if token in ("true", "false", "null"):
            return token[0]
        if token:
            raise self.syntax(f"Unrecognized token '{token}': was expecting {_EXPECTED_VALUE}")
        raise self.syntax(f"Unexpected character ({_char(ch)}): expected a valid value {_EXPECTED_VALUE}")

    def read_scalar(self, token: str) -> tuple[Any, str]:
        """Consume a scalar; returns its Python value and its source text."""
        start = self.pos
        if token == '"':
            value = self.read_string()
            return value, value
        if token in ("int", "float"):
            match = _NUMBER.match(self.text, self.pos)
            assert match is not None
            self.pos = match.end()
            text = match.group(0)
            return (int(text) if token == "int" else float(text)), text
        word = {"t": "true", "f": "false", "n": "null"}[token]
        self.pos += len(word)
        return {"t": True, "f": False, "n": None}[token], self.text[start : self.pos]

    def read_string(self) -> str:
        text = self.text
        self.pos += 1  # opening quote
        parts: list[str] = []
        while True:
            match = _PLAIN.match(text, self.pos)
            assert match is not None
            parts.append(match.group(0))
            self.pos = match.end()
            if self.pos >= len(text):
                raise self.syntax("Unexpected end-of-input in VALUE_STRING")
            ch = text[self.pos]
            if ch == '"':
                self.pos += 1
                return _join_utf16("".join(parts))
            if ch != "\\":
                raise self.syntax(
                    f"Illegal unquoted character ((CTRL-CHAR, code {ord(ch)})): has to be escaped using "
                    "backslash to be included in string value"
                )
            esc = text[self.pos + 1 : self.pos + 2]
            if esc in _ESCAPES:
                parts.append(_ESCAPES[esc])
                self.pos += 2
            elif esc == "u":
                digits = text[self.pos + 2 : self.pos + 6]
                if len(digits) < 4 or not all(c in "0123456789abcdefABCDEF" for c in digits):
                    raise self.syntax("Unexpected character: expected a hex-digit for character escape sequence")
                parts.append(chr(int(digits, 16)))
                self.pos += 6
            elif not esc:
                raise self.syntax("Unexpected end-of-input in VALUE_STRING")
            else:
                raise self.syntax(f"Unrecognized character escape {_char(esc)}")

    # -- values -----------------------------------------------------------------------------------------
    def value(self, expected: JsonType) -> Any:
        token = self.peek_token()
        if token == "n":
            self.pos += 4
            return None
        handler: Callable[[JsonType, str], Any] = getattr(self, "v_" + expected.kind)
        return handler(expected, token)

    def v_any(self, expected: JsonType, token: str) -> Any:
        if token == "{":
            return self.object_entries(lambda key: ANY, "java.util.LinkedHashMap", check=None)
        if token == "[":
            return self.array_items(ANY, "java.util.ArrayList")
        return self.read_scalar(token)[0]

    def v_string(self, expected: JsonType, token: str) -> str:
        if token in "{[":
            raise self.mismatch(expected, token)
        return str(self.read_scalar(token)[1])

    def v_enum(self, expected: JsonType, token: str) -> str:
        if token in "{[":
            raise self.mismatch(expected, token)
        text = str(self.read_scalar(token)[1])
        if text.upper() not in expected.values:
            dotted = expected.java_name.replace("$", ".")
            raise self.mapping(
                f"Cannot construct instance of `{expected.java_name}`, problem: No enum constant "
                f"{dotted}.{text.upper()}"
            )
        return text.upper()

    def v_map(self, expected: JsonType, token: str) -> dict[str, Any]:
        if token != "{":
            raise self.mismatch(expected, token)
        item = expected.item or ANY
        return self.object_entries(lambda key: item, "java.util.LinkedHashMap", check=None)

    def v_bean(self, expected: JsonType, token: str) -> dict[str, Any]:
        if token != "{":
            raise self.mismatch(expected, token)

        def check(key: str) -> None:
            if key not in expected.fields:
                names = sorted(expected.fields)
                known = (
                    f'one known property: "{names[0]}"'
                    if len(names) == 1
                    else f"{len(names)} known properties: " + ", ".join(f'"{n}"' for n in names)
                )
                raise self.mapping(
                    f'Unrecognized field "{key}" (class {expected.java_name}), not marked as ignorable ({known}])'
                )

        return self.object_entries(lambda key: expected.fields[key], expected.java_name, check=check)

    def v_list(self, expected: JsonType, token: str) -> list[Any]:
        if token != "[":
            raise self.mismatch(expected, token)
        return self.array_items(expected.item or ANY, "java.util.ArrayList")

    def mismatch(self, expected: JsonType, token: str) -> JsonBodyError:
        shape, name = _TOKENS[token]
        constructs = expected.kind in ("map", "bean") and token not in "{["
        if constructs:
            start = self.pos
            literal = str(self.read_scalar(token)[1])
            self.pos = start
            arg = {"String": "String", "Integer": "int/Int", "Floating-point": "double/Double"}.get(
                shape, "boolean/Boolean"
            )
            shown = f"'{literal}'" if token == '"' else literal
            value_kind = {"Integer": "Number", "Floating-point": "Number"}.get(shape, shape)
            return self.mapping(
                f"Cannot construct instance of `{_raw_name(expected.java_name)}` (although at least one Creator "
                f"exists): no {arg}-argument constructor/factory method to deserialize from {value_kind} value "
                f"({shown})"
            )
        return self.mapping(
            f"Cannot deserialize value of type `{expected.java_name}` from {shape} value (token `JsonToken.{name}`)"
        )

    def object_entries(
        self, item_type: Callable[[str], JsonType], owner: str, check: Callable[[str], None] | None
    ) -> dict[str, Any]:
        start = self.pos
        self.pos += 1
        result: dict[str, Any] = {}
        self.skip_ws()
        if self.text.startswith("}", self.pos):
            self.pos += 1
            return result
        while True:
            self.skip_ws()
            if self.pos >= len(self.text):
                raise self.syntax(
                    f"Unexpected end-of-input: expected close marker for Object (start marker at {self.where(start)})"
                )
            if self.text[self.pos] != '"':
                raise self.unexpected("was expecting double-quote to start field name")
            key = self.read_string()
            if check is not None:
                self.path.append(f'{owner}["{key}"]')
                check(key)
                self.path.pop()
            self.skip_ws()
            if not self.text.startswith(":", self.pos):
                raise self.unexpected("was expecting a colon to separate field name and value")
            self.pos += 1
            self.path.append(f'{owner}["{key}"]')
            result[key] = self.value(item_type(key))
            self.path.pop()
            self.skip_ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            if self.text.startswith("}", self.pos):
                self.pos += 1
                return result
            if self.text.startswith("]", self.pos):
                raise self.syntax("Unexpected close marker ']': expected '}'")
            raise self.unexpected("was expecting comma to separate Object entries")

    def array_items(self, item: JsonType, owner: str) -> list[Any]:
        self.pos += 1
        result: list[Any] = []
        self.skip_ws()
        if self.text.startswith("]", self.pos):
            self.pos += 1
            return result
        while True:
            self.path.append(f"{owner}[{len(result)}]")
            result.append(self.value(item))
            self.path.pop()
            self.skip_ws()
            if self.text.startswith(",", self.pos):
                self.pos += 1
                continue
            if self.text.startswith("]", self.pos):
                self.pos += 1
                return result
            if self.text.startswith("}", self.pos):
                raise self.syntax("Unexpected close marker '}': expected ']'")
            raise self.unexpected("was expecting comma to separate Array entries")


def _char(ch: str) -> str:
    if ord(ch) < 32:
        return f"(CTRL-CHAR, code {ord(ch)})"
    return f"'{ch}' (code {ord(ch)})"


def _join_utf16(text: str) -> str:
    """Combine surrogate pairs produced by ``\\uD83D\\uDE00`` escapes; lone surrogates become U+FFFD."""
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def parse(body: bytes, expected: JsonType, *, empty_is_null: bool = True) -> Any:
    """Read ``body`` as a value of type ``expected``.

    Args:
        body: the raw request body.
        expected: the type the body is bound to.
        empty_is_null: an empty body reads as ``None`` (the REST binding's behaviour); otherwise it is an error.

    Returns:
        The value; ``None`` for an empty body or a JSON ``null``.

    Raises:
        JsonBodyError: the body is malformed or does not fit ``expected``.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JsonBodyError(
            f"Invalid UTF-8 start byte 0x{body[exc.start]:02x}" + _LOCATION.format(1, exc.start + 1)
        ) from exc
    parser = _Parser(text)
    parser.skip_ws()
    if parser.pos >= len(text):
        if empty_is_null:
            return None
        raise JsonBodyError("No content to map due to end-of-input" + _LOCATION.format(1, 0))
    return parser.value(expected)


__all__ = ["ANY", "STRING", "JsonBodyError", "JsonType", "bean", "enum_of", "list_of", "map_of", "parse"]
