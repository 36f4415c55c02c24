"""Golden bytes of the Connect group protocol: member metadata and assignments, v0 / v1 / v2 (spec section 4).

Each expected value is assembled here field by field from the spec's layout, then compared with what kcfast
writes, and read back.
"""

from __future__ import annotations

import struct

import pytest

from kcfast.errors import ConnectError
from kcfast.runtime.distributed.protocol import (
    CONFIG_MISMATCH,
    Assignment,
    ConnectProtocolCompatibility,
    WorkerState,
    apply_assignment,
    deserialize_assignment,
    deserialize_metadata,
    metadata_request,
    serialize_assignment,
    serialize_eager_metadata,
    serialize_incremental_assignment,
    serialize_incremental_metadata,
)
from kcfast.runtime.status import ConnectorTaskId as T


def i16(v: int) -> bytes:
    return struct.pack(">h", v)


def i32(v: int) -> bytes:
    return struct.pack(">i", v)


def i64(v: int) -> bytes:
    return struct.pack(">q", v)


def s(text: str) -> bytes:
    data = text.encode("utf-8")
    return i16(len(data)) + data


def array(entries: list[tuple[str, list[int]]] | None) -> bytes:
    if entries is None:
        return i32(-1)
    out = i32(len(entries))
    for connector, tasks in entries:
        out += s(connector) + i32(len(tasks)) + b"".join(i32(t) for t in tasks)
    return out


URL = "http://worker-1:8083/"


def test_eager_metadata_bytes() -> None:
    expected = i16(0) + s(URL) + i64(17)
    assert serialize_eager_metadata(WorkerState(URL, 17)) == expected
    assert deserialize_metadata(expected) == WorkerState(URL, 17, None)
    # the literal layout, for the record
    assert expected[:4] == b"\x00\x00\x00\x15"


@pytest.mark.parametrize("sessioned,version", [(False, 1), (True, 2)])
def test_incremental_metadata_with_null_allocation(sessioned: bool, version: int) -> None:
    expected = i16(version) + s(URL) + i64(-1) + i32(-1)
    assert serialize_incremental_metadata(WorkerState(URL, -1), sessioned) == expected
    assert deserialize_metadata(expected) == WorkerState(URL, -1, None)


@pytest.mark.parametrize("sessioned,version", [(False, 1), (True, 2)])
def test_incremental_metadata_embeds_the_allocation_with_its_own_header(
    sessioned: bool, version: int
) -> None:
    allocation = Assignment(
        version, 0, "leader-1", "http://leader:8083/", 42, ("c1",), (T("c1", 0), T("c2", 1)), (), (), 0
    )
    allocation_bytes = (
        i16(version)
        + i16(0)
        + s("leader-1")
        + s("http://leader:8083/")
        + i64(42)
        + array([("c1", [-1, 0]), ("c2", [1])])
        + array([])
        + i32(0)
    )
    expected = i16(version) + s(URL) + i64(42) + i32(len(allocation_bytes)) + allocation_bytes
    assert serialize_incremental_metadata(WorkerState(URL, 42, allocation), sessioned) == expected
    assert deserialize_metadata(expected) == WorkerState(URL, 42, allocation)


def test_eager_assignment_bytes_list_connectors_first_then_tasks_by_connector() -> None:
    assignment = Assignment(
        0, 0, "leader-1", "http://leader:8083/", 99, ("b",), (T("a", 0), T("b", 0), T("a", 1))
    )
    expected = (
        i16(0)
        + i16(0)
        + s("leader-1")
        + s("http://leader:8083/")
        + i64(99)
        + array([("b", [-1, 0]), ("a", [0, 1])])
    )
    assert serialize_assignment(assignment, 0) == expected
    decoded = deserialize_assignment(expected)
    assert decoded.version == 0
    assert decoded.connectors == ("b",)
    assert decoded.tasks == (T("b", 0), T("a", 0), T("a", 1))
    assert (decoded.revoked_connectors, decoded.revoked_tasks, decoded.delay) == ((), (), 0)


@pytest.mark.parametrize("version", [1, 2])
def test_incremental_assignment_bytes_with_revocations_and_delay(version: int) -> None:
    assignment = Assignment(
        version,
        0,
        "m-1",
        "http://m1:8083/",
        7,
        ("new",),
        (T("new", 0),),
        ("old",),
        (T("old", 2), T("other", 0)),
        1600,
    )
    expected = (
        i16(version)
        + i16(0)
        + s("m-1")
        + s("http://m1:8083/")
        + i64(7)
        + array([("new", [-1, 0])])
        + array([("old", [-1, 2]), ("other", [0])])
        + i32(1600)
    )
    assert serialize_incremental_assignment(assignment, version == 2) == expected
    assert serialize_assignment(assignment, version) == expected
    assert deserialize_assignment(expected) == assignment


def test_config_mismatch_assignment_is_empty_with_error_code() -> None:
    assignment = Assignment(1, CONFIG_MISMATCH, "m-1", "http://m1:8083/", 12)
    expected = i16(1) + i16(1) + s("m-1") + s("http://m1:8083/") + i64(12) + array([]) + array([]) + i32(0)
    assert serialize_assignment(assignment, 1) == expected
    decoded = deserialize_assignment(expected)
    assert decoded.failed and decoded.error == CONFIG_MISMATCH


def test_readers_tolerate_missing_v1_trailing_fields() -> None:
    head = i16(1) + i16(0) + s("m") + s("u") + i64(3)
    only_assigned = head + array([("c", [-1])])
    decoded = deserialize_assignment(only_assigned)
    assert decoded.connectors == ("c",) and decoded.revoked_connectors == () and decoded.delay == 0
    assert deserialize_assignment(head).connectors == ()
    assert deserialize_assignment(head + array(None) + array(None)).delay == 0
    # null arrays read as empty
    assert deserialize_assignment(head + array(None) + array(None) + i32(5)).delay == 5


def test_newer_versions_are_read_with_the_known_layout_and_extra_bytes_ignored() -> None:
    data = i16(7) + i16(0) + s("m") + s("u") + i64(3) + array([("c", [0])]) + array([]) + i32(10) + b"future"
    decoded = deserialize_assignment(data)
    assert decoded.version == 7 and decoded.tasks == (T("c", 0),) and decoded.delay == 10
    metadata = i16(3) + s(URL) + i64(5) + i32(-1) + b"\x01\x02"
    assert deserialize_metadata(metadata) == WorkerState(URL, 5, None)


def test_negative_versions_and_truncated_bytes_are_rejected() -> None:
    with pytest.raises(ConnectError, match="Unsupported subscription version: -1"):
        deserialize_metadata(i16(-1) + s(URL) + i64(0))
    with pytest.raises(ConnectError, match="Unsupported subscription version: -2"):
        deserialize_assignment(i16(-2) + i16(0) + s("m") + s("u") + i64(3))
    with pytest.raises(ConnectError):
        deserialize_metadata(i16(0) + s(URL) + i64(0)[:5])
    with pytest.raises(ConnectError):
        deserialize_assignment(i16(1) + i16(0) + s("m") + s("u") + i64(3) + i32(2) + s("c"))


def test_metadata_request_offers_protocols_in_preference_order() -> None:
    state = WorkerState(URL, 4)
    sessioned = metadata_request(state, ConnectProtocolCompatibility.SESSIONED)
    assert [name for name, _ in sessioned] == ["sessioned", "compatible", "default"]
    assert [data[:2] for _, data in sessioned] == [i16(2), i16(1), i16(0)]
    compatible = metadata_request(state, ConnectProtocolCompatibility.COMPATIBLE)
    assert [name for name, _ in compatible] == ["compatible", "default"]
    assert [name for name, _ in metadata_request(state, ConnectProtocolCompatibility.EAGER)] == ["default"]


def test_protocol_modes_from_config_and_wire_names() -> None:
    assert ConnectProtocolCompatibility.from_config("EAGER").protocol == "default"
    assert ConnectProtocolCompatibility.from_config("sessioned").version == 2
    assert ConnectProtocolCompatibility.from_protocol("compatible") is ConnectProtocolCompatibility.COMPATIBLE
    with pytest.raises(ValueError, match="Unknown Connect protocol compatibility mode: nope"):
        ConnectProtocolCompatibility.from_config("nope")


def test_apply_assignment_keeps_unrevoked_work_after_the_new_items() -> None:
    current = Assignment(1, 0, "m", "u", 3, ("a", "b"), (T("a", 0), T("b", 0)))
    new = Assignment(1, 0, "m", "u", 5, ("c",), (T("c", 0),), ("a",), (T("a", 0),), 40)
    merged = apply_assignment(current, new, incremental=True)
    assert merged.connectors == ("c", "b")
    assert merged.tasks == (T("c", 0), T("b", 0))
    assert (merged.offset, merged.delay, merged.revoked_connectors) == (5, 40, ("a",))
    assert apply_assignment(current, new, incremental=False) == new
