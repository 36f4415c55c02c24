"""Distributed mode: the Connect group protocol and the leader's assignors (spec section 4)."""

from __future__ import annotations

from kcfast.runtime.distributed.assignor import (
    AssignmentResult,
    AssignorState,
    ClusterAssignment,
    ConnectorsAndTasks,
    IncrementalCooperativeAssignor,
    LeaderState,
    eager_assignment,
    incremental_cooperative_assignment,
    perform_eager_assignment,
)
from kcfast.runtime.distributed.protocol import (
    CONFIG_MISMATCH,
    CONNECTOR_TASK,
    NO_ERROR,
    PROTOCOL_TYPE,
    Assignment,
    ConnectProtocolCompatibility,
    WorkerState,
    apply_assignment,
    deserialize_assignment,
    deserialize_metadata,
    metadata_request,
    serialize_assignment,
)

__all__ = [
    "CONFIG_MISMATCH",
    "CONNECTOR_TASK",
    "NO_ERROR",
    "PROTOCOL_TYPE",
    "Assignment",
    "AssignmentResult",
    "AssignorState",
    "ClusterAssignment",
    "ConnectProtocolCompatibility",
    "ConnectorsAndTasks",
    "IncrementalCooperativeAssignor",
    "LeaderState",
    "WorkerState",
    "apply_assignment",
    "deserialize_assignment",
    "deserialize_metadata",
    "eager_assignment",
    "incremental_cooperative_assignment",
    "metadata_request",
    "perform_eager_assignment",
    "serialize_assignment",
]
