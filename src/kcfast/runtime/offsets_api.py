"""The offsets REST API of a connector (KIP-875): read, alter and reset source and sink offsets.

Source offsets live in the connector's offset store (:mod:`kcfast.storage.connector_offset_store`): the worker's
store, combined in distributed mode with the connector's own ``offsets.storage.topic`` if it sets one. Reads
list the partitions found in either topic (the connector topic's value wins); alterations and resets write to
the connector topic and copy to the worker topic, tombstones reaching the worker topic first. Sink offsets are
the consumer group ``connect-<name>`` (or ``consumer.override.group.id``). The herder checks the STOPPED
precondition before calling here.
"""

from __future__ import annotations

from typing import Any

from kcfast.errors import BadRequestError, ConnectError, DataError

_ALTERED = "The offsets for this connector have been altered successfully"
_RESET = "The offsets for this connector have been reset successfully"


def _framework_message(verb: str) -> str:
    return (f"The Connect framework-managed offsets for this connector have been {verb} successfully. However, if "
            f"this connector manages offsets externally, they will need to be manually {verb} in the system that "
            "the connector uses.")


def sink_group(connector: str, props: dict[str, str]) -> str:
    return props.get("consumer.override.group.id") or f"connect-{connector}"


def _primitive(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _check_source_map(value: Any, what: str) -> None:
    if not isinstance(value, dict):
        raise DataError(f"{what} must be a map with String keys and primitive values")
    for k, v in value.items():
        if not isinstance(k, str):
            raise DataError(f"{what} keys must be Strings")
        if not _primitive(v):
            raise DataError(f"{what} values must be primitive types (found {type(v).__name__} for key {k})")


def offsets_entries(body: dict[str, Any] | None) -> list[dict[str, Any]]:
    if body is None:
        raise BadRequestError("Partitions / offsets need to be provided for an alter offsets request")
    offsets = body.get("offsets") if isinstance(body, dict) else None
    if not offsets:
        raise BadRequestError("Partitions / offsets need to be provided for an alter offsets request")
    return list(offsets)


def parse_sink_offsets(entries: list[dict[str, Any]]) -> dict[tuple[str, int], int | None]:
    """The sink offsets of a PATCH body, checked with Kafka's messages."""
    out: dict[tuple[str, int], int | None] = {}
    for entry in entries:
        partition = entry.get("partition")
        if partition is None:
            raise BadRequestError("The partition for a sink connector offset cannot be null or missing")
        if "kafka_topic" not in partition or "kafka_partition" not in partition:
            raise BadRequestError("The partition for a sink connector offset must contain the keys 'kafka_topic' "
                                  "and 'kafka_partition'")
        topic = partition["kafka_topic"]
        if not isinstance(topic, str):
            raise BadRequestError("Kafka topic names must be valid strings and may not be null")
        raw_partition = partition["kafka_partition"]
        if raw_partition is None:
            raise BadRequestError("Kafka partitions must be valid numbers and may not be null")
        try:
            part = int(str(raw_partition)) if not isinstance(raw_partition, bool) else None
        except ValueError:
            part = None
        if part is None:
            raise BadRequestError(f"Failed to parse the following Kafka partition value in the provided offsets: "
                                  f"'{raw_partition}'. Partition values for sink connectors need to be integers.")
        offset = entry.get("offset")
        if offset is None:
            out[(topic, part)] = None
            continue
        if not isinstance(offset, dict) or "kafka_offset" not in offset:
            raise BadRequestError("The offset for a sink connector should either be null or contain the key "
                                  "'kafka_offset'")
        raw_offset = offset["kafka_offset"]
        try:
            off = int(str(raw_offset)) if not isinstance(raw_offset, bool) else None
        except ValueError:
            off = None
        if off is None:
            raise BadRequestError(f"Failed to parse the following Kafka offset value in the provided offsets: "
                                  f"'{raw_offset}'. Offset values for sink connectors need to be integers.")
        out[(topic, part)] = off
    return out


def read_source_offsets(store: Any, connector: str) -> dict[str, Any]:
    """``{"offsets": [{"partition": {...}, "offset": {...}}, ...]}`` of a source connector, from its started
    offset store (the store the worker built for it; every partition with a non-null offset)."""
    from kcfast.storage.offsets import connector_offsets

    return {"offsets": [{"partition": p, "offset": o} for p, o in connector_offsets(store, connector)]}


def read_sink_offsets(admin: Any, connector: str, props: dict[str, str]) -> dict[str, Any]:
    from kcfast.kafka.clients import list_group_offsets

    offsets = list_group_offsets(admin, sink_group(connector, props))
    return {"offsets": [
        {"partition": {"kafka_topic": t, "kafka_partition": p}, "offset": {"kafka_offset": o}}
        for (t, p), o in sorted(offsets.items())
    ]}


def modify_source_offsets(store: Any, connector_obj: Any, connector: str, props: dict[str, str],
                          body: dict[str, Any] | None, timeout: float = 90.0) -> str:
    """Alter (``body``) or reset (``None``: tombstones for every known partition) a stopped source connector's
    offsets in its started offset store; returns the success message.

    Raises:
        BadRequestError: a partition is missing.
        DataError: a partition or offset is not a map of strings to primitives.
        ConnectError: the connector's ``alter_offsets`` failed, or the write failed or timed out.
    """
    from kcfast.storage.offsets import connector_offsets, serialize_offset_key, serialize_offset_value

    if body is None:
        pairs: list[tuple[dict[str, Any], dict[str, Any] | None]] = [
            (p, None) for p, _ in connector_offsets(store, connector)
        ]
    else:
        pairs = []
        for entry in offsets_entries(body):
            partition, offset = entry.get("partition"), entry.get("offset")
            if partition is None:
                raise BadRequestError("The partition for a source connector offset cannot be null or missing")
            _check_source_map(partition, "Source partition")
            if offset is not None:
                _check_source_map(offset, "Source offset")
            pairs.append((partition, offset))
    try:
        handled = bool(connector_obj.alter_offsets(dict(props), list(pairs)))
    except ConnectError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise ConnectError(f"Failed to alter offsets for connector {connector}: {exc}") from exc
    values = {serialize_offset_key(connector, p): serialize_offset_value(o) for p, o in pairs}
    if values:
        try:
            store.set(values).result(timeout)
        except TimeoutError as exc:
            raise ConnectError(
                f"Timed out while attempting to modify offsets for source connector {connector}") from exc
        except ConnectError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise ConnectError(f"Failed to modify offsets for source connector {connector}") from exc
    verb = "reset" if body is None else "altered"
    return (_RESET if body is None else _ALTERED) if handled else _framework_message(verb)


def modify_sink_offsets(admin: Any, connector_obj: Any, connector: str, props: dict[str, str],
                        body: dict[str, Any] | None) -> str:
    from kcfast.kafka.clients import alter_group_offsets, delete_group

    group = sink_group(connector, props)
    if body is None:
        try:
            handled = bool(connector_obj.alter_offsets(dict(props), {}))
        except Exception as exc:  # noqa: BLE001
            raise ConnectError(f"Failed to reset offsets for connector {connector}: {exc}") from exc
        try:
            delete_group(admin, group)
        except Exception as exc:  # noqa: BLE001
            raise ConnectError(f"Failed to reset consumer group offsets for connector {connector} either because "
                               "its tasks haven't stopped completely yet or the connector was resumed before the "
                               "request to reset its offsets could be successfully completed. If the connector is "
                               "in a stopped state, this operation can be safely retried. If it doesn't eventually "
                               f"succeed, the Connect cluster may need to be restarted to get rid of the zombie "
                               f"sink tasks. ({exc})") from exc
        return _RESET if handled else _framework_message("reset")
    offsets = parse_sink_offsets(offsets_entries(body))
    try:
        handled = bool(connector_obj.alter_offsets(dict(props), dict(offsets)))
    except Exception as exc:  # noqa: BLE001
        raise ConnectError(f"Failed to alter offsets for connector {connector}: {exc}") from exc
    try:
        alter_group_offsets(admin, group, offsets)
    except Exception as exc:  # noqa: BLE001
        raise ConnectError(f"Failed to alter consumer group offsets for connector {connector} either because its "
                           "tasks haven't stopped completely yet or the connector was resumed before the request to "
                           "alter its offsets could be successfully completed. If the connector is in a stopped "
                           "state, this operation can be safely retried. If it doesn't eventually succeed, the "
                           f"Connect cluster may need to be restarted to get rid of the zombie sink tasks. ({exc})"
                           ) from exc
    return _ALTERED if handled else _framework_message("altered")
