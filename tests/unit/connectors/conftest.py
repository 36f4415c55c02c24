"""Fixtures for the connector tests: fake task contexts."""

from __future__ import annotations

import pytest
from connector_fakes import FakeSinkTaskContext, FakeSourceTaskContext


@pytest.fixture
def source_context() -> FakeSourceTaskContext:
    return FakeSourceTaskContext()


@pytest.fixture
def sink_context() -> FakeSinkTaskContext:
    return FakeSinkTaskContext()
