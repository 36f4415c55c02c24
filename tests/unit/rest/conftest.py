"""Fixtures of the REST tests."""

from __future__ import annotations

import pytest
from fake_worker import install_stand_ins


@pytest.fixture(autouse=True)
def _stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    install_stand_ins(monkeypatch)
