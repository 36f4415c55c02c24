"""Pure-Python twin of the core's transformation fast path (``kcfast._core``'s ``_core/transforms.pyx``).

A connector's transformation chain runs over a whole batch in one call: :func:`compile_transform_plan`
turns the chain's stage descriptions (``kcfast.runtime.transforms.stage_specs``) into a plan once, and
:func:`transform_batch` runs every record of a batch through it.

Each op of a plan does what one built-in transformation or predicate does, for the records it covers
(schemaless keys and values); for any other record it calls the Python callable it stands for, which the spec
carries. When an op's own code raises, the op calls that callable too, so a record always fails with the exact
error of the Python transformation. Ops keep small caches (topic renames per topic, formatted timestamps per
period, predicate results per topic) that are cleared when they grow past :data:`CACHE_LIMIT` entries.

Thread safety: a plan belongs to one task and is used from its thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

#: Entries an op's cache holds before it is cleared.
CACHE_LIMIT = 4096

_FALLBACK: Any = object()
"""Returned by an op's ``fast`` for a record it does not cover: the Python callable handles it."""


# ------------------------------------------------------------------------------------------------ ops


class _Op:
    """An op that calls its Python callable (a stage the core does not cover)."""

    __slots__ = ("fallback",)

    def __init__(self, fallback: Callable[[Any], Any]) -> None:
        self.fallback = fallback

    def begin(self) -> None:
        """Called once before each batch."""

    def fast(self, record: Any) -> Any:
        return _FALLBACK

    def apply(self, record: Any) -> Any:
        try:
            out = self.fast(record)
        except Exception:  # noqa: BLE001 - the Python transformation raises the exact error
            out = _FALLBACK
        if out is _FALLBACK:
            return self.fallback(record)
        return out


def _rebuild(record: Any, key_side: bool, value: Any) -> Any:
    """``record`` with its key (``key_side``) or value replaced by the schemaless ``value``."""
    if key_side:
        return record.new_record(record.topic, record.kafka_partition, None, value, record.value_schema,
                                 record.value, record.timestamp, None)
    return record.new_record(record.topic, record.kafka_partition, record.key_schema, record.key, None, value,
                             record.timestamp, None)


def _operand(record: Any, key_side: bool) -> tuple[Any, Any]:
    """(schema, value) of the record's key or value."""
    if key_side:
        return record.key_schema, record.key
    return record.value_schema, record.value


class _Filter(_Op):
    __slots__ = ()

    def apply(self, record: Any) -> Any:
        return None


class _RegexRouter(_Op):
    __slots__ = ("pattern", "replacement", "replace_first", "log", "debug", "topics")

    def __init__(self, fallback: Callable[[Any], Any], pattern: Any, replacement: str, log: Any) -> None:
        from kcfast.transforms._regex import java_replace_first

        super().__init__(fallback)
        self.pattern = pattern
        self.replacement = replacement
        self.replace_first = java_replace_first
        self.log = log
        self.debug = False
        self.topics: dict[Any, Any] = {}  # topic -> new topic, or None when it does not match

    def begin(self) -> None:
        # The transformation logs every record at DEBUG: while that is on, it runs itself.
        self.debug = self.log.isEnabledFor(logging.DEBUG)

    def fast(self, record: Any) -> Any:
        if self.debug:
            return _FALLBACK
        topic = record.topic
        routed = self.topics.get(topic, _FALLBACK)
        if routed is _FALLBACK:
            routed = None
            if self.pattern.fullmatch(topic) is not None:
                routed = self.replace_first(self.pattern, topic, self.replacement)
            if len(self.topics) >= CACHE_LIMIT:
                self.topics.clear()
            self.topics[topic] = routed
        if routed is None:
            return record
        return record.new_record(routed, record.kafka_partition, record.key_schema, record.key,
                                 record.value_schema, record.value, record.timestamp)


class _TimestampRouter(_Op):
    __slots__ = ("topic_format", "format", "period", "buckets")

    def __init__(self, fallback: Callable[[Any], Any], topic_format: str, format: Callable[[int], str],
                 period: int) -> None:
        super().__init__(fallback)
        self.topic_format = topic_format
        self.format = format
        self.period = period
        # period number -> (formatted timestamp, {topic: routed topic})
        self.buckets: dict[int, tuple[str, dict[Any, str]]] = {}

    def fast(self, record: Any) -> Any:
        timestamp = record.timestamp
        if type(timestamp) is not int:
            return _FALLBACK
        bucket = timestamp // self.period
        entry = self.buckets.get(bucket)
        if entry is None:
            if len(self.buckets) >= CACHE_LIMIT:
                self.buckets.clear()
            entry = self.buckets[bucket] = (self.format(timestamp), {})
        topic = record.topic
        routed = entry[1].get(topic)
        if routed is None:
            routed = self.topic_format.replace("${topic}", topic).replace("${timestamp}", entry[0])
            if len(entry[1]) >= CACHE_LIMIT:
                entry[1].clear()
            entry[1][topic] = routed
        return record.new_record(routed, record.kafka_partition, record.key_schema, record.key,
                                 record.value_schema, record.value, timestamp)


class _InsertField(_Op):
    __slots__ = ("key_side", "topic", "partition", "offset", "timestamp", "static", "static_value")

    def __init__(self, fallback: Callable[[Any], Any], key_side: bool, topic: str | None,
                 partition: str | None, offset: str | None, timestamp: str | None, static: str | None,
                 static_value: str | None) -> None:
        super().__init__(fallback)
        self.key_side = key_side
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.static = static
        self.static_value = static_value

    def fast(self, record: Any) -> Any:
        schema, value = _operand(record, self.key_side)
        if value is None:
            return record
        if schema is not None or not isinstance(value, dict):
            return _FALLBACK
        updated = dict(value)
        if self.topic is not None:
            updated[self.topic] = record.topic
        if self.partition is not None:
            partition = record.kafka_partition
            if partition is not None:
                updated[self.partition] = partition
        if self.offset is not None:
            offset = getattr(record, "kafka_offset", _FALLBACK)
            if offset is _FALLBACK:  # not a sink record
                return _FALLBACK
            updated[self.offset] = offset
        if self.timestamp is not None:
            timestamp = record.timestamp
            if timestamp is not None:
                updated[self.timestamp] = timestamp
        if self.static is not None:
            updated[self.static] = self.static_value
        return _rebuild(record, self.key_side, updated)


class _ReplaceField(_Op):
    __slots__ = ("key_side", "exclude", "include", "renames")

    def __init__(self, fallback: Callable[[Any], Any], key_side: bool, exclude: frozenset[Any],
                 include: frozenset[Any], renames: dict[Any, Any]) -> None:
        super().__init__(fallback)
        self.key_side = key_side
        self.exclude = exclude
        self.include = include
        self.renames = renames

    def fast(self, record: Any) -> Any:
        schema, value = _operand(record, self.key_side)
        if value is None:
            return record
        if schema is not None or not isinstance(value, dict):
            return _FALLBACK
        exclude, include, renames = self.exclude, self.include, self.renames
        updated = {renames.get(k, k): v for k, v in value.items()
                   if k not in exclude and (not include or k in include)}
        return _rebuild(record, self.key_side, updated)


class _ExtractField(_Op):
    __slots__ = ("key_side", "steps")

    def __init__(self, fallback: Callable[[Any], Any], key_side: bool, steps: Sequence[str]) -> None:
        super().__init__(fallback)
        self.key_side = key_side
        self.steps = tuple(steps)

    def fast(self, record: Any) -> Any:
        schema, current = _operand(record, self.key_side)
        if schema is not None:
            return _FALLBACK
        if current is not None:
            if not isinstance(current, dict):
                return _FALLBACK
            steps = self.steps
            for step in steps[:-1]:
                current = current.get(step)
                if current is None:
                    break
                if not isinstance(current, dict):
                    return _FALLBACK
            else:
                current = current.get(steps[-1])
        return _rebuild(record, self.key_side, current)


class _HoistField(_Op):
    __slots__ = ("key_side", "field")

    def __init__(self, fallback: Callable[[Any], Any], key_side: bool, field: str) -> None:
        super().__init__(fallback)
        self.key_side = key_side
        self.field = field

    def fast(self, record: Any) -> Any:
        schema, value = _operand(record, self.key_side)
        if schema is not None:
            return _FALLBACK
        return _rebuild(record, self.key_side, {self.field: value})


class _ValueToKey(_Op):
    __slots__ = ("fields",)

    def __init__(self, fallback: Callable[[Any], Any], fields: Sequence[str]) -> None:
        super().__init__(fallback)
        self.fields = tuple(fields)

    def fast(self, record: Any) -> Any:
        value = record.value
        if record.value_schema is not None or not isinstance(value, dict):
            return _FALLBACK
        key = {name: value.get(name) for name in self.fields}
        return record.new_record(record.topic, record.kafka_partition, None, key, None, value,
                                 record.timestamp)


class _InsertHeader(_Op):
    __slots__ = ("header",)

    def __init__(self, fallback: Callable[[Any], Any], header: Any) -> None:
        super().__init__(fallback)
        self.header = header  # a kcfast.data.Header: immutable, so every record may share it

    def fast(self, record: Any) -> Any:
        headers = record.headers.duplicate()
        headers.add(self.header)
        return record.new_record(record.topic, record.kafka_partition, record.key_schema, record.key,
                                 record.value_schema, record.value, record.timestamp, headers)


class _DropHeaders(_Op):
    __slots__ = ("names", "headers_class")

    def __init__(self, fallback: Callable[[Any], Any], names: frozenset[str], headers_class: type) -> None:
        super().__init__(fallback)
        self.names = names
        self.headers_class = headers_class

    def fast(self, record: Any) -> Any:
        names = self.names
        kept = self.headers_class([h for h in record.headers if h.key not in names])
        return record.new_record(record.topic, record.kafka_partition, record.key_schema, record.key,
                                 record.value_schema, record.value, record.timestamp, kept)


# ------------------------------------------------------------------------------------------ predicates


class _Predicate:
    """A predicate that calls its Python ``test``."""

    __slots__ = ("fallback",)

    def __init__(self, fallback: Callable[[Any], Any]) -> None:
        self.fallback = fallback

    def test(self, record: Any) -> bool:
        return bool(self.fallback(record))


class _TopicNameMatches(_Predicate):
    __slots__ = ("pattern", "topics")

    def __init__(self, fallback: Callable[[Any], Any], pattern: Any) -> None:
        super().__init__(fallback)
        self.pattern = pattern
        self.topics: dict[Any, bool] = {}

    def test(self, record: Any) -> bool:
        topic = record.topic
        try:
            matched = self.topics.get(topic)
            if matched is None:
                matched = topic is not None and self.pattern.fullmatch(topic) is not None
                if len(self.topics) >= CACHE_LIMIT:
                    self.topics.clear()
                self.topics[topic] = matched
        except Exception:  # noqa: BLE001 - the Python predicate raises the exact error
            return bool(self.fallback(record))
        return matched


class _RecordIsTombstone(_Predicate):
    __slots__ = ()

    def test(self, record: Any) -> bool:
        return record.value is None


class _HasHeaderKey(_Predicate):
    __slots__ = ("name",)

    def __init__(self, fallback: Callable[[Any], Any], name: str) -> None:
        super().__init__(fallback)
        self.name = name

    def test(self, record: Any) -> bool:
        return record.headers.last_with_name(self.name) is not None


# ------------------------------------------------------------------------------------------------ plan

_OPS: dict[str, type[_Op]] = {
    "python": _Op,
    "filter": _Filter,
    "regex_router": _RegexRouter,
    "timestamp_router": _TimestampRouter,
    "insert_field": _InsertField,
    "replace_field": _ReplaceField,
    "extract_field": _ExtractField,
    "hoist_field": _HoistField,
    "value_to_key": _ValueToKey,
    "insert_header": _InsertHeader,
    "drop_headers": _DropHeaders,
}

_PREDICATES: dict[str, type[_Predicate]] = {
    "python": _Predicate,
    "topic_name_matches": _TopicNameMatches,
    "record_is_tombstone": _RecordIsTombstone,
    "has_header_key": _HasHeaderKey,
}


class _Stage:
    """One stage of a plan: the op, applied iff the predicate (if any) XOR ``negate``."""

    __slots__ = ("predicate", "negate", "op")

    def __init__(self, predicate: _Predicate | None, negate: bool, op: _Op) -> None:
        self.predicate = predicate
        self.negate = negate
        self.op = op


def _build(table: dict[str, Any], spec: Sequence[Any], what: str) -> Any:
    try:
        cls = table[spec[0]]
    except (KeyError, IndexError, TypeError):
        raise ValueError(f"Unknown {what} spec: {spec!r}") from None
    return cls(*spec[1:])


def compile_transform_plan(specs: Sequence[Sequence[Any]]) -> list[Any]:
    """The plan of a transformation chain, for :func:`transform_batch`.

    Args:
        specs: per stage ``(predicate, negate, op)``: ``predicate`` is None or ``(kind, test, *config)``
            and ``op`` is ``(kind, apply, *config)``, where ``test``/``apply`` are the Python predicate's
            ``test`` and the transformation's ``apply`` (kind ``"python"`` runs only them). Made by
            ``kcfast.runtime.transforms.stage_specs``.

    Returns:
        The plan: one opaque object per stage.

    Raises:
        ValueError: an unknown kind.
    """
    plan: list[Any] = []
    for predicate, negate, op in specs:
        plan.append(_Stage(None if predicate is None else _build(_PREDICATES, predicate, "predicate"),
                           bool(negate), _build(_OPS, op, "transformation")))
    return plan


def transform_batch(records: list[Any],
                    plan: list[Any]) -> tuple[list[Any], list[tuple[int, int, Any, Exception]]]:
    """Run every record of ``records`` through the stages of ``plan``.

    Returns:
        ``(results, failures)``: ``results`` holds one entry per record, in order: the transformed record, or
        None when a stage dropped it or failed on it. ``failures`` lists, in order, ``(position, stage,
        record, error)`` for each record a stage raised on: its position in ``records``, the index of the
        stage, the record as that stage was given it, and the error.
    """
    for stage in plan:
        stage.op.begin()
    results: list[Any] = []
    failures: list[tuple[int, int, Any, Exception]] = []
    for position, record in enumerate(records):
        index = 0
        try:
            for index, stage in enumerate(plan):  # noqa: B007 - index names the failing stage
                predicate = stage.predicate
                if predicate is not None and predicate.test(record) is stage.negate:
                    continue
                record = stage.op.apply(record)
                if record is None:
                    break
        except Exception as exc:  # noqa: BLE001 - handed back to the chain's error handling
            failures.append((position, index, record, exc))
            record = None
        results.append(record)
    return results, failures


__all__ = ["CACHE_LIMIT", "compile_transform_plan", "transform_batch"]
