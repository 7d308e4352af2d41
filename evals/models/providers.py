"""Provider names a model string may start with, known without importing litellm.

A typo such as ``opnai/gpt-4o`` used to pass the suite check and fail every trial at
call time as an infrastructure error. Suites are checked when loaded, and importing
litellm costs seconds and 200 MB, so the names are read from litellm's own source (its
``LlmProviders`` enum) instead: the list stays the installed version's.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from functools import lru_cache
from pathlib import Path

LOCAL_PROVIDER = "local"
"""The embedded llama.cpp models (``local/<name>``)."""

_ENUM_MEMBER = re.compile(r'^\s+[A-Z][A-Z0-9_]* = "([^"]+)"', re.MULTILINE)


@lru_cache(maxsize=1)
def known_providers() -> frozenset[str] | None:
    """litellm's provider names plus ``local``; None when they cannot be read (then
    nothing is refused: the call itself reports a wrong provider)."""
    names: set[str] = set()
    loaded = sys.modules.get("litellm")
    if loaded is not None and getattr(loaded, "provider_list", None):
        names = {str(getattr(p, "value", p)) for p in loaded.provider_list}
    else:
        names = _from_source()
    return frozenset(names | {LOCAL_PROVIDER}) if names else None


def _from_source() -> set[str]:
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return set()
    if spec is None or not spec.submodule_search_locations:
        return set()
    source = Path(next(iter(spec.submodule_search_locations))) / "types" / "utils.py"
    try:
        text = source.read_text(encoding="utf-8")
    except OSError:
        return set()
    start = text.find("class LlmProviders(")
    if start < 0:
        return set()
    end = text.find("\nclass ", start + 1)
    return set(_ENUM_MEMBER.findall(text[start : end if end > 0 else len(text)]))


def provider_problem(model: str) -> str | None:
    """Why a model string names no known provider, or None. A bare name (no ``/``) is
    left to litellm, which maps well-known model names to their provider."""
    provider, slash, _ = model.partition("/")
    if not slash:
        return None
    known = known_providers()
    if known is None or provider in known:
        return None
    close = sorted(known, key=lambda k: _distance(k, provider))[:3]
    return f"unknown provider {provider!r} in {model!r} (did you mean {', '.join(close)}?)"


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (short strings only)."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]
