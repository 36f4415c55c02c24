"""Offset tracking of the core: SubmittedRecords (source) and SinkOffsets (sink), on both implementations."""

from __future__ import annotations

import threading
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kcfast._core_common import CommittableOffsets, PartitionOffsets

P1 = {"file": "a.txt"}
P2 = {"file": "b.txt"}


def offsets_of(committable: CommittableOffsets) -> list[tuple[Any, Any]]:
    return sorted(committable.offsets.items(), key=repr)


# ----------------------------------------------------------------------------------------- SubmittedRecords


def test_nothing_submitted_nothing_committable(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    result = records.committable_offsets()
    assert result.is_empty() and not result.has_pending()
    assert len(result.offsets) == 0
    assert (result.num_deques, result.largest_deque_size, result.largest_deque_partition) == (0, 0, None)
    assert records.in_flight == 0


def test_committable_offset_is_last_of_acknowledged_prefix(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    subs = [records.submit(P1, {"pos": i}) for i in range(4)]
    subs[1].ack()
    subs[3].ack()
    result = records.committable_offsets()
    assert len(result.offsets) == 0, "record 0 is not acknowledged: nothing is committable"
    assert (result.num_committable_messages, result.num_uncommittable_messages) == (0, 4)
    assert (result.num_deques, result.largest_deque_size, result.largest_deque_partition) == (1, 4, P1)
    subs[0].ack()
    result = records.committable_offsets()
    assert offsets_of(result) == [(P1, {"pos": 1})]
    assert (result.num_committable_messages, result.num_uncommittable_messages) == (2, 2)
    subs[2].ack()
    result = records.committable_offsets()
    assert offsets_of(result) == [(P1, {"pos": 3})]
    assert (result.num_committable_messages, result.num_uncommittable_messages, result.num_deques) == (2, 0, 0)
    assert records.committable_offsets().is_empty(), "committed records are forgotten"


def test_partitions_are_independent(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    a0 = records.submit(P1, {"pos": 0})
    b0 = records.submit(P2, {"pos": 10})
    b1 = records.submit(P2, {"pos": 11})
    b0.ack()
    b1.ack()
    result = records.committable_offsets()
    assert offsets_of(result) == [(P2, {"pos": 11})]
    assert result.offsets[{"file": "b.txt"}] == {"pos": 11}
    assert {"file": "a.txt"} not in result.offsets
    assert (result.num_deques, result.largest_deque_partition) == (1, P1)
    a0.ack()
    assert offsets_of(records.committable_offsets()) == [(P1, {"pos": 0})]


def test_partition_maps_are_compared_by_value(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    first = records.submit({"db": "x", "table": "t"}, {"lsn": 1})
    second = records.submit({"table": "t", "db": "x"}, {"lsn": 2})
    assert records.committable_offsets().num_deques == 1
    first.ack()
    second.ack()
    result = records.committable_offsets()
    assert offsets_of(result) == [({"db": "x", "table": "t"}, {"lsn": 2})]


def test_values_java_tells_apart_make_distinct_partitions(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    for value in (1, True, 1.0, "1"):
        records.submit({"p": value}, {"o": 0})
    assert records.committable_offsets().num_deques == 4


def test_null_partition_is_tracked(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    sub = records.submit(None, None)
    sub.ack()
    result = records.committable_offsets()
    assert result.offsets.items() == [(None, None)]
    assert result.num_committable_messages == 1


def test_drop_removes_without_acknowledging(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    a = records.submit(P1, {"pos": 0})
    b = records.submit(P1, {"pos": 1})
    c = records.submit(P1, {"pos": 2})
    assert records.in_flight == 3
    assert b.drop() is True
    assert records.in_flight == 2
    assert b.drop() is False, "a dropped record is no longer tracked"
    b.ack()
    assert not b.acked and records.in_flight == 2, "acknowledging a dropped record changes nothing"
    c.ack()
    a.ack()
    assert offsets_of(records.committable_offsets()) == [(P1, {"pos": 2})]
    assert records.in_flight == 0


def test_drop_of_the_only_record_forgets_the_partition(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    records.submit(P1, {"pos": 0}).drop()
    result = records.committable_offsets()
    assert result.is_empty() and result.num_deques == 0


def test_ack_is_idempotent(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    sub = records.submit(P1, {"pos": 0})
    records.submit(P1, {"pos": 1})
    sub.ack()
    sub.ack()
    assert sub.acked
    assert records.in_flight == 1
    assert sub.drop() is False, "an acknowledged record is no longer tracked"
    assert sub.acked and records.in_flight == 1, "dropping an acknowledged record changes nothing"
    assert offsets_of(records.committable_offsets()) == [(P1, {"pos": 0})]


def test_submitted_record_exposes_partition_and_offset(impl: ModuleType) -> None:
    sub = impl.SubmittedRecords().submit(P1, {"pos": 7})
    assert (sub.source_partition, sub.source_offset, sub.acked) == (P1, {"pos": 7}, False)
    assert "pos" in repr(sub)


def test_submit_all_takes_source_records(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    batch = [impl.SourceRecord(P1, {"pos": i}, "t", value=i) for i in range(3)]
    subs = records.submit_all(batch)
    assert [s.source_offset for s in subs] == [{"pos": 0}, {"pos": 1}, {"pos": 2}]
    for s in subs:
        s.ack()
    assert offsets_of(records.committable_offsets()) == [(P1, {"pos": 2})]


def test_submit_all_tells_apart_partitions_that_compare_equal(impl: ModuleType) -> None:
    # {"n": 1}, {"n": True} and {"n": 1.0} are equal dicts but distinct source partitions for Java.
    records = impl.SubmittedRecords()
    parts = [{"n": 1}, {"n": 1}, {"n": True}, {"n": 1.0}, {"n": 1}, {"m": "x", "n": 2}, {"n": 2, "m": "x"}]
    batch = [impl.SourceRecord(p, {"pos": i}, "t", value=i) for i, p in enumerate(parts)]
    for sub in records.submit_all(batch):
        sub.ack()
    got = records.committable_offsets()
    assert got.num_committable_messages == len(parts)
    assert sorted(o["pos"] for o in got.offsets.values()) == [2, 3, 4, 6]


class Offset(dict):  # type: ignore[type-arg]
    """A source offset that can be watched with a weak reference."""


def test_acknowledged_prefix_is_released_before_the_commit(impl: ModuleType) -> None:
    import gc
    import weakref

    records = impl.SubmittedRecords()
    offsets = [Offset(pos=i) for i in range(200)]
    watched = [weakref.ref(o) for o in offsets]
    subs = [records.submit(P1, o) for o in offsets]
    del offsets
    for sub in subs[:150]:
        sub.ack()
    del subs[:150]
    gc.collect()
    alive = [i for i, ref in enumerate(watched) if ref() is not None]
    assert alive == [149, *range(150, 200)], "only the pending offset and the records in flight are kept"
    result = records.committable_offsets()
    assert offsets_of(result) == [(P1, {"pos": 149})]
    assert (result.num_committable_messages, result.num_uncommittable_messages) == (150, 50)


def test_submitted_record_is_a_delivery_callback(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    failures: list[tuple[Any, Any, Any]] = []
    records.on_failure = lambda rec, err, msg: failures.append((rec, err, msg))
    ok, failed, ignored = (records.submit(P1, {"pos": i}) for i in range(3))
    ok(None, "msg")
    failed("boom", "msg")
    assert ok.acked and not failed.acked
    assert failures == [(failed, "boom", "msg")]
    records.on_failure = None
    ignored("boom", None)
    assert not ignored.acked and records.in_flight == 2
    committed = offsets_of(records.committable_offsets())
    assert committed == [(P1, {"pos": 0})], "a failed record is never committed"


def test_submit_all_returns_a_sequence_of_the_records(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    parts = [P1, P2, P1, P1, P2]
    subs = records.submit_all([impl.SourceRecord(p, {"pos": i}, "t") for i, p in enumerate(parts)])
    assert len(subs) == 5
    assert [s.source_offset["pos"] for s in subs] == [0, 1, 2, 3, 4]
    assert [s.source_partition for s in subs] == parts
    assert subs[-1].source_offset == {"pos": 4} and subs[1].source_partition == P2
    assert [s.source_offset["pos"] for s in subs[1:4]] == [1, 2, 3]
    with pytest.raises(IndexError):
        subs[5]
    # Records of a partition are committed in submission order, across the other partition's records.
    subs[2].ack()
    subs[3].ack()
    assert offsets_of(records.committable_offsets()) == []
    subs[0].ack()
    subs[4].ack()
    assert offsets_of(records.committable_offsets()) == [(P1, {"pos": 3})]
    subs[1].drop()
    got = records.committable_offsets()
    assert offsets_of(got) == [(P2, {"pos": 4})]
    assert (records.in_flight, got.num_committable_messages, got.num_uncommittable_messages) == (0, 1, 0)
    assert list(records.submit_all([])) == []


def test_submit_all_rejects_other_objects(impl: ModuleType) -> None:
    with pytest.raises((TypeError, AttributeError)):
        impl.SubmittedRecords().submit_all([object()])


def test_await_all_messages_returns_at_once_when_nothing_in_flight(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    assert records.await_all_messages(0) is True
    records.submit(P1, {"pos": 0}).ack()
    assert records.await_all_messages(0) is True


def test_await_all_messages_times_out(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    records.submit(P1, {"pos": 0})
    assert records.await_all_messages(0.01) is False


def test_await_all_messages_wakes_on_ack_from_another_thread(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    subs = [records.submit(P1, {"pos": i}) for i in range(50)]
    started = threading.Event()

    def acknowledge() -> None:
        started.wait()
        for s in reversed(subs):
            s.ack()

    thread = threading.Thread(target=acknowledge)
    thread.start()
    started.set()
    try:
        assert records.await_all_messages(30) is True
    finally:
        thread.join()
    assert records.in_flight == 0


def test_concurrent_acks_keep_an_exact_count(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    subs = [records.submit({"p": i % 7}, {"o": i}) for i in range(4000)]
    threads = [threading.Thread(target=lambda part=subs[k::4]: [s.ack() for s in part]) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert records.in_flight == 0
    result = records.committable_offsets()
    assert result.num_committable_messages == 4000
    assert dict((p["p"], o["o"]) for p, o in result.offsets.items()) == {k: 3999 - (3999 - k) % 7 for k in range(7)}


def test_committable_offsets_updated_with(impl: ModuleType) -> None:
    records = impl.SubmittedRecords()
    a = records.submit(P1, {"pos": 0})
    b = records.submit(P2, {"pos": 0})
    a.ack()
    first = records.committable_offsets()
    records.submit(P1, {"pos": 1}).ack()
    second = records.committable_offsets()
    merged = first.updated_with(second)
    assert offsets_of(merged) == [(P1, {"pos": 1})]
    assert merged.num_committable_messages == 2
    assert (merged.num_uncommittable_messages, merged.largest_deque_partition) == (1, P2)
    b.ack()
    assert CommittableOffsets.EMPTY.updated_with(records.committable_offsets()).offsets[P2] == {"pos": 0}


def test_committable_offsets_shared_between_implementations(impl: ModuleType) -> None:
    assert impl.CommittableOffsets is CommittableOffsets
    assert impl.PartitionOffsets is PartitionOffsets


# ------------------------------------------------------------------------------------ property tests

partitions = st.sampled_from([{"f": "a"}, {"f": "b"}, {"f": "c", "n": 1}, {"n": 1, "f": "c"}, None, {"x": 2}])


def canonical(p: Any) -> Any:
    return None if p is None else tuple(sorted(p.items()))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Any], list[tuple[str, int]]]:
    parts = draw(st.lists(partitions, min_size=0, max_size=40))
    n = len(parts)
    events = draw(
        st.lists(
            st.tuples(st.sampled_from(["ack", "drop", "commit"]), st.integers(0, max(n - 1, 0))),
            max_size=80,
        )
    )
    return parts, events


def model_prefix(
    parts: list[Any], state: list[str], done: set[int]
) -> tuple[dict[Any, int], int, int]:
    """The oracle: per partition, the last index of the leading run of acked records not yet committed."""
    offsets: dict[Any, int] = {}
    committable = uncommittable = 0
    by_part: dict[Any, list[int]] = {}
    for i, p in enumerate(parts):
        if i in done or state[i] == "dropped":
            continue
        by_part.setdefault(canonical(p), []).append(i)
    for key, idxs in by_part.items():
        k = 0
        while k < len(idxs) and state[idxs[k]] == "acked":
            k += 1
        if k:
            offsets[key] = idxs[k - 1]
            done.update(idxs[:k])
        committable += k
        uncommittable += len(idxs) - k
    return offsets, committable, uncommittable


@pytest.mark.parametrize("chunk", [0, 1, 3, 64],
                         ids=["submit", "submit_all-1", "submit_all-3", "submit_all-64"])
@settings(max_examples=150, deadline=None)
@given(scenario=scenarios())
def test_committable_offsets_are_the_acknowledged_prefix(chunk: int, scenario: Any) -> None:
    from kcfast import _core_py

    modules = [_core_py]
    try:
        from kcfast import _core

        modules.append(_core)
    except ImportError:  # pragma: no cover - pure-Python installation
        pass
    parts, events = scenario
    for impl in modules:
        records = impl.SubmittedRecords()
        if chunk == 0:
            subs = [records.submit(p, {"i": i}) for i, p in enumerate(parts)]
        else:
            # Batches mix partitions: each partition's records of a batch become one run.
            batch = [impl.SourceRecord(p, {"i": i}, "t") for i, p in enumerate(parts)]
            subs = [s for start in range(0, len(batch), chunk)
                    for s in records.submit_all(batch[start:start + chunk])]
        state = ["submitted"] * len(parts)
        done: set[int] = set()
        for action, i in events + [("commit", 0)]:
            if action == "commit":
                want, n_ok, n_pending = model_prefix(parts, state, done)
                got = records.committable_offsets()
                assert {canonical(p): o["i"] for p, o in got.offsets.items()} == want
                assert (got.num_committable_messages, got.num_uncommittable_messages) == (n_ok, n_pending)
            elif not parts:
                continue
            elif action == "ack":
                subs[i].ack()
                if state[i] == "submitted":
                    state[i] = "acked"
            else:
                subs[i].drop()
                if state[i] != "acked":  # an acknowledgement is final
                    state[i] = "dropped"
            assert records.in_flight == state.count("submitted")


@settings(max_examples=100, deadline=None)
@given(
    parts=st.lists(
        st.dictionaries(
            st.sampled_from(["a", "b", "c"]),
            st.one_of(st.integers(-3, 3), st.booleans(), st.sampled_from(["x", "y"]), st.just(1.0)),
            max_size=3,
        ),
        max_size=20,
    )
)
def test_both_implementations_group_partitions_alike(parts: list[dict[str, Any]]) -> None:
    from kcfast import _core_py

    try:
        from kcfast import _core
    except ImportError:  # pragma: no cover - pure-Python installation
        pytest.skip("no compiled core")
    results = []
    for impl in (_core, _core_py):
        records = impl.SubmittedRecords()
        for i, p in enumerate(parts):
            records.submit(p, {"i": i}).ack()
        got = records.committable_offsets()
        results.append(sorted(((repr(sorted(p.items())), o["i"]) for p, o in got.offsets.items())))
    assert results[0] == results[1]


# ---------------------------------------------------------------------------------------------- SinkOffsets


def sink_batch(impl: ModuleType, coords: list[tuple[str, int, int]]) -> list[Any]:
    return [impl.SinkRecord(t, p, None, None, None, o, o) for t, p, o in coords]


def test_update_sets_next_offset_per_partition(impl: ModuleType) -> None:
    offsets = impl.SinkOffsets()
    offsets.update(sink_batch(impl, [("a", 0, 5), ("a", 0, 6), ("a", 1, 3), ("b", 0, 9), ("a", 0, 7)]))
    assert offsets.consumed == {("a", 0): 8, ("a", 1): 4, ("b", 0): 10}
    assert offsets.snapshot() == offsets.consumed
    assert len(offsets) == 3 and ("a", 1) in offsets and ("c", 0) not in offsets
    offsets.update([])
    assert offsets.consumed == {("a", 0): 8, ("a", 1): 4, ("b", 0): 10}


def test_update_uses_original_coordinates(impl: ModuleType) -> None:
    offsets = impl.SinkOffsets()
    rec = impl.SinkRecord("raw", 2, None, None, None, "v", 40).new_record("routed", 0, None, None, None, "v", None)
    offsets.update([rec])
    assert offsets.consumed == {("raw", 2): 41}


def test_snapshot_is_a_copy(impl: ModuleType) -> None:
    offsets = impl.SinkOffsets()
    offsets.update(sink_batch(impl, [("a", 0, 1)]))
    snap = offsets.snapshot()
    snap[("a", 0)] = 100
    assert offsets.consumed == {("a", 0): 2}


def test_pre_commit_can_lower_and_ignores_unknown_partitions(impl: ModuleType) -> None:
    offsets = impl.SinkOffsets()
    offsets.assign({("a", 0): 0, ("a", 1): 0})
    offsets.update(sink_batch(impl, [("a", 0, 0), ("a", 0, 1), ("a", 1, 0)]))
    committable = offsets.set_committable({("a", 0): 1, ("zzz", 0): 5})
    assert committable == {("a", 0): 1, ("a", 1): 0}, "a partition left out keeps its last committed offset"
    assert offsets.committable == committable
    assert offsets.has_uncommitted()
    offsets.set_committed()
    assert offsets.last_committed == {("a", 0): 1, ("a", 1): 0}
    assert not offsets.has_uncommitted()
    assert offsets.set_committable(None) == {("a", 0): 1, ("a", 1): 0}


def test_default_pre_commit_commits_consumed(impl: ModuleType) -> None:
    offsets = impl.SinkOffsets()
    offsets.update(sink_batch(impl, [("a", 0, 10)]))
    offsets.set_committable(offsets.snapshot())
    assert offsets.committable == {("a", 0): 11}
    offsets.set_committed({("a", 0): 11, ("gone", 1): 3})
    assert offsets.last_committed == {("a", 0): 11}


def test_remove_forgets_revoked_partitions(impl: ModuleType) -> None:
    offsets = impl.SinkOffsets()
    offsets.update(sink_batch(impl, [("a", 0, 1), ("a", 1, 1)]))
    offsets.set_committable(offsets.snapshot())
    offsets.set_committed()
    offsets.remove([("a", 0), ("never", 9)])
    assert offsets.consumed == {("a", 1): 2}
    assert offsets.committable == {("a", 1): 2}
    assert offsets.last_committed == {("a", 1): 2}


def test_rewind_moves_every_view(impl: ModuleType) -> None:
    offsets = impl.SinkOffsets()
    offsets.update(sink_batch(impl, [("a", 0, 50)]))
    offsets.rewind(("a", 0), 10)
    assert offsets.consumed == offsets.committable == offsets.last_committed == {("a", 0): 10}
    offsets.update(sink_batch(impl, [("a", 0, 10)]))
    assert offsets.consumed == {("a", 0): 11}


def test_update_offset_single_partition(impl: ModuleType) -> None:
    offsets = impl.SinkOffsets()
    offsets.update_offset("a", 3, 17)
    assert offsets.consumed == {("a", 3): 17}


def test_partition_type_makes_keys(impl: ModuleType) -> None:
    from typing import NamedTuple

    class TP(NamedTuple):
        topic: str
        partition: int

    offsets = impl.SinkOffsets(TP)
    offsets.update(sink_batch(impl, [("a", 0, 1), ("b", 2, 5)]))
    keys = list(offsets.snapshot())
    assert all(type(k) is TP for k in keys)
    assert offsets.snapshot()[TP("b", 2)] == 6
    offsets.update(sink_batch(impl, [("a", 0, 2)]))
    assert type(next(iter(offsets.snapshot()))) is TP


def test_update_rejects_non_records(impl: ModuleType) -> None:
    with pytest.raises((TypeError, AttributeError)):
        impl.SinkOffsets().update([("a", 0, 1)])


@settings(max_examples=100, deadline=None)
@given(coords=st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 2), st.integers(0, 10**12)), max_size=50))
def test_sink_update_matches_last_offset_per_partition(coords: list[tuple[str, int, int]]) -> None:
    from kcfast import _core_py

    want = {(t, p): o + 1 for t, p, o in coords}
    modules = [_core_py]
    try:
        from kcfast import _core

        modules.append(_core)
    except ImportError:  # pragma: no cover
        pass
    for impl in modules:
        offsets = impl.SinkOffsets()
        offsets.update(sink_batch(impl, coords))
        assert offsets.consumed == want
