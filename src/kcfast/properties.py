"""Java ``.properties`` files, read exactly as ``java.util.Properties.load`` reads them.

The grammar, as Java applies it:

- A *natural line* ends at ``\\n``, ``\\r`` or ``\\r\\n``. Leading whitespace (space, tab, form feed) is skipped.
  Blank lines are ignored, and a line whose first non-blank character is ``#`` or ``!`` is a comment.
- A natural line that ends with an odd number of backslashes continues on the next one: the backslash and the
  line break are dropped, and so is the leading whitespace of the continuation line. A comment line never
  continues. A backslash at the very end of the input is dropped.
- The key runs up to the first unescaped ``=``, ``:`` or whitespace. The separator is any whitespace, then at
  most one ``=`` or ``:``, then any whitespace; everything after it is the value, trailing whitespace included.
- Escapes in keys and values: ``\\t \\n \\r \\f``, ``\\uXXXX`` (UTF-16 code units, so surrogate pairs combine),
  and a backslash before any other character stands for that character (``\\=``, ``\\:``, ``\\ ``, ``\\\\``).
- A later occurrence of a key replaces the earlier one.

Kafka's launchers hand ``Properties.load`` a byte stream, which Java decodes as ISO-8859-1. kcfast decodes
files as UTF-8 (what a file saved by any current editor contains) and falls back to ISO-8859-1 only when the
bytes are not valid UTF-8; files that are pure ASCII, or that spell non-ASCII characters as ``\\uXXXX``, read
identically in both. :func:`dump_properties` writes ASCII only, so its output reads the same in Java and kcfast.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from kcfast.errors import ConfigError

__all__ = ["dump_properties", "load_properties", "parse_properties"]

_BLANK = frozenset(" \t\f")
_EOL = frozenset("\r\n")
_SIMPLE_ESCAPES = {"t": "\t", "r": "\r", "n": "\n", "f": "\f"}
_HEX = frozenset("0123456789abcdefABCDEF")


def load_properties(path: str | os.PathLike[str]) -> dict[str, str]:
    """Read a ``.properties`` file.

    Args:
        path: the file to read.

    Returns:
        The keys and values, in the order each key first appeared.

    Raises:
        ConfigError: the file cannot be read, or it contains a malformed ``\\uXXXX`` escape. The message names
            the file.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError(f"Unable to read properties file {os.fspath(path)}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("iso-8859-1")
    # A UTF-8 byte order mark is an editor artefact, not part of the first key.
    text = text.removeprefix("\ufeff")
    try:
        return parse_properties(text)
    except ConfigError as exc:
        raise ConfigError(f"Invalid properties file {os.fspath(path)}: {exc}") from exc


def parse_properties(text: str) -> dict[str, str]:
    """Parse the text of a ``.properties`` file.

    Args:
        text: the decoded file contents.

    Returns:
        The keys and values, in the order each key first appeared (a repeated key keeps its first position and
        takes its last value).

    Raises:
        ConfigError: a ``\\uXXXX`` escape is malformed (the message gives the line number).
    """
    result: dict[str, str] = {}
    for line, lineno in _logical_lines(text):
        key, value = _split_key_value(line)
        try:
            result[_unescape(key)] = _unescape(value)
        except ValueError as exc:
            raise ConfigError(f"Malformed \\uxxxx encoding on line {lineno}") from exc
    return result


def _logical_lines(text: str) -> list[tuple[str, int]]:
    """Split ``text`` into logical lines (continuations joined, comments and blank lines dropped).

    Returns each logical line with the number of the natural line it starts on. This is a character-level state
    machine so that the corner cases of Java's ``LineReader`` come out the same (for instance a comment
    character right after a lone continuation backslash still starts a comment, and a blank line after a
    continuation ends the logical line).
    """
    lines: list[tuple[str, int]] = []
    buf: list[str] = []
    skip_white = True
    appended_line_begin = False
    preceding_backslash = False
    lineno = 1
    start_line = 1
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        i += 1
        if skip_white:
            if c in _BLANK:
                continue
            if not appended_line_begin and c in _EOL:
                if c == "\n" or (c == "\r" and not (i < n and text[i] == "\n")):
                    lineno += 1
                continue
            skip_white = False
            appended_line_begin = False
        if not buf:
            start_line = lineno
            if c in "#!":
                # A comment runs to the end of the natural line and never continues.
                while i < n and text[i] not in _EOL:
                    i += 1
                skip_white = True
                continue
        if c not in _EOL:
            buf.append(c)
            preceding_backslash = (not preceding_backslash) if c == "\\" else False
            continue
        # End of a natural line.
        if c == "\r" and i < n and text[i] == "\n":
            crlf = True
        else:
            crlf = False
        if not buf:
            skip_white = True
            if not crlf:
                lineno += 1
            continue
        if i >= n:
            break
        if preceding_backslash:
            buf.pop()
            skip_white = True
            appended_line_begin = True
            preceding_backslash = False
            if crlf:
                i += 1
            lineno += 1
            continue
        lines.append(("".join(buf), start_line))
        buf = []
        skip_white = True
        if not crlf:
            lineno += 1
    if buf:
        if preceding_backslash:
            buf.pop()
        lines.append(("".join(buf), start_line))
    return lines


def _split_key_value(line: str) -> tuple[str, str]:
    """Split a logical line into its raw (still escaped) key and value."""
    limit = len(line)
    key_len = 0
    value_start = limit
    has_sep = False
    preceding_backslash = False
    while key_len < limit:
        c = line[key_len]
        if c in "=:" and not preceding_backslash:
            value_start = key_len + 1
            has_sep = True
            break
        if c in _BLANK and not preceding_backslash:
            value_start = key_len + 1
            break
        preceding_backslash = (not preceding_backslash) if c == "\\" else False
        key_len += 1
    while value_start < limit:
        c = line[value_start]
        if c not in _BLANK:
            if not has_sep and c in "=:":
                has_sep = True
            else:
                break
        value_start += 1
    return line[:key_len], line[value_start:]


def _unescape(raw: str) -> str:
    """Resolve the backslash escapes of a key or value.

    Raises:
        ValueError: a ``\\uXXXX`` escape is cut short or holds a non-hex digit.
    """
    if "\\" not in raw:
        return raw
    out: list[str] = []
    has_surrogate = False
    i = 0
    n = len(raw)
    while i < n:
        c = raw[i]
        i += 1
        if c != "\\":
            out.append(c)
            continue
        if i >= n:
            # Only reachable for a lone backslash that ends a key; Java reads past the key there and the
            # result is unspecified, so the backslash is dropped.
            break
        c = raw[i]
        i += 1
        if c == "u":
            digits = raw[i : i + 4]
            if len(digits) < 4 or not all(d in _HEX for d in digits):
                raise ValueError("Malformed \\uxxxx encoding.")
            code = int(digits, 16)
            if 0xD800 <= code <= 0xDFFF:
                has_surrogate = True
            out.append(chr(code))
            i += 4
        else:
            out.append(_SIMPLE_ESCAPES.get(c, c))
    text = "".join(out)
    if has_surrogate:
        # Java strings are UTF-16: an escaped surrogate pair is one character. Lone halves stay as they are.
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return text


def _escape(text: str, is_key: bool) -> str:
    """Escape ``text`` so that :func:`parse_properties` (and Java) read it back unchanged."""
    out: list[str] = []
    for index, c in enumerate(text):
        code = ord(c)
        if c == " ":
            out.append("\\ " if is_key or index == 0 else " ")
        elif c == "\\":
            out.append("\\\\")
        elif c in "=:#!":
            out.append("\\" + c)
        elif c == "\t":
            out.append("\\t")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\f":
            out.append("\\f")
        elif code < 0x20 or code > 0x7E:
            if code > 0xFFFF:
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04X}\\u{0xDC00 + (code & 0x3FF):04X}")
            else:
                out.append(f"\\u{code:04X}")
        else:
            out.append(c)
    return "".join(out)


def dump_properties(props: Mapping[str, str]) -> str:
    """Write ``props`` as ``.properties`` text, one ``key=value`` line each, in the mapping's order.

    Every character that the reader would treat specially is escaped, and non-ASCII characters are written as
    ``\\uXXXX``, so ``parse_properties(dump_properties(p)) == p`` for any string keys and values, and Java's
    ``Properties.load`` reads the same map.

    Args:
        props: the keys and values to write.

    Returns:
        The file text, ending with a newline unless ``props`` is empty.
    """
    return "".join(f"{_escape(key, True)}={_escape(value, False)}\n" for key, value in props.items())
