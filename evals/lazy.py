"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package maps each public name to the module defining it; the name is imported on first
use. So importing a package runs none of its modules (a worker imports only what it
uses), and no package ``__init__`` can close an import cycle.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of `package`, resolving `exports`
    (public name -> defining module)."""

    def __getattr__(name: str) -> Any:
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
