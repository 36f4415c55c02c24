"""Shared fixtures: the two implementations of the record core, and a Kafka broker for integration tests."""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Iterator
from types import ModuleType

import pytest

from kcfast.testing import EmbeddedKafka

NO_EXTENSIONS = os.environ.get("KCFAST_NO_EXTENSIONS", "") in ("1", "true", "yes")


@pytest.fixture(params=["cython", "python"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    """The compiled core and its pure-Python twin, in turn: every core test runs against both."""
    if request.param == "python":
        return importlib.import_module("kcfast._core_py")
    if NO_EXTENSIONS:
        pytest.skip("KCFAST_NO_EXTENSIONS=1: the compiled core is not under test in this run")
    return importlib.import_module("kcfast._core")


@pytest.fixture(scope="session")
def kafka() -> Iterator[EmbeddedKafka]:
    """A Kafka broker for the whole session: ``KCFAST_BOOTSTRAP`` if set, else the embedded one."""
    with EmbeddedKafka() as broker:
        yield broker


@pytest.fixture
def topic_name(request: pytest.FixtureRequest) -> str:
    """A topic name unique to this test."""
    base = "".join(c if c.isalnum() else "-" for c in request.node.name)[:60]
    return f"{base}-{uuid.uuid4().hex[:8]}"
