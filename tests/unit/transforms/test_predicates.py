"""TopicNameMatches, HasHeaderKey and RecordIsTombstone."""

from __future__ import annotations

import pytest
from transform_helpers import configured

from kcfast._version import KAFKA_VERSION
from kcfast.data import ConnectHeaders, Schema
from kcfast.errors import ConfigError
from kcfast.transforms.predicates import HasHeaderKey, RecordIsTombstone, TopicNameMatches


def test_topic_name_matches_whole_topic(sink) -> None:
    predicate = configured(TopicNameMatches, {"pattern": "my-prefix-.*"})
    assert predicate.test(sink(None, "v", topic="my-prefix-orders"))
    assert not predicate.test(sink(None, "v", topic="x-my-prefix-orders"))
    assert not configured(TopicNameMatches, {"pattern": "foo"}).test(sink(None, "v", topic="foobar"))
    assert repr(predicate) == "TopicNameMatches{pattern=my-prefix-.*}"


@pytest.mark.parametrize(("pattern", "message"), [
    ("", "^Invalid value  for configuration pattern: String must be non-empty$"),
    ("[", r"^Invalid value \[ for configuration pattern: Invalid regex: "),
])
def test_topic_name_matches_config_errors(pattern: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        configured(TopicNameMatches, {"pattern": pattern})


def test_has_header_key(sink) -> None:
    predicate = configured(HasHeaderKey, {"name": "h"})
    with_header = ConnectHeaders().add_string("h", "x")
    other = ConnectHeaders().add_string("g", "x")
    assert predicate.test(sink(None, "v", headers=with_header))
    assert not predicate.test(sink(None, "v", headers=other))
    assert not predicate.test(sink(None, "v"))
    with pytest.raises(ConfigError, match="^Invalid value  for configuration name: String must be non-empty$"):
        configured(HasHeaderKey, {"name": ""})


def test_record_is_tombstone(sink, source) -> None:
    predicate = configured(RecordIsTombstone)
    assert predicate.test(sink(Schema.OPTIONAL_STRING_SCHEMA, None))
    assert predicate.test(source(None, None, None, "key"))
    assert not predicate.test(sink(None, ""))
    assert predicate.version() == KAFKA_VERSION and list(predicate.config().config_keys()) == []
