"""Both implementations of the core expose the same API, the one ``_core.pyi`` declares."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import kcfast
from kcfast import _core_py, core

_core = pytest.importorskip("kcfast._core")
STUB = Path(kcfast.__file__).with_name("_core.pyi")


def public(obj: object) -> set[str]:
    return {name for name in dir(obj) if not name.startswith("_")}


def test_same_exports() -> None:
    assert sorted(_core.__all__) == sorted(_core_py.__all__)
    for name in _core.__all__:
        assert hasattr(_core, name) and hasattr(_core_py, name), name


@pytest.mark.parametrize("name", sorted(_core_py.__all__))
def test_same_public_members(name: str) -> None:
    compiled, twin = getattr(_core, name), getattr(_core_py, name)
    if isinstance(twin, type):
        assert public(compiled) == public(twin), name


def test_stub_declares_every_export() -> None:
    tree = ast.parse(STUB.read_text(encoding="utf-8"))
    declared = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    declared |= {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom) for a in n.names}
    assert set(_core_py.__all__) <= declared


def test_facade_exports_the_chosen_implementation() -> None:
    assert core.IMPLEMENTATION in ("cython", "python")
    chosen = _core if core.IMPLEMENTATION == "cython" else _core_py
    assert core.SinkRecord is chosen.SinkRecord
    assert core.sink_records_from_messages is chosen.sink_records_from_messages
