"""Builds the one compiled module, kcfast._core, from src/kcfast/_core.pyx.

Environment:
  KCFAST_NO_EXTENSIONS=1  build no extension (the pure-Python twin is used)
  KCFAST_DEBUG=1          annotate, line tracing, -O0 -g
"""

import os

from setuptools import setup

ext_modules = []
if os.environ.get("KCFAST_NO_EXTENSIONS", "") not in ("1", "true", "yes"):
    from Cython import __version__ as cython_version
    from Cython.Build import cythonize
    from packaging.version import Version
    from setuptools import Extension

    if Version(cython_version) < Version("3.1"):
        raise RuntimeError(f"kcfast needs Cython >= 3.1 to build, found {cython_version}")

    debug = os.environ.get("KCFAST_DEBUG", "") in ("1", "true", "yes")
    macros = []
    cflags = ["-O2", "-Wall", "-Wsign-compare"]
    directives = {"language_level": 3, "embedsignature": True}
    if debug:
        cflags = ["-O0", "-g", "-Wall"]
        macros += [("KCFAST_DEBUG", "1"), ("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")]
        directives["linetrace"] = True
    ext_modules = cythonize(
        [
            Extension(
                "kcfast._core",
                ["src/kcfast/_core.pyx"],
                extra_compile_args=cflags,
                define_macros=macros,
            )
        ],
        compiler_directives=directives,
        annotate=debug,
    )

setup(ext_modules=ext_modules)
