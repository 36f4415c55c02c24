"""The record core: the compiled ``kcfast._core`` or, when it is absent or ``KCFAST_NO_EXTENSIONS=1`` is
set, its pure-Python twin ``kcfast._core_py`` (same API, and the oracle of the core's tests).

Everything done per record lives behind this module and is called once per batch.
"""

from __future__ import annotations

import os

if os.environ.get("KCFAST_NO_EXTENSIONS", "") in ("1", "true", "yes"):
    from kcfast._core_py import *  # noqa: F403
    from kcfast import _core_py as _impl

    IMPLEMENTATION = "python"
else:
    try:
        from kcfast._core import *  # noqa: F403
        from kcfast import _core as _impl

        IMPLEMENTATION = "cython"
    except ImportError:  # pragma: no cover - depends on how kcfast was installed
        from kcfast._core_py import *  # noqa: F403
        from kcfast import _core_py as _impl

        IMPLEMENTATION = "python"

__all__ = list(_impl.__all__) + ["IMPLEMENTATION"]
