"""Java regular expressions on Python's ``re``: what ``RegexRouter``, ``TopicNameMatches`` and the env-var
config provider's ``allowlist.pattern`` accept.

Users write these patterns for Kafka, so they follow ``java.util.regex.Pattern``: named groups ``(?<name>..)``,
``\\Q..\\E`` quoting, ``\\p{Alpha}``-style classes, ``\\z``, ``\\h``, ``\\R``, embedded flags anywhere in the
pattern, ASCII-only ``\\w``/``\\d``/``\\s``/``\\b`` and case folding. Replacement strings follow
``Matcher.appendReplacement``: ``$1``, ``${name}``, ``\\$`` for a literal dollar.

Not supported (rejected as invalid patterns): character-class unions and intersections (``[a-z&&[^b]]``) and
``\\G``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7f",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1f\\x7f",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0b\\f\\r",
    "javaLowerCase": "a-z",
    "javaUpperCase": "A-Z",
    "javaWhitespace": " \\t\\n\\x0b\\f\\r\\x1c-\\x1f",
    "L": "a-zA-Z\\u00aa\\u00b5\\u00ba\\u00c0-\\u00d6\\u00d8-\\u00f6\\u00f8-\\u02ff",
    "IsAlphabetic": "a-zA-Z",
    "IsDigit": "0-9",
    "IsLetter": "a-zA-Z",
    "IsWhite_Space": " \\t\\n\\x0b\\f\\r\\x85\\xa0",
}
_HSPACE = " \\t\\xa0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000"
_VSPACE = "\\n\\x0b\\f\\r\\x85\\u2028\\u2029"
_FLAG_CHARS = "idmsuxU"


class JavaRegexError(ValueError):
    """A pattern that is not a valid (or not a supported) Java regular expression."""


def _char_escape(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")


class _Translator:
    """One pass over a Java pattern, writing the equivalent Python pattern."""

    def __init__(self, pattern: str) -> None:
        self.src = pattern
        self.i = 0
        self.out: list[str] = []
        self.unicode_classes = False
        # Per open group: how many extra ")" close it (for flags switched on in the middle of the group).
        self.closers: list[int] = [0]

    def error(self, message: str) -> JavaRegexError:
        return JavaRegexError(f"{message} near index {self.i}\n{self.src}")

    def translate(self) -> str:
        src = self.src
        while self.i < len(src):
            c = src[self.i]
            if c == "\\":
                self.out.append(self.escape(in_class=False))
            elif c == "[":
                self.out.append(self.char_class())
            elif c == "(":
                self.group_open()
            elif c == ")":
                self.i += 1
                if len(self.closers) == 1:
                    raise self.error("Unmatched closing ')'")
                self.out.append(")" * (self.closers.pop() + 1))
            else:
                self.out.append(c)
                self.i += 1
        if len(self.closers) > 1:
            raise self.error("Unclosed group")
        self.out.append(")" * self.closers[0])
        return "".join(self.out)

    def group_open(self) -> None:
        src = self.src
        rest = src[self.i :]
        if rest.startswith("(?<") and not rest.startswith(("(?<=", "(?<!")):
            end = src.find(">", self.i + 3)
            name = src[self.i + 3 : end] if end > 0 else ""
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name):
                raise self.error("named capturing group is missing trailing '>'" if end < 0 else "Bad named group")
            self.out.append(f"(?P<{name}>")
            self.i = end + 1
            self.closers.append(0)
            return
        flags = re.match(r"\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])", rest)
        if flags and (flags.group(1) or flags.group(2) is not None):
            on, off = flags.group(1), flags.group(2) or ""
            for ch in on + off:
                if ch not in _FLAG_CHARS:
                    raise self.error("Unknown inline modifier")
            if "U" in on:
                self.unicode_classes = True
            on = "".join(ch for ch in on if ch in "imsx")
            off = "".join(ch for ch in off if ch in "imsx")
            self.i += flags.end()
            spec = on + (f"-{off}" if off else "")
            if flags.group(3) == ":":
                self.out.append(f"(?{spec}:" if spec else "(?:")
                self.closers.append(0)
            elif spec:
                # Java applies "(?i)" from here to the end of the enclosing group; Python only allows global
                # flags at the start, so scope them to the rest of the group instead.
                self.out.append(f"(?{spec}:")
                self.closers[-1] += 1
            return
        self.out.append("(")
        self.i += 1
        self.closers.append(0)

    def char_class(self) -> str:
        src = self.src
        parts = ["["]
        self.i += 1
        if self.i < len(src) and src[self.i] == "^":
            parts.append("^")
            self.i += 1
        first = True
        while True:
            if self.i >= len(src):
                raise self.error("Unclosed character class")
            c = src[self.i]
            if c == "]" and not first:
                self.i += 1
                parts.append("]")
                return "".join(parts)
            if c == "[" or src.startswith("&&", self.i):
                raise self.error("Character class unions and intersections are not supported")
            if c == "\\":
                parts.append(self.escape(in_class=True))
            elif c in "&~|" or (c == "-" and src.startswith("--", self.i)):
                parts.append("\\" + c)
                self.i += 1
            elif c == "]":
                parts.append("\\]")
                self.i += 1
            else:
                parts.append(c)
                self.i += 1
            first = False

    def escape(self, in_class: bool) -> str:
        src = self.src
        self.i += 1
        if self.i >= len(src):
            raise self.error("Unexpected internal error")
        c = src[self.i]
        self.i += 1
        if c == "Q":
            end = src.find("\\E", self.i)
            literal = src[self.i :] if end < 0 else src[self.i : end]
            self.i = len(src) if end < 0 else end + 2
            return "".join(_char_escape(ord(ch)) for ch in literal) if in_class else re.escape(literal)
        if c.isdigit():
            if c == "0":
                digits = ""
                while self.i < len(src) and len(digits) < 3 and src[self.i] in "01234567":
                    if len(digits) == 2 and digits[0] > "3":
                        break
                    digits += src[self.i]
                    self.i += 1
                if not digits:
                    raise self.error("Illegal octal escape sequence")
                return _char_escape(int(digits, 8))
            if in_class:
                raise self.error("Illegal/unsupported escape sequence")
            return "\\" + c
        simple = {"t": "\\t", "n": "\\n", "r": "\\r", "f": "\\f", "a": "\\a", "e": "\\x1b"}
        if c in simple:
            return simple[c]
        if c in "dDsSwW":
            return "\\" + c
        if c in "bBA" and not in_class:
            return "\\" + c
        if c == "z" and not in_class:
            return "\\Z"
        if c == "Z" and not in_class:
            return "(?=(?:\\r\\n|[" + _VSPACE + "])?\\Z)"
        if c in "hHvV":
            chars = _HSPACE if c in "hH" else _VSPACE
            negated = c.isupper()
            if in_class:
                if negated:
                    raise self.error("Negated escapes inside character classes are not supported")
                return chars
            return "[" + ("^" if negated else "") + chars + "]"
        if c == "R" and not in_class:
            return "(?:\\r\\n|[" + _VSPACE + "])"
        if c == "x":
            if src.startswith("{", self.i):
                end = src.find("}", self.i)
                digits = src[self.i + 1 : end] if end > 0 else ""
                if not re.fullmatch(r"[0-9a-fA-F]{1,8}", digits) or int(digits, 16) > 0x10FFFF:
                    raise self.error("Illegal hexadecimal escape sequence")
                self.i = end + 1
                return _char_escape(int(digits, 16))
            digits = src[self.i : self.i + 2]
            if not re.fullmatch(r"[0-9a-fA-F]{2}", digits):
                raise self.error("Illegal hexadecimal escape sequence")
            self.i += 2
            return _char_escape(int(digits, 16))
        if c == "u":
            digits = src[self.i : self.i + 4]
            if not re.fullmatch(r"[0-9a-fA-F]{4}", digits):
                raise self.error("Illegal Unicode escape sequence")
            self.i += 4
            return _char_escape(int(digits, 16))
        if c == "c":
            if self.i >= len(src):
                raise self.error("Illegal control escape sequence")
            self.i += 1
            return _char_escape(ord(src[self.i - 1]) ^ 64)
        if c in "pP":
            return self._property(c == "P", in_class)
        if c == "k" and not in_class:
            end = src.find(">", self.i)
            if not src.startswith("<", self.i) or end < 0:
                raise self.error("\\k is not followed by '<' for named capturing group")
            name = src[self.i + 1 : end]
            self.i = end + 1
            return f"(?P={name})"
        if c.isalpha():
            raise self.error("Illegal/unsupported escape sequence")
        return "\\" + c

    def _property(self, negated: bool, in_class: bool) -> str:
        src = self.src
        if src.startswith("{", self.i):
            end = src.find("}", self.i)
            if end < 0:
                raise self.error("Unclosed character family")
            name = src[self.i + 1 : end]
            self.i = end + 1
        else:
            name = src[self.i : self.i + 1]
            self.i += 1
        key = name if name in _POSIX else name[2:] if name[:2] in ("Is", "In") else name
        if key not in _POSIX:
            raise self.error(f"Unknown character property name {{{name}}}")
        chars = _POSIX[key]
        if in_class:
            if negated:
                raise self.error("Negated properties inside character classes are not supported")
            return chars
        return "[" + ("^" if negated else "") + chars + "]"


@functools.lru_cache(maxsize=256)
def compile_java_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Java regular expression into an equivalent Python pattern.

    Raises:
        JavaRegexError: the pattern is not valid (or uses one of the unsupported constructs).
    """
    if pattern is None:
        raise JavaRegexError("null pattern")
    translator = _Translator(pattern)
    text = translator.translate()
    try:
        return re.compile(text, 0 if translator.unicode_classes else re.ASCII)
    except re.error as exc:
        raise JavaRegexError(f"{exc.msg} near index {exc.pos}\n{pattern}") from exc


def expand_java_replacement(match: re.Match[str], replacement: str) -> str:
    """The text ``Matcher.appendReplacement`` puts in place of ``match``: ``$n``/``${name}`` groups, ``\\`` escapes.

    Raises:
        ValueError: a malformed replacement (``Illegal group reference``, a trailing ``\\``, unknown group name).
        IndexError: ``No group n``.
    """
    out: list[str] = []
    groups = match.re.groups
    i, n = 0, len(replacement)
    while i < n:
        c = replacement[i]
        if c == "\\":
            i += 1
            if i >= n:
                raise ValueError("character to be escaped is missing")
            out.append(replacement[i])
            i += 1
            continue
        if c != "$":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= n:
            raise ValueError("Illegal group reference: group index is missing")
        ref: Any
        if replacement[i] == "{":
            i += 1
            start = i
            while i < n and replacement[i].isascii() and replacement[i].isalnum():
                i += 1
            name = replacement[start:i]
            if not name:
                raise ValueError("named capturing group has 0 length name")
            if i >= n or replacement[i] != "}":
                raise ValueError("named capturing group is missing trailing '}'")
            i += 1
            if name[0].isdigit():
                raise ValueError("capturing group name {" + name + "} starts with digit character")
            if name not in match.re.groupindex:
                raise ValueError("No group with name {" + name + "}")
            ref = name
        else:
            digit = replacement[i]
            if not ("0" <= digit <= "9"):
                raise ValueError("Illegal group reference")
            ref = int(digit)
            i += 1
            if ref > groups:
                raise IndexError(f"No group {ref}")
            while i < n and "0" <= replacement[i] <= "9":
                candidate = ref * 10 + int(replacement[i])
                if candidate > groups:
                    break
                ref = candidate
                i += 1
        value = match.group(ref)
        if value is not None:
            out.append(value)
    return "".join(out)


def java_replace_first(pattern: re.Pattern[str], text: str, replacement: str) -> str:
    """Java ``Matcher.replaceFirst``: replace the first match found by a search (not necessarily a full match)."""
    match = pattern.search(text)
    if match is None:
        return text
    return text[: match.start()] + expand_java_replacement(match, replacement) + text[match.end() :]


__all__ = ["JavaRegexError", "compile_java_regex", "expand_java_replacement", "java_replace_first"]
