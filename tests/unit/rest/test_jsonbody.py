"""Tests of the typed JSON body reader (Jackson's binding rules as Kafka Connect clients see them)."""

from __future__ import annotations

import pytest

from kcfast.rest.entities import CONFIG_MAP, CONNECTOR_OFFSETS, CREATE_CONNECTOR_REQUEST, TASK_CONFIGS
from kcfast.rest.jsonbody import ANY, JsonBodyError, map_of, parse


def test_scalars_in_string_maps_keep_their_source_text() -> None:
    body = b'{"a": 1, "b": -2.50, "c": 1e3, "d": true, "e": false, "f": null, "g": "s"}'
    assert parse(body, CONFIG_MAP) == {"a": "1", "b": "-2.50", "c": "1e3", "d": "true", "e": "false", "f": None,
                                       "g": "s"}


def test_untyped_values_are_python_values() -> None:
    body = b'{"p": {"n": 5, "f": 1.5, "l": [1, {"x": null}], "s": "\\u00e9\\ud83d\\ude00"}}'
    assert parse(body, map_of(ANY)) == {"p": {"n": 5, "f": 1.5, "l": [1, {"x": None}], "s": "é😀"}}


def test_the_last_duplicate_key_wins_and_trailing_content_is_ignored() -> None:
    assert parse(b'{"a": "1", "a": "2"} and more', CONFIG_MAP) == {"a": "2"}


def test_empty_bodies() -> None:
    assert parse(b"", CONFIG_MAP) is None
    assert parse(b"  \n", CONFIG_MAP) is None
    assert parse(b"null", CONFIG_MAP) is None
    with pytest.raises(JsonBodyError, match="^No content to map due to end-of-input"):
        parse(b"", TASK_CONFIGS, empty_is_null=False)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"a": }', ("Unexpected character ('}' (code 125)): expected a valid value (JSON String, Number, Array, "
                      "Object or token 'null', 'true' or 'false')")),
        (b'{"a" "b"}', ("Unexpected character ('\"' (code 34)): was expecting a colon to separate field name and "
                        "value")),
        (b'{"a": "b" "c": "d"}', ("Unexpected character ('\"' (code 34)): was expecting comma to separate Object "
                                  "entries")),
        (b'{"a": "b",}', "Unexpected character ('}' (code 125)): was expecting double-quote to start field name"),
        (b'{"a": "b"]', "Unexpected close marker ']': expected '}'"),
        (b'{"a": "b', "Unexpected end-of-input in VALUE_STRING"),
        (b'{"a": "\\x"}', "Unrecognized character escape 'x' (code 120)"),
        (b'{"a": 01}', "Invalid numeric value: Leading zeroes not allowed"),
        (b'{"a": tru}', ("Unrecognized token 'tru': was expecting (JSON String, Number, Array, Object or token "
                         "'null', 'true' or 'false')")),
        (b'{"a": "line\nbreak"}', "Illegal unquoted character ((CTRL-CHAR, code 10)): has to be escaped"),
    ],
)
def test_malformed_json_messages(body: bytes, message: str) -> None:
    with pytest.raises(JsonBodyError) as caught:
        parse(body, CONFIG_MAP)
    assert str(caught.value).startswith(message)
    assert "line: 1, column: " in str(caught.value)


def test_mapping_errors_name_the_types_and_the_path() -> None:
    with pytest.raises(JsonBodyError) as caught:
        parse(b'{"offsets": [{"partition": {"a": 1}, "offset": 7}]}', CONNECTOR_OFFSETS)
    text = str(caught.value)
    assert text.startswith(
        "Cannot construct instance of `java.util.LinkedHashMap` (although at least one Creator exists): "
        "no int/Int-argument constructor/factory method to deserialize from Number value (7)"
    )
    assert text.endswith(
        "(through reference chain: org.apache.kafka.connect.runtime.rest.entities.ConnectorOffsets[\"offsets\"]->"
        "java.util.ArrayList[0]->org.apache.kafka.connect.runtime.rest.entities.ConnectorOffset[\"offset\"])"
    )


def test_unknown_fields_list_the_known_ones() -> None:
    with pytest.raises(JsonBodyError, match=r'^Unrecognized field "nme" \(class org\.apache\.kafka\.connect\.runtime'
                                            r'\.rest\.entities\.CreateConnectorRequest\), not marked as ignorable '
                                            r'\(3 known properties: "config", "initial_state", "name"\]\)'):
        parse(b'{"nme": "x"}', CREATE_CONNECTOR_REQUEST)


def test_the_first_problem_in_document_order_is_reported() -> None:
    with pytest.raises(JsonBodyError, match="^Cannot deserialize value of type `java.util.LinkedHashMap"):
        parse(b'{"offsets": [{"partition": []]}]}', CONNECTOR_OFFSETS)


def test_initial_state_is_case_insensitive() -> None:
    body = b'{"name": "n", "config": {}, "initial_state": "Paused"}'
    assert parse(body, CREATE_CONNECTOR_REQUEST) == {"name": "n", "config": {}, "initial_state": "PAUSED"}
    with pytest.raises(JsonBodyError, match="No enum constant org.apache.kafka.connect.runtime.rest.entities."
                                            "CreateConnectorRequest.InitialState.ASLEEP"):
        parse(b'{"initial_state": "asleep"}', CREATE_CONNECTOR_REQUEST)


def test_invalid_utf8_is_an_error() -> None:
    with pytest.raises(JsonBodyError, match="Invalid UTF-8"):
        parse(b'{"a": "\xff"}', CONFIG_MAP)
