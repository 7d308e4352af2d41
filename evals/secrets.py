"""The one rule for secrets in configuration: what counts as one, and what is stored.

Model params, the agent's params and judge model params are copied into the run
manifest and into every trial record, so they must never hold a secret. The rule:

* **Names.** A key anywhere in a params tree (nested mappings and lists included, e.g.
  ``extra_headers: {Authorization: ...}``) is a secret's name when one of its words is
  ``token``, ``secret``, ``password``/``passwd``, ``authorization``, ``credential(s)``,
  ``cookie``, ``bearer``, ``apikey``, or ``api``/``private``/``access``/``secret``/
  ``subscription`` followed by ``key`` (``api_key``, ``x-api-key``,
  ``Ocp-Apim-Subscription-Key``). Words are split on ``_ - .`` and camelCase, so
  ``access_token_value`` and ``accessToken`` are secrets; ``max_tokens`` is not.
* **Values.** A string is a secret when it looks like one whatever its key: a bearer or
  basic credential (``Bearer ...``), an OpenAI-style key (``sk-...``), or a URL carrying
  credentials (``http://user:key@host``).
* **Interpolation.** A value written as ``${VAR}`` (or containing one) is not a literal
  secret: the text ``${VAR}`` is what is stored (manifest, trials, run identity), and
  the value is read from the environment only at call time (:func:`expand_env`, used by
  the gateway), where it is also registered for scrubbing from error messages. So
  ``Authorization: "Bearer ${TOKEN}"`` is the way to pass a header.

A literal secret is refused when the suite (or judges file) is loaded, naming its
file, line and field. :func:`strip_url_credentials` removes ``user:password@`` from any
URL in text, for messages that are stored (e.g. gateway errors).
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from typing import Any

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
"""``${VAR}`` or ``${VAR:-default}``."""

_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
_SECRET_WORDS = {
    "token",
    "secret",
    "password",
    "passwd",
    "authorization",
    "credential",
    "credentials",
    "cookie",
    "apikey",
    "bearer",
}
_URL_CREDENTIALS = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/@\s:]+):([^/@\s]*)@")
_SECRET_VALUE = re.compile(r"^\s*(bearer|basic)\s+\S{6,}|^\s*sk-[A-Za-z0-9_-]{8,}", re.I)


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(name)]


def is_secret_name(name: str) -> bool:
    """Whether a key names a secret (see the module docstring)."""
    words = _words(name)
    if any(w in _SECRET_WORDS for w in words):
        return True
    pairs = itertools.pairwise(words)
    return any(
        a in ("api", "private", "access", "secret", "subscription") and b == "key" for a, b in pairs
    )


def secret_value_reason(value: str) -> str | None:
    """Why a literal string is a secret whatever its key, or None (interpolated
    ``${VAR}`` parts are not literal: only their text is stored)."""
    for match in _URL_CREDENTIALS.finditer(value):
        if match.group(3) and not ENV_REF.search(match.group(3)):
            return "a URL with credentials (user:password@)"
    if _SECRET_VALUE.search(ENV_REF.sub("", value)):
        return "a credential value (Bearer/Basic/sk-...)"
    return None


def find_secrets(params: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(path, reason) of every literal secret in a params tree, depth first."""
    if isinstance(params, dict):
        for key, value in params.items():
            where = (*path, key)
            if is_secret_name(str(key)) and _literal(value):
                yield where, f"holds a secret ({key})"
            else:
                yield from find_secrets(value, where)
    elif isinstance(params, list):
        for i, value in enumerate(params):
            yield from find_secrets(value, (*path, i))
    elif isinstance(params, str):
        reason = secret_value_reason(params)
        if reason is not None:
            yield path, f"holds {reason}"


def _literal(value: Any) -> bool:
    """A value that would store a secret: anything but empty, None, booleans, or
    strings whose secret part is an interpolated ``${VAR}``."""
    if value is None or isinstance(value, bool) or value == "":
        return False
    if isinstance(value, str):
        rest = ENV_REF.sub("", value).strip()
        return bool(rest) and not (ENV_REF.search(value) and rest.lower() in ("bearer", "basic"))
    if isinstance(value, dict | list):
        return any(True for _ in _leaves(value))
    return True


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    elif _literal(value):
        yield value


def expand_env(value: Any, on_value: Any = None) -> Any:
    """``${VAR}`` and ``${VAR:-default}`` in every string of a tree, from the
    environment; `on_value(name, value)` sees each value read (to register secrets)."""
    if isinstance(value, str):

        def sub(m: re.Match[str]) -> str:
            got = os.environ.get(m.group(1), m.group(2) or "")
            if on_value is not None:
                on_value(m.group(1), got)
            return got

        return ENV_REF.sub(sub, value)
    if isinstance(value, list):
        return [expand_env(v, on_value) for v in value]
    if isinstance(value, dict):
        return {k: expand_env(v, on_value) for k, v in value.items()}
    return value


def strip_url_credentials(text: str) -> str:
    """The text with ``user:password@`` removed from every URL in it."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)
