"""The offset store of a source connector with its own offsets topic: read, write and lifecycle rules."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

import pytest

from kcfast.errors import ConnectError
from kcfast.storage.connector_offset_store import (
    ConnectorOffsetBackingStore,
    SharedOffsetStores,
    SourceOffsetStores,
)
from kcfast.storage.memory import MemoryOffsetBackingStore
from kcfast.storage.offsets import (
    Callback,
    OffsetStorageReaderImpl,
    OffsetStorageWriter,
    serialize_offset_key,
    serialize_offset_value,
)

CONN = "src"
KEY_A = serialize_offset_key(CONN, {"file": "a"})
KEY_B = serialize_offset_key(CONN, {"file": "b"})
KEY_C = serialize_offset_key(CONN, {"file": "c"})
VAL_1 = serialize_offset_value({"position": 1})
VAL_2 = serialize_offset_value({"position": 2})
VAL_3 = serialize_offset_value({"position": 3})


class Store(MemoryOffsetBackingStore):
    """A memory store that records its writes in a shared journal and can be made to fail them."""

    def __init__(self, name: str, journal: list[tuple[str, dict[Any, Any]]] | None = None) -> None:
        super().__init__()
        self.name = name
        self.journal = journal if journal is not None else []
        self.fail = False
        self.starts = 0
        self.stops = 0

    def start(self) -> None:
        self.starts += 1
        super().start()

    def stop(self) -> None:
        self.stops += 1
        super().stop()

    def set(
        self, values: Mapping[bytes | None, bytes | None], callback: Callback | None = None
    ) -> Future[None]:
        self.journal.append((self.name, dict(values)))
        if self.fail:
            error = ConnectError(f"{self.name} is down")
            if callback is not None:
                callback(error, None)
            future: Future[None] = Future()
            future.set_exception(error)
            return future
        return super().set(values, callback)


class Outcome:
    """A set() callback that remembers what it was told."""

    def __init__(self) -> None:
        self.calls: list[BaseException | None] = []

    def __call__(self, error: BaseException | None, _result: Any) -> None:
        self.calls.append(error)


@pytest.fixture
def journal() -> list[tuple[str, dict[Any, Any]]]:
    return []


@pytest.fixture
def worker(journal: list[tuple[str, dict[Any, Any]]]) -> Store:
    return Store("worker", journal)


@pytest.fixture
def connector(journal: list[tuple[str, dict[Any, Any]]]) -> Store:
    return Store("connector", journal)


@pytest.fixture
def combined(worker: Store, connector: Store) -> ConnectorOffsetBackingStore:
    return ConnectorOffsetBackingStore.with_connector_and_worker_stores(
        worker, connector, "own-offsets", CONN
    )


# -- reads -------------------------------------------------------------------------------------------------


def test_reads_prefer_the_connector_store_and_fall_back_on_the_worker_store(
    worker: Store, connector: Store, combined: ConnectorOffsetBackingStore
) -> None:
    worker.set({KEY_A: VAL_1, KEY_B: VAL_1})
    connector.set({KEY_A: VAL_2})
    assert combined.get([KEY_A, KEY_B, KEY_C]) == {KEY_A: VAL_2, KEY_B: VAL_1, KEY_C: None}


def test_a_reader_on_the_combined_store_finds_offsets_written_before_the_topic_was_set(
    worker: Store, combined: ConnectorOffsetBackingStore
) -> None:
    writer = OffsetStorageWriter(worker, CONN)
    writer.offset({"file": "b"}, {"position": 7})
    assert writer.begin_flush()
    writer.do_flush().result(5)  # type: ignore[union-attr]
    reader = OffsetStorageReaderImpl(combined, CONN)
    assert reader.offset({"file": "b"}) == {"position": 7}
    assert reader.offset({"file": "a"}) is None


def test_partitions_are_those_of_either_store_without_duplicates(
    worker: Store, connector: Store, combined: ConnectorOffsetBackingStore
) -> None:
    worker.set({KEY_A: VAL_1, KEY_B: VAL_1, serialize_offset_key("other", {"file": "z"}): VAL_1})
    connector.set({KEY_A: VAL_2, KEY_C: VAL_3})
    partitions = combined.connector_partitions(CONN)
    assert sorted(p["file"] for p in partitions) == ["a", "b", "c"]


# -- writes ------------------------------------------------------------------------------------------------


def test_offsets_go_to_the_connector_store_then_are_copied_to_the_worker_store(
    worker: Store, connector: Store, combined: ConnectorOffsetBackingStore, journal: list[Any]
) -> None:
    outcome = Outcome()
    combined.set({KEY_A: VAL_1, KEY_B: VAL_2}, outcome).result(5)
    assert outcome.calls == [None]
    assert journal == [("connector", {KEY_A: VAL_1, KEY_B: VAL_2}), ("worker", {KEY_A: VAL_1, KEY_B: VAL_2})]
    assert connector.entries() == worker.entries() == {KEY_A: VAL_1, KEY_B: VAL_2}


def test_a_failed_copy_to_the_worker_store_is_only_logged(
    worker: Store, connector: Store, combined: ConnectorOffsetBackingStore, caplog: pytest.LogCaptureFixture
) -> None:
    worker.fail = True
    outcome = Outcome()
    with caplog.at_level(logging.WARNING):
        combined.set({KEY_A: VAL_1}, outcome).result(5)
    assert outcome.calls == [None]
    assert connector.entries() == {KEY_A: VAL_1}
    assert "Failed to write offsets to secondary backing store" in caplog.text


def test_a_failed_connector_store_write_fails_the_write_and_is_not_copied(
    worker: Store, connector: Store, combined: ConnectorOffsetBackingStore, journal: list[Any]
) -> None:
    connector.fail = True
    outcome = Outcome()
    future = combined.set({KEY_A: VAL_1}, outcome)
    with pytest.raises(ConnectError, match="connector is down"):
        future.result(5)
    assert len(outcome.calls) == 1 and isinstance(outcome.calls[0], ConnectError)
    assert [name for name, _ in journal] == ["connector"]
    assert worker.entries() == {}


def test_tombstones_reach_the_worker_store_first_then_everything_the_connector_store(
    worker: Store, connector: Store, combined: ConnectorOffsetBackingStore, journal: list[Any]
) -> None:
    worker.set({KEY_B: VAL_1})
    connector.set({KEY_B: VAL_1})
    journal.clear()
    combined.set({KEY_A: VAL_2, KEY_B: None}, Outcome()).result(5)
    assert journal == [
        ("worker", {KEY_B: None}),
        ("connector", {KEY_A: VAL_2, KEY_B: None}),
        ("worker", {KEY_A: VAL_2}),
    ]
    assert combined.get([KEY_A, KEY_B]) == {KEY_A: VAL_2, KEY_B: None}
    assert [p["file"] for p in combined.connector_partitions(CONN)] == ["a"]


def test_a_failed_tombstone_write_to_the_worker_store_fails_the_write_before_the_connector_store(
    worker: Store, connector: Store, combined: ConnectorOffsetBackingStore, journal: list[Any]
) -> None:
    worker.fail = True
    outcome = Outcome()
    future = combined.set({KEY_A: VAL_2, KEY_B: None}, outcome)
    with pytest.raises(ConnectError, match="worker is down"):
        future.result(5)
    assert len(outcome.calls) == 1 and outcome.calls[0] is not None
    assert journal == [("worker", {KEY_B: None})]
    assert connector.entries() == {}


def test_a_failed_connector_write_after_the_tombstones_leaves_the_values_out_of_the_worker_store(
    worker: Store, connector: Store, combined: ConnectorOffsetBackingStore, journal: list[Any]
) -> None:
    connector.fail = True
    outcome = Outcome()
    with pytest.raises(ConnectError, match="connector is down"):
        combined.set({KEY_A: VAL_2, KEY_B: None}, outcome).result(5)
    assert len(outcome.calls) == 1 and outcome.calls[0] is not None
    assert [name for name, _ in journal] == ["worker", "connector"]
    assert worker.entries() == {KEY_B: None}


def test_a_store_that_raises_instead_of_reporting_fails_the_write() -> None:
    class Raising(MemoryOffsetBackingStore):
        def set(
            self, values: Mapping[bytes | None, bytes | None], callback: Callback | None = None
        ) -> Future[None]:
            raise ConnectError("not started")

    combined = ConnectorOffsetBackingStore.with_connector_and_worker_stores(
        MemoryOffsetBackingStore(), Raising(), "own", CONN)
    outcome = Outcome()
    with pytest.raises(ConnectError, match="not started"):
        combined.set({KEY_A: VAL_1}, outcome).result(5)
    assert len(outcome.calls) == 1


def test_writes_complete_on_started_stores_threads(worker: Store, connector: Store) -> None:
    worker.start()
    connector.start()
    try:
        combined = ConnectorOffsetBackingStore.with_connector_and_worker_stores(
            worker, connector, "own", CONN
        )
        writer = OffsetStorageWriter(combined, CONN)
        writer.offset({"file": "a"}, {"position": 5})
        writer.offset({"file": "b"}, None)
        assert writer.begin_flush()
        writer.do_flush().result(5)  # type: ignore[union-attr]
        assert connector.entries() == {KEY_A: serialize_offset_value({"position": 5}), KEY_B: None}
    finally:
        connector.stop()
        worker.stop()
    # the copy to the worker store was submitted before the write completed and finished before stop returned
    assert worker.entries() == {KEY_A: serialize_offset_value({"position": 5}), KEY_B: None}


def test_with_only_the_worker_store_everything_goes_there(worker: Store, journal: list[Any]) -> None:
    only = ConnectorOffsetBackingStore.with_only_worker_store(worker, "connect-offsets", CONN)
    outcome = Outcome()
    only.set({KEY_A: VAL_1, KEY_B: None}, outcome).result(5)
    assert outcome.calls == [None]
    assert journal == [("worker", {KEY_A: VAL_1, KEY_B: None})]
    assert only.get([KEY_A]) == {KEY_A: VAL_1}
    assert not only.has_connector_specific_store and only.has_worker_global_store
    assert only.primary_offsets_topic == "connect-offsets"


def test_with_only_the_connector_store_nothing_is_copied(connector: Store, journal: list[Any]) -> None:
    only = ConnectorOffsetBackingStore.with_only_connector_store(connector, "own", CONN)
    only.set({KEY_A: VAL_1, KEY_B: None}).result(5)
    assert journal == [("connector", {KEY_A: VAL_1, KEY_B: None})]
    assert only.has_connector_specific_store and not only.has_worker_global_store


def test_start_and_stop_touch_only_the_connector_store(
    worker: Store, connector: Store, combined: ConnectorOffsetBackingStore
) -> None:
    combined.start()
    combined.stop()
    assert (connector.starts, connector.stops) == (1, 1)
    assert (worker.starts, worker.stops) == (0, 0)


def test_a_store_needs_at_least_one_part() -> None:
    with pytest.raises(ValueError, match="At least one non-null offset store"):
        ConnectorOffsetBackingStore(None, None)


# -- shared stores per topic -------------------------------------------------------------------------------


def test_connectors_naming_one_topic_share_one_store_started_once_and_stopped_by_the_last() -> None:
    built: list[Store] = []

    def factory(topic: str, _config: Mapping[str, Any]) -> Store:
        built.append(Store(topic))
        return built[-1]

    shared = SharedOffsetStores(factory)
    first, second = shared.lease("own"), shared.lease("own")
    first.start()
    second.start()
    assert len(built) == 1 and built[0].starts == 1 and shared.users("own") == 2
    first.set({KEY_A: VAL_1}).result(5)
    assert second.get([KEY_A]) == {KEY_A: VAL_1}
    first.stop()
    first.stop()  # stopping twice gives back one share only
    assert built[0].stops == 0 and shared.users("own") == 1
    second.stop()
    assert built[0].stops == 1 and shared.users("own") == 0
    with pytest.raises(ConnectError, match="not started"):
        second.get([KEY_A])
    again = shared.lease("own")
    again.start()
    assert len(built) == 2 and built[1].starts == 1
    shared.close()
    assert built[1].stops == 1


def test_the_same_topic_name_on_another_cluster_is_another_store() -> None:
    built: list[tuple[str, dict[str, Any]]] = []

    def factory(topic: str, config: Mapping[str, Any]) -> Store:
        built.append((topic, dict(config)))
        return Store(topic)

    shared = SharedOffsetStores(factory)
    shared.lease("own", {"bootstrap.servers": "a:9092"}).start()
    shared.lease("own", {"bootstrap.servers": "b:9092"}).start()
    assert built == [("own", {"bootstrap.servers": "a:9092"}), ("own", {"bootstrap.servers": "b:9092"})]
    shared.close()


def test_a_store_that_fails_to_start_is_not_kept() -> None:
    attempts: list[Store] = []

    class Failing(Store):
        def start(self) -> None:
            raise ConnectError("cannot create topic")

    def factory(topic: str, _config: Mapping[str, Any]) -> Store:
        attempts.append(Failing(topic) if not attempts else Store(topic))
        return attempts[-1]

    shared = SharedOffsetStores(factory)
    with pytest.raises(ConnectError, match="cannot create topic"):
        shared.lease("own").start()
    assert shared.users("own") == 0
    lease = shared.lease("own")
    lease.start()
    assert len(attempts) == 2 and shared.users("own") == 1
    lease.stop()


def test_concurrent_first_users_start_the_store_once() -> None:
    gate = threading.Event()
    built: list[Store] = []

    class Slow(Store):
        def start(self) -> None:
            gate.wait(5)
            super().start()

    def factory(topic: str, _config: Mapping[str, Any]) -> Store:
        built.append(Slow(topic))
        return built[-1]

    shared = SharedOffsetStores(factory)
    leases = [shared.lease("own") for _ in range(4)]
    threads = [threading.Thread(target=lease.start) for lease in leases]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(5)
    assert len(built) == 1 and built[0].starts == 1 and shared.users("own") == 4
    for lease in leases:
        lease.stop()
    assert built[0].stops == 1


# -- which store a connector gets --------------------------------------------------------------------------

WORKER_PROPS = {"bootstrap.servers": "k1:9092,k2:9092", "offset.storage.topic": "connect-offsets",
                "group.id": "g", "security.protocol": "PLAINTEXT", "key.converter": "x"}


@pytest.fixture
def built() -> list[tuple[str, dict[str, Any]]]:
    return []


def stores(
    worker: Store, built: list[tuple[str, dict[str, Any]]], permitted: bool = True
) -> SourceOffsetStores:
    def factory(topic: str, config: Mapping[str, Any]) -> Store:
        built.append((topic, dict(config)))
        return Store(topic)

    return SourceOffsetStores(WORKER_PROPS, worker, permitted=permitted, factory=factory)


def test_a_distributed_connector_with_its_own_topic_gets_both_stores(
    worker: Store, built: list[tuple[str, dict[str, Any]]]
) -> None:
    chooser = stores(worker, built)
    store = chooser.store_for(CONN, {"offsets.storage.topic": "own-offsets"})
    assert store.has_connector_specific_store and store.has_worker_global_store
    assert store.primary_offsets_topic == "own-offsets"
    store.start()
    client = {"bootstrap.servers": "k1:9092,k2:9092", "security.protocol": "PLAINTEXT"}
    assert built == [("own-offsets", client)]
    store.stop()


def test_without_the_key_or_in_standalone_mode_only_the_worker_store_is_used(
    worker: Store, built: list[tuple[str, dict[str, Any]]]
) -> None:
    plain = stores(worker, built).store_for(CONN, {"offsets.storage.topic": "  "})
    assert not plain.has_connector_specific_store
    standalone = stores(worker, built, permitted=False).store_for(CONN, {"offsets.storage.topic": "own"})
    assert not standalone.has_connector_specific_store and standalone.has_worker_global_store
    standalone.start()
    assert built == []


def test_the_worker_topic_on_the_worker_cluster_is_the_worker_store(
    worker: Store, built: list[tuple[str, dict[str, Any]]]
) -> None:
    chooser = stores(worker, built)
    same = chooser.store_for(CONN, {"offsets.storage.topic": "connect-offsets",
                                    "producer.override.bootstrap.servers": "k2:9092, k1:9092"})
    assert not same.has_connector_specific_store
    elsewhere = chooser.store_for(CONN, {"offsets.storage.topic": "connect-offsets",
                                         "producer.override.bootstrap.servers": "other:9092"})
    assert elsewhere.has_connector_specific_store
    elsewhere.start()
    client = {"bootstrap.servers": "other:9092", "security.protocol": "PLAINTEXT"}
    assert built == [("connect-offsets", client)]
    elsewhere.stop()


def test_worker_config_decides_whether_own_topics_are_permitted(worker: Store) -> None:
    from kcfast.config import WorkerConfig

    distributed = WorkerConfig({**WORKER_PROPS, "config.storage.topic": "c", "status.storage.topic": "s",
                                "value.converter": "x"}, distributed=True)
    assert SourceOffsetStores(distributed, worker).permitted
    standalone = WorkerConfig({"offset.storage.file.filename": "/tmp/o", "key.converter": "x",
                               "value.converter": "x"})
    assert not SourceOffsetStores(standalone, worker).permitted


def test_owners_open_and_close_their_stores(worker: Store, built: list[tuple[str, dict[str, Any]]]) -> None:
    chooser = stores(worker, built)
    props = {"offsets.storage.topic": "own"}
    chooser.open("conn", CONN, props)
    chooser.open(("conn", 0), CONN, props)
    assert chooser.shared.users("own") == 2
    chooser.open(("conn", 0), CONN, props)  # a second open replaces the first
    assert chooser.shared.users("own") == 2
    old = chooser.held("conn")
    chooser.open("conn", CONN, props)  # a newer instance of the connector
    chooser.close("conn", old)  # the late close of the older instance leaves the newer one's store open
    assert chooser.held("conn") is not None and chooser.shared.users("own") == 2
    chooser.close("conn")
    assert chooser.held("conn") is None and chooser.shared.users("own") == 1
    with chooser.opened(CONN, props) as store:
        assert chooser.shared.users("own") == 2
        store.set({KEY_A: VAL_1}).result(5)
    assert chooser.shared.users("own") == 1
    chooser.close_all()
    assert chooser.shared.users("own") == 0
    assert len(built) == 1
