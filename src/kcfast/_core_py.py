"""Pure-Python twin of ``kcfast._core``: the same API, the fallback when the extension is absent, and the
oracle of the core's tests."""

__all__: list[str] = []
