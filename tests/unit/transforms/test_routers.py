"""RegexRouter and TimestampRouter, and the Java regex and SimpleDateFormat layers under them."""

from __future__ import annotations

import pytest
from transform_helpers import configured

from kcfast.errors import ConfigError, DataError
from kcfast.transforms._datefmt import DateFormatError, SimpleDateFormat
from kcfast.transforms._regex import JavaRegexError, compile_java_regex, java_replace_first
from kcfast.transforms.regex_router import RegexRouter
from kcfast.transforms.timestamp_router import TimestampRouter

# -- RegexRouter --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regex", "replacement", "topic", "expected"),
    [
        ("(.*)", "prefix-$1", "orig", "prefix-orig"),
        ("(.*)-(\\d+)", "$2_$1", "orders-12", "12_orders"),
        ("foo", "bar", "foo", "bar"),
        ("foo", "bar", "foobar", "foobar"),  # not a full match: left alone
        ("(?<name>[a-z]+)\\.db", "${name}", "users.db", "users"),
        ("a|ab", "X", "ab", "Xb"),  # full match, then replaceFirst's own (shorter) match, as in Java
        ("(.*)", "cost\\$1", "x", "cost$1"),
        ("(\\p{Alpha}+)_(\\p{Digit}+)", "$2", "abc_42", "42"),
        ("(?i)ORDERS", "o", "orders", "o"),
    ],
)
def test_regex_router(sink, regex: str, replacement: str, topic: str, expected: str) -> None:
    xform = configured(RegexRouter, {"regex": regex, "replacement": replacement})
    record = sink(None, "v", topic=topic)
    out = xform.apply(record)
    assert out.topic == expected
    assert (out.value, out.kafka_offset, out.original_topic) == ("v", 42, topic)


def test_regex_router_config_errors() -> None:
    with pytest.raises(ConfigError, match='^Missing required configuration "regex" which has no default value.$'):
        configured(RegexRouter, {"replacement": "x"})
    with pytest.raises(ConfigError, match=r"^Invalid value \( for configuration regex: Invalid regex: "):
        configured(RegexRouter, {"regex": "(", "replacement": "x"})


def test_java_replacement_errors() -> None:
    pattern = compile_java_regex("(a)")
    with pytest.raises(IndexError, match="^No group 2$"):
        java_replace_first(pattern, "a", "$2")
    with pytest.raises(ValueError, match="^Illegal group reference$"):
        java_replace_first(pattern, "a", "$x")
    with pytest.raises(ValueError, match="character to be escaped is missing"):
        java_replace_first(pattern, "a", "x\\")
    assert java_replace_first(pattern, "a", "$10") == "a0"  # group 10 does not exist: $1 then "0"


@pytest.mark.parametrize(
    ("java", "matches", "rejects"),
    [
        ("a\\Q.*\\Eb", ["a.*b"], ["axxb"]),
        ("\\p{Upper}\\p{Lower}+", ["Abc"], ["abc"]),
        ("\\w+\\z", ["abc"], ["abc\n"]),
        ("x(?i)abc", ["xABC"], ["XABC"]),
        ("[\\h]+", [" \t"], ["\n"]),
        ("\\x{41}\\u0042\\0103", ["ABC"], []),
        ("\\w+", ["abc_1"], ["\u00e9t\u00e9"]),  # \w is ASCII-only in Java
    ],
)
def test_java_regex_translation(java: str, matches: list[str], rejects: list[str]) -> None:
    pattern = compile_java_regex(java)
    assert all(pattern.fullmatch(text) for text in matches)
    assert not any(pattern.fullmatch(text) for text in rejects)


@pytest.mark.parametrize("java", ["[a-z&&[^b]]", "(", "\\y", "\\p{NoSuch}", "(?<1a>x)"])
def test_invalid_or_unsupported_java_regex(java: str) -> None:
    with pytest.raises(JavaRegexError):
        compile_java_regex(java)


# -- TimestampRouter ----------------------------------------------------------------------------------------------


def test_timestamp_router_defaults(sink) -> None:
    out = configured(TimestampRouter).apply(sink(None, "v", topic="test", timestamp=1_483_425_001_864))
    assert out.topic == "test-20170103"


def test_timestamp_router_custom_formats(source) -> None:
    xform = configured(TimestampRouter, {"topic.format": "${timestamp}/${topic}/${topic}",
                                         "timestamp.format": "yyyy-MM-dd'T'HH:mm"})
    assert xform.apply(source(None, "v", topic="t", timestamp=1_483_425_001_864)).topic == (
        "2017-01-03T06:30/t/t")


def test_timestamp_router_errors(sink) -> None:
    with pytest.raises(DataError, match="^Timestamp missing on record: "):
        configured(TimestampRouter).apply(sink(None, "v", timestamp=None))
    bad = configured(TimestampRouter, {"timestamp.format": "yyyy-bb"})  # as in Kafka: fails on the first record
    with pytest.raises(DateFormatError, match="^Illegal pattern character 'b'$"):
        bad.apply(sink(None, "v"))


# -- SimpleDateFormat ---------------------------------------------------------------------------------------------

MILLIS = 1_700_000_000_123  # 2023-11-14T22:13:20.123Z, a Tuesday


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("yyyyMMdd", "20231114"),
        ("yyyy MM dd HH mm ss SSS z", "2023 11 14 22 13 20 123 UTC"),
        ("yyyy-MM-dd'T'HH:mm:ss.SSSZ", "2023-11-14T22:13:20.123+0000"),
        ("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2023-11-14T22:13:20.123Z"),
        ("yy-M-d h:m:s a", "23-11-14 10:13:20 PM"),
        ("EEE, d MMM yyyy", "Tue, 14 Nov 2023"),
        ("EEEE MMMM", "Tuesday November"),
        ("D F w W u k K", "318 2 46 3 2 22 10"),
        ("'o''clock' G zzzz", "o'clock AD Coordinated Universal Time"),
        ("SSSSSS", "000123"),
    ],
)
def test_simple_date_format_text(pattern: str, text: str) -> None:
    assert SimpleDateFormat(pattern).format(MILLIS) == text


@pytest.mark.parametrize(
    ("pattern", "text", "millis"),
    [
        ("yyyy MM dd HH mm ss SSS z", "1970 01 02 00 00 01 234 UTC", 86_401_234),
        ("yyyy-MM-dd'T'HH:mm:ss.SSSZ", "2023-11-14T23:13:20.123+0100", MILLIS),
        ("yyyy-MM-dd'T'HH:mm:ss.SSSXXX", "2023-11-14T22:13:20.123Z", MILLIS),
        ("yyyyMMddHHmmss", "20231114221320", MILLIS - 123),
        ("yyyy-MM-dd", "2023-11-14 and more", 1_699_920_000_000),
        ("yyyy-MM-dd", "2023-13-01", 1_704_067_200_000),  # lenient: month 13 is next January
        ("hh:mm a", "10:13 PM", 80_000_000 - 20_000),
        ("EEE, d MMM yyyy", "tue, 14 nov 2023", 1_699_920_000_000),
    ],
)
def test_simple_date_format_parse(pattern: str, text: str, millis: int) -> None:
    assert SimpleDateFormat(pattern).parse(text) == millis


def test_two_digit_years_use_a_century_window() -> None:
    fmt = SimpleDateFormat("yy-MM-dd", century_start_year=1950)
    assert SimpleDateFormat("yyyy").format(fmt.parse("49-01-01")) == "2049"
    assert SimpleDateFormat("yyyy").format(fmt.parse("50-01-01")) == "1950"


@pytest.mark.parametrize(("pattern", "message"), [("yyyy-bb", "Illegal pattern character 'b'"),
                                                  ("'abc", "Unterminated quote"),
                                                  ("XXXX", "invalid ISO 8601 format: length=4")])
def test_simple_date_format_rejects_bad_patterns(pattern: str, message: str) -> None:
    with pytest.raises(DateFormatError, match=f"^{message}$"):
        SimpleDateFormat(pattern)


def test_simple_date_format_unparseable() -> None:
    with pytest.raises(DateFormatError, match='^Unparseable date: "nope"$'):
        SimpleDateFormat("yyyy").parse("nope")
