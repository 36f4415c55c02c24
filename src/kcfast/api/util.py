"""Helpers for connector authors (Java ``ConnectorUtils``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def group_partitions(elements: Sequence[T], num_groups: int) -> list[list[T]]:
    """Split ``elements`` into ``num_groups`` contiguous groups whose sizes differ by at most one.

    The first ``len(elements) % num_groups`` groups get one element more; groups may be empty. This is how a
    connector divides its work in :meth:`~kcfast.api.Connector.task_configs`.

    Raises:
        ValueError: ``num_groups`` is not positive.
    """
    if num_groups <= 0:
        raise ValueError("Number of groups must be positive.")
    per_group, leftover = divmod(len(elements), num_groups)
    result: list[list[T]] = []
    start = 0
    for group in range(num_groups):
        size = per_group + 1 if group < leftover else per_group
        result.append(list(elements[start : start + size]))
        start += size
    return result


__all__ = ["group_partitions"]
