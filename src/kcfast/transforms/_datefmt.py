"""``java.text.SimpleDateFormat`` patterns in UTC, for ``TimestampConverter`` and ``TimestampRouter``.

Users configure these transformations with Java patterns (``yyyyMMdd``, ``yyyy-MM-dd'T'HH:mm:ss.SSSZ``), so
kcfast reads the same pattern language, in the ``en_US`` locale and the UTC time zone Kafka sets:

- letters ``G y Y M L w W D d F E u a H k K h m s S z Z X``; any other ASCII letter is an illegal pattern
  character; text in single quotes is literal and ``''`` is a quote;
- formatting pads numbers to the letter count (``yy`` keeps two digits, ``S`` is the millisecond count),
  ``MMM``/``MMMM`` and ``E``/``EEEE`` are English names, ``z`` is ``UTC``, ``Z`` is ``+0000`` and ``X`` is ``Z``;
  weeks follow the US rules (weeks start on Sunday, week 1 holds January 1st);
- parsing is lenient as Java's default is (out-of-range fields roll over, text after the pattern is ignored,
  a number directly followed by another numeric field takes exactly its letter count of digits, two-digit
  ``yy`` years fall within 80 years before and 20 after now) and honours ``z``/``Z``/``X`` offsets
  (``GMT+01:00``, ``+0100``, ``Z``, ``UTC``).

Dates are proleptic Gregorian, years 1 to 9999 (Python's ``datetime`` range).
"""

from __future__ import annotations

import datetime as _dt
import re

from kcfast.data._java import epoch_millis, from_epoch_millis

_PATTERN_LETTERS = "GyMdkHmsSEDFwWahKzZYuXL"
_NUMERIC = set("yYdkHmsSDFwWKhu")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_UTC = _dt.timezone.utc
_OFFSET = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?")


class DateFormatError(ValueError):
    """A pattern that ``SimpleDateFormat`` rejects, or text it cannot parse."""


def _is_numeric(letter: str, count: int) -> bool:
    return letter in _NUMERIC or (letter in "ML" and count <= 2)


def _week_start(day: _dt.date) -> _dt.date:
    """The Sunday on or before ``day``."""
    return day - _dt.timedelta(days=(day.weekday() + 1) % 7)


def _week_of_year(day: _dt.date) -> tuple[int, int]:
    """(week year, week of year) under US rules."""
    start = _week_start(day)
    if day.year < 9999 and start + _dt.timedelta(days=6) >= _dt.date(day.year + 1, 1, 1):
        return day.year + 1, 1
    first = _week_start(_dt.date(day.year, 1, 1))
    return day.year, (start - first).days // 7 + 1


class SimpleDateFormat:
    """A compiled ``SimpleDateFormat`` pattern (UTC, en_US). Immutable, so it may be shared between threads.

    Args:
        pattern: the Java pattern.
        century_start_year: where two-digit years start (default: 80 years before now, as in Java).

    Raises:
        DateFormatError: ``Illegal pattern character 'x'``, ``Unterminated quote`` or a bad ``X`` width.
    """

    __slots__ = ("_pattern", "_tokens", "_century_start")

    def __init__(self, pattern: str, century_start_year: int | None = None) -> None:
        self._pattern = pattern
        self._tokens = _compile(pattern)
        self._century_start = (
            century_start_year if century_start_year is not None else _dt.datetime.now(_UTC).year - 80
        )

    def to_pattern(self) -> str:
        """The pattern text (Java ``toPattern``)."""
        return self._pattern

    # -- formatting -----------------------------------------------------------------------------------------

    def format(self, millis: int) -> str:
        """The text of the instant ``millis`` ms after the epoch, in UTC.

        Raises:
            DateFormatError: the instant is outside years 1 to 9999.
        """
        try:
            moment = from_epoch_millis(millis)
        except OverflowError as exc:
            raise DateFormatError(f"Timestamp {millis} is out of the supported range") from exc
        return "".join(tok if isinstance(tok, str) else _format_field(moment, *tok) for tok in self._tokens)

    # -- parsing --------------------------------------------------------------------------------------------

    def parse(self, text: str) -> int:
        """Epoch milliseconds of ``text`` (Java ``parse``: lenient, trailing text ignored).

        Raises:
            DateFormatError: ``Unparseable date: "text"``.
        """
        fields: dict[str, int] = {}
        pos = 0
        tokens = self._tokens
        try:
            for index, tok in enumerate(tokens):
                if isinstance(tok, str):
                    if not text.startswith(tok, pos):
                        raise DateFormatError(tok)
                    pos += len(tok)
                    continue
                letter, count = tok
                following = tokens[index + 1] if index + 1 < len(tokens) else None
                abutting = isinstance(following, tuple) and _is_numeric(*following)
                pos = self._parse_field(text, pos, letter, count, abutting, fields)
            return self._resolve(fields)
        except (DateFormatError, ValueError, OverflowError) as exc:
            raise DateFormatError(f'Unparseable date: "{text}"') from exc

    def _parse_field(self, text: str, pos: int, letter: str, count: int, abutting: bool,
                     fields: dict[str, int]) -> int:
        if _is_numeric(letter, count):
            while pos < len(text) and text[pos] in " \t":
                pos += 1
            start = pos
            if pos < len(text) and text[pos] == "-":
                pos += 1
            limit = pos + count if abutting else len(text)
            while pos < min(limit, len(text)) and text[pos].isascii() and text[pos].isdigit():
                pos += 1
            digits = text[start:pos]
            if not digits.lstrip("-"):
                raise DateFormatError(letter)
            value = int(digits)
            if letter in "yY" and count <= 2 and len(digits) == 2 and digits.isdigit():
                century = self._century_start // 100 * 100
                value += century + (100 if value < self._century_start % 100 else 0)
            fields[letter] = value
            return pos
        if letter in "ML":
            return _parse_name(text, pos, _MONTHS, fields, "M", 1)
        if letter == "E":
            return _parse_name(text, pos, _DAYS, fields, "E", 1)
        if letter == "a":
            return _parse_choice(text, pos, ("AM", "PM"), fields, "a")
        if letter == "G":
            return _parse_choice(text, pos, ("BC", "AD"), fields, "G")
        return _parse_zone(text, pos, letter, fields)

    @staticmethod
    def _resolve(fields: dict[str, int]) -> int:
        year = fields.get("y", fields.get("Y", 1970))
        if fields.get("G", 1) == 0:
            year = 1 - year
        if "D" in fields and "d" not in fields and "M" not in fields:
            base = _dt.datetime(year, 1, 1, tzinfo=_UTC)
            day_offset = fields["D"] - 1
        else:
            months = year * 12 + fields.get("M", 1) - 1
            base = _dt.datetime(months // 12, months % 12 + 1, 1, tzinfo=_UTC)
            day_offset = fields.get("d", 1) - 1
        if "H" in fields or "k" in fields:
            hour = fields["H"] if "H" in fields else fields["k"] % 24
        elif "h" in fields or "K" in fields:
            hour = (fields["h"] % 12 if "h" in fields else fields["K"]) + 12 * fields.get("a", 0)
        else:
            hour = 12 * fields.get("a", 0)
        moment = base + _dt.timedelta(
            days=day_offset,
            hours=hour,
            minutes=fields.get("m", 0) - fields.get("offset", 0),
            seconds=fields.get("s", 0),
            milliseconds=fields.get("S", 0),
        )
        return epoch_millis(moment)

    def __repr__(self) -> str:
        return f"SimpleDateFormat({self._pattern!r})"


def _compile(pattern: str) -> list[str | tuple[str, int]]:
    tokens: list[str | tuple[str, int]] = []
    literal: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "'":
            if pattern.startswith("''", i):
                literal.append("'")
                i += 2
                continue
            end = i + 1
            quoted: list[str] = []
            while True:
                if end >= n:
                    raise DateFormatError("Unterminated quote")
                if pattern[end] == "'":
                    if pattern.startswith("''", end):
                        quoted.append("'")
                        end += 2
                        continue
                    break
                quoted.append(pattern[end])
                end += 1
            literal.extend(quoted)
            i = end + 1
            continue
        if ("a" <= c <= "z") or ("A" <= c <= "Z"):
            if c not in _PATTERN_LETTERS:
                raise DateFormatError(f"Illegal pattern character '{c}'")
            count = 1
            while i + count < n and pattern[i + count] == c:
                count += 1
            if c == "X" and count > 3:
                raise DateFormatError(f"invalid ISO 8601 format: length={count}")
            if literal:
                tokens.append("".join(literal))
                literal = []
            tokens.append((c, count))
            i += count
            continue
        literal.append(c)
        i += 1
    if literal:
        tokens.append("".join(literal))
    return tokens


def _pad(value: int, count: int) -> str:
    return f"{value:0{count}d}"


def _format_field(moment: _dt.datetime, letter: str, count: int) -> str:
    if letter == "G":
        return "AD"
    if letter in "yY":
        year = _week_of_year(moment.date())[0] if letter == "Y" else moment.year
        return _pad(year % 100, 2) if count == 2 else _pad(year, count)
    if letter in "ML":
        if count >= 4:
            return _MONTHS[moment.month - 1]
        if count == 3:
            return _MONTHS[moment.month - 1][:3]
        return _pad(moment.month, count)
    if letter == "d":
        return _pad(moment.day, count)
    if letter == "H":
        return _pad(moment.hour, count)
    if letter == "k":
        return _pad(moment.hour or 24, count)
    if letter == "K":
        return _pad(moment.hour % 12, count)
    if letter == "h":
        return _pad(moment.hour % 12 or 12, count)
    if letter == "m":
        return _pad(moment.minute, count)
    if letter == "s":
        return _pad(moment.second, count)
    if letter == "S":
        return _pad(moment.microsecond // 1000, count)
    if letter == "E":
        name = _DAYS[moment.weekday()]
        return name if count >= 4 else name[:3]
    if letter == "u":
        return _pad(moment.isoweekday(), count)
    if letter == "D":
        return _pad(moment.timetuple().tm_yday, count)
    if letter == "F":
        return _pad((moment.day - 1) // 7 + 1, count)
    if letter == "w":
        return _pad(_week_of_year(moment.date())[1], count)
    if letter == "W":
        first = _week_start(moment.date().replace(day=1))
        return _pad((_week_start(moment.date()) - first).days // 7 + 1, count)
    if letter == "a":
        return "PM" if moment.hour >= 12 else "AM"
    if letter == "z":
        return "Coordinated Universal Time" if count >= 4 else "UTC"
    if letter == "Z":
        return "+0000"
    return "Z"  # X


def _parse_name(text: str, pos: int, names: tuple[str, ...], fields: dict[str, int], key: str,
                base: int) -> int:
    folded = text[pos:].lower()
    best = -1
    best_len = 0
    for index, name in enumerate(names):
        for candidate in (name, name[:3]):
            if folded.startswith(candidate.lower()) and len(candidate) > best_len:
                best, best_len = index, len(candidate)
    if best < 0:
        raise DateFormatError(key)
    fields[key] = best + base
    return pos + best_len


def _parse_choice(text: str, pos: int, choices: tuple[str, ...], fields: dict[str, int], key: str) -> int:
    folded = text[pos:].lower()
    for index, choice in enumerate(choices):
        if folded.startswith(choice.lower()):
            fields[key] = index
            return pos + len(choice)
    raise DateFormatError(key)


def _parse_zone(text: str, pos: int, letter: str, fields: dict[str, int]) -> int:
    if letter == "X" and text.startswith(("Z", "z"), pos):
        fields["offset"] = 0
        return pos + 1
    for name in ("GMT", "UTC", "UT"):
        if text.startswith(name, pos) and letter != "X":
            pos += len(name)
            match = _OFFSET.match(text, pos)
            if match is None:
                fields["offset"] = 0
                return pos
            return _set_offset(match, fields)
    match = _OFFSET.match(text, pos)
    if match is None:
        raise DateFormatError(letter)
    return _set_offset(match, fields)


def _set_offset(match: re.Match[str], fields: dict[str, int]) -> int:
    sign = -1 if match.group(1) == "-" else 1
    hours = int(match.group(2))
    minutes = int(match.group(3) or 0)
    if hours > 23 or minutes > 59:
        raise DateFormatError("offset")
    fields["offset"] = sign * (hours * 60 + minutes)
    return match.end()


__all__ = ["DateFormatError", "SimpleDateFormat"]
