"""The Connect group protocol: member metadata and assignments, byte for byte (spec section 4).

Workers join the group ``group.id`` with protocol type ``connect`` and offer one or more sub-protocols:
``default`` (eager, version 0), ``compatible`` (incremental cooperative, version 1) and ``sessioned``
(version 2, adds request signing). The bytes use Kafka's protocol types, big-endian: INT16, INT32, INT64,
STRING (INT16 length + UTF-8), NULLABLE_BYTES (INT32 length, -1 = null) and ARRAY (INT32 count, -1 = null
where nullable).

Member metadata::

    v0:     INT16 version | STRING url | INT64 config offset
    v1/v2:  INT16 version | STRING url | INT64 config offset | NULLABLE_BYTES allocation

where the allocation is the worker's current assignment, serialized as an assignment of the same version.

Assignment::

    v0:     INT16 version | INT16 error | STRING leader | STRING leader url | INT64 config offset
            | ARRAY<connector assignment> assigned
    v1/v2:  ... as v0, the array nullable | nullable ARRAY<connector assignment> revoked | INT32 delay

    connector assignment: STRING connector | ARRAY<INT32> tasks   (task -1 stands for the connector itself)

Readers accept a version >= 0 (a newer one is read as the newest known layout) and take missing trailing
fields of v1/v2 as their defaults (null arrays, delay 0); trailing bytes are ignored.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kcfast.errors import ConnectError
from kcfast.runtime.status import ConnectorTaskId

__all__ = [
    "CONFIG_MISMATCH",
    "CONNECTOR_TASK",
    "CONNECT_PROTOCOL_V0",
    "CONNECT_PROTOCOL_V1",
    "CONNECT_PROTOCOL_V2",
    "NO_ERROR",
    "PROTOCOL_TYPE",
    "Assignment",
    "ConnectProtocolCompatibility",
    "WorkerState",
    "apply_assignment",
    "assignment_of",
    "deserialize_assignment",
    "deserialize_metadata",
    "metadata_request",
    "serialize_assignment",
    "serialize_eager_assignment",
    "serialize_eager_metadata",
    "serialize_incremental_assignment",
    "serialize_incremental_metadata",
]

#: JoinGroup protocol type of Connect workers.
PROTOCOL_TYPE = "connect"
CONNECT_PROTOCOL_V0 = 0
CONNECT_PROTOCOL_V1 = 1
CONNECT_PROTOCOL_V2 = 2
#: Task number that stands for the Connector instance in an assignment.
CONNECTOR_TASK = -1
#: Assignment error codes.
NO_ERROR = 0
CONFIG_MISMATCH = 1


class ConnectProtocolCompatibility(enum.Enum):
    """``connect.protocol`` modes, with their protocol name on the wire and version."""

    EAGER = ("default", CONNECT_PROTOCOL_V0)
    COMPATIBLE = ("compatible", CONNECT_PROTOCOL_V1)
    SESSIONED = ("sessioned", CONNECT_PROTOCOL_V2)

    @property
    def protocol(self) -> str:
        """The sub-protocol name in JoinGroup (``default``, ``compatible``, ``sessioned``)."""
        return self.value[0]

    @property
    def version(self) -> int:
        """The metadata and assignment version of this mode."""
        return self.value[1]

    @classmethod
    def from_config(cls, name: str) -> ConnectProtocolCompatibility:
        """The mode named by ``connect.protocol`` (``eager``, ``compatible``, ``sessioned``; any case).

        Raises:
            ValueError: ``Unknown Connect protocol compatibility mode: <name>``.
        """
        for mode in cls:
            if mode.name.lower() == str(name).lower():
                return mode
        raise ValueError(f"Unknown Connect protocol compatibility mode: {name}")

    @classmethod
    def from_protocol(cls, protocol: str) -> ConnectProtocolCompatibility:
        """The mode whose wire name is ``protocol`` (any case).

        Raises:
            ValueError: ``Not found Connect protocol compatibility mode for protocol: <protocol>``.
        """
        for mode in cls:
            if mode.protocol.lower() == str(protocol).lower():
                return mode
        raise ValueError(f"Not found Connect protocol compatibility mode for protocol: {protocol}")

    @classmethod
    def from_version(cls, version: int) -> ConnectProtocolCompatibility:
        """The mode of a protocol version.

        Raises:
            ValueError: no mode has that version.
        """
        for mode in cls:
            if mode.version == version:
                return mode
        raise ValueError(f"Not found Connect protocol compatibility mode for version: {version}")


@dataclass(frozen=True)
class Assignment:
    """What the leader assigned to a member (all versions; v0 has no revocations and no delay).

    Attributes:
        version: the protocol version it was (or is to be) serialized with.
        error: ``NO_ERROR`` or ``CONFIG_MISMATCH``.
        leader: member id of the leader.
        leader_url: REST URL of the leader.
        offset: config offset the assignment was computed at.
        connectors: connectors assigned (in v1/v2: newly assigned).
        tasks: tasks assigned (in v1/v2: newly assigned).
        revoked_connectors: connectors to stop (v1/v2).
        revoked_tasks: tasks to stop (v1/v2).
        delay: milliseconds after which members should rejoin (v1/v2; 0 = none scheduled).
    """

    version: int
    error: int
    leader: str
    leader_url: str
    offset: int
    connectors: tuple[str, ...] = ()
    tasks: tuple[ConnectorTaskId, ...] = ()
    revoked_connectors: tuple[str, ...] = ()
    revoked_tasks: tuple[ConnectorTaskId, ...] = ()
    delay: int = 0

    @property
    def failed(self) -> bool:
        """Whether the leader could not make an assignment (the member must catch up and rejoin)."""
        return self.error != NO_ERROR


@dataclass(frozen=True)
class WorkerState:
    """A member's JoinGroup metadata.

    Attributes:
        url: the worker's advertised REST URL.
        offset: the config offset the worker has read up to.
        assignment: the worker's current assignment (v1/v2 only; ``None`` = null allocation).
    """

    url: str
    offset: int
    assignment: Assignment | None = field(default=None)


# -- writing -------------------------------------------------------------------------------------------------


class _Writer:
    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def int16(self, value: int) -> None:
        self._parts.append(struct.pack(">h", value))

    def int32(self, value: int) -> None:
        self._parts.append(struct.pack(">i", value))

    def int64(self, value: int) -> None:
        self._parts.append(struct.pack(">q", value))

    def string(self, value: str, name: str) -> None:
        if value is None:
            raise ConnectError(f"Missing value for field '{name}' which has no default value.")
        data = value.encode("utf-8")
        if len(data) > 32767:
            raise ConnectError(f"String length {len(data)} is larger than the maximum string length.")
        self.int16(len(data))
        self._parts.append(data)

    def nullable_bytes(self, value: bytes | None) -> None:
        if value is None:
            self.int32(-1)
        else:
            self.int32(len(value))
            self._parts.append(value)

    def connector_assignments(self, entries: list[tuple[str, list[int]]] | None) -> None:
        if entries is None:
            self.int32(-1)
            return
        self.int32(len(entries))
        for connector, tasks in entries:
            self.string(connector, "connector")
            self.int32(len(tasks))
            for task in tasks:
                self.int32(task)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


def _as_map(connectors: Iterable[str], tasks: Iterable[ConnectorTaskId]) -> list[tuple[str, list[int]]]:
    """Connector -> task numbers: connectors first (with task -1), then tasks grouped by connector."""
    grouped: dict[str, list[int]] = {}
    for connector in dict.fromkeys(connectors):
        grouped.setdefault(connector, []).append(CONNECTOR_TASK)
    for task in tasks:
        grouped.setdefault(task.connector, []).append(task.task)
    return list(grouped.items())


def serialize_eager_metadata(state: WorkerState) -> bytes:
    """Member metadata of the ``default`` (v0) protocol."""
    w = _Writer()
    w.int16(CONNECT_PROTOCOL_V0)
    w.string(state.url, "url")
    w.int64(state.offset)
    return w.getvalue()


def serialize_incremental_metadata(state: WorkerState, sessioned: bool) -> bytes:
    """Member metadata of the ``compatible`` (v1) or ``sessioned`` (v2) protocol."""
    w = _Writer()
    w.int16(CONNECT_PROTOCOL_V2 if sessioned else CONNECT_PROTOCOL_V1)
    w.string(state.url, "url")
    w.int64(state.offset)
    w.nullable_bytes(serialize_incremental_assignment(state.assignment, sessioned))
    return w.getvalue()


def metadata_request(state: WorkerState, mode: ConnectProtocolCompatibility) -> list[tuple[str, bytes]]:
    """The ``(protocol name, metadata)`` pairs a worker offers in JoinGroup, most preferred first."""
    protocols: list[tuple[str, bytes]] = []
    if mode is ConnectProtocolCompatibility.SESSIONED:
        protocols.append((mode.protocol, serialize_incremental_metadata(state, True)))
    if mode in (ConnectProtocolCompatibility.SESSIONED, ConnectProtocolCompatibility.COMPATIBLE):
        protocols.append(
            (ConnectProtocolCompatibility.COMPATIBLE.protocol, serialize_incremental_metadata(state, False))
        )
    protocols.append((ConnectProtocolCompatibility.EAGER.protocol, serialize_eager_metadata(state)))
    return protocols


def serialize_eager_assignment(assignment: Assignment) -> bytes:
    """A v0 assignment (revocations and delay are not part of v0)."""
    w = _Writer()
    w.int16(CONNECT_PROTOCOL_V0)
    w.int16(assignment.error)
    w.string(assignment.leader, "leader")
    w.string(assignment.leader_url, "leader-url")
    w.int64(assignment.offset)
    w.connector_assignments(_as_map(assignment.connectors, assignment.tasks))
    return w.getvalue()


def serialize_incremental_assignment(assignment: Assignment | None, sessioned: bool) -> bytes | None:
    """A v1 (``sessioned`` false) or v2 assignment; ``None`` for no assignment (a null allocation)."""
    if assignment is None:
        return None
    w = _Writer()
    w.int16(CONNECT_PROTOCOL_V2 if sessioned else CONNECT_PROTOCOL_V1)
    w.int16(assignment.error)
    w.string(assignment.leader, "leader")
    w.string(assignment.leader_url, "leader-url")
    w.int64(assignment.offset)
    w.connector_assignments(_as_map(assignment.connectors, assignment.tasks))
    w.connector_assignments(_as_map(assignment.revoked_connectors, assignment.revoked_tasks))
    w.int32(assignment.delay)
    return w.getvalue()


def serialize_assignment(assignment: Assignment, protocol_version: int) -> bytes:
    """An assignment in the layout of ``protocol_version`` (0: eager, 1: compatible, 2: sessioned)."""
    if protocol_version == CONNECT_PROTOCOL_V0:
        return serialize_eager_assignment(assignment)
    data = serialize_incremental_assignment(assignment, protocol_version >= CONNECT_PROTOCOL_V2)
    assert data is not None
    return data


# -- reading -------------------------------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self._data = memoryview(bytes(data))
        self._pos = 0

    @property
    def exhausted(self) -> bool:
        return self._pos >= len(self._data)

    def _take(self, size: int, name: str) -> memoryview:
        end = self._pos + size
        if size < 0 or end > len(self._data):
            raise ConnectError(f"Error reading field '{name}': buffer underflow")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def int16(self, name: str) -> int:
        return int(struct.unpack(">h", self._take(2, name))[0])

    def int32(self, name: str) -> int:
        return int(struct.unpack(">i", self._take(4, name))[0])

    def int64(self, name: str) -> int:
        return int(struct.unpack(">q", self._take(8, name))[0])

    def string(self, name: str) -> str:
        size = self.int16(name)
        if size < 0:
            raise ConnectError(f"Error reading field '{name}': String length {size} cannot be negative")
        try:
            return bytes(self._take(size, name)).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConnectError(f"Error reading field '{name}': invalid UTF-8") from exc

    def nullable_bytes(self, name: str) -> bytes | None:
        size = self.int32(name)
        if size < 0:
            return None
        return bytes(self._take(size, name))

    def connector_assignments(self, name: str, nullable: bool) -> list[tuple[str, list[int]]] | None:
        count = self.int32(name)
        if count < 0:
            if nullable:
                return None
            raise ConnectError(f"Error reading field '{name}': Array size {count} cannot be negative")
        entries: list[tuple[str, list[int]]] = []
        for _ in range(count):
            connector = self.string("connector")
            size = self.int32("tasks")
            if size < 0:
                raise ConnectError(f"Error reading field 'tasks': Array size {size} cannot be negative")
            entries.append((connector, [self.int32("tasks") for _ in range(size)]))
        return entries


def _check_version(version: int) -> None:
    if version < CONNECT_PROTOCOL_V0:
        raise ConnectError(f"Unsupported subscription version: {version}")


def _split(
    entries: list[tuple[str, list[int]]] | None,
) -> tuple[tuple[str, ...], tuple[ConnectorTaskId, ...]]:
    connectors: list[str] = []
    tasks: list[ConnectorTaskId] = []
    for connector, numbers in entries or []:
        for number in numbers:
            if number == CONNECTOR_TASK:
                connectors.append(connector)
            else:
                tasks.append(ConnectorTaskId(connector, number))
    return tuple(connectors), tuple(tasks)


def deserialize_metadata(data: bytes) -> WorkerState:
    """Read member metadata of any version (a v0 one has no allocation).

    Raises:
        ConnectError: the bytes are malformed or the version is negative.
    """
    r = _Reader(data)
    version = r.int16("version")
    _check_version(version)
    url = r.string("url")
    offset = r.int64("config-offset")
    allocation = None if r.exhausted else r.nullable_bytes("allocation")
    return WorkerState(url, offset, deserialize_assignment(allocation) if allocation is not None else None)


def deserialize_assignment(data: bytes) -> Assignment:
    """Read an assignment of any version (missing v1 trailing fields take their defaults).

    Raises:
        ConnectError: the bytes are malformed or the version is negative.
    """
    r = _Reader(data)
    version = r.int16("version")
    _check_version(version)
    error = r.int16("error")
    leader = r.string("leader")
    leader_url = r.string("leader-url")
    offset = r.int64("config-offset")
    assigned = None if r.exhausted else r.connector_assignments("assignment", nullable=True)
    revoked = None if r.exhausted else r.connector_assignments("revoked", nullable=True)
    delay = 0 if r.exhausted else r.int32("delay")
    connectors, tasks = _split(assigned)
    revoked_connectors, revoked_tasks = _split(revoked)
    return Assignment(
        version,
        error,
        leader,
        leader_url,
        offset,
        connectors,
        tasks,
        revoked_connectors,
        revoked_tasks,
        delay,
    )


def apply_assignment(current: Assignment | None, new: Assignment, incremental: bool) -> Assignment:
    """A member's assignment after receiving ``new``.

    Eager: ``new`` is complete. Incremental: ``new`` lists what is added; the member keeps ``current`` minus
    the revoked items, after the new ones (the result keeps ``new``'s revocations, leader and delay, which is
    what a worker sends back as its allocation in the next JoinGroup).
    """
    if not incremental or current is None:
        return new
    revoked_connectors = set(new.revoked_connectors)
    revoked_tasks = set(new.revoked_tasks)
    kept_connectors = [c for c in current.connectors if c not in revoked_connectors]
    kept_tasks = [t for t in current.tasks if t not in revoked_tasks]
    return Assignment(
        new.version,
        new.error,
        new.leader,
        new.leader_url,
        new.offset,
        tuple(new.connectors) + tuple(kept_connectors),
        tuple(new.tasks) + tuple(kept_tasks),
        new.revoked_connectors,
        new.revoked_tasks,
        new.delay,
    )


def assignment_of(
    version: int,
    error: int,
    leader: str,
    leader_url: str,
    offset: int,
    connectors: Sequence[str] = (),
    tasks: Sequence[ConnectorTaskId] = (),
    revoked_connectors: Sequence[str] = (),
    revoked_tasks: Sequence[ConnectorTaskId] = (),
    delay: int = 0,
) -> Assignment:
    """An :class:`Assignment` from any sequences (a convenience for the assignors)."""
    return Assignment(
        version,
        error,
        leader,
        leader_url,
        offset,
        tuple(connectors),
        tuple(tasks),
        tuple(revoked_connectors),
        tuple(revoked_tasks),
        delay,
    )
