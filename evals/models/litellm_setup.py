"""litellm, configured for a lean hot path, and the prices the gateway charges per token.

litellm is imported here, on the first Gateway, never at `import evals.models` (it costs
about 3 s and 200 MB, and would reach for the network without
LITELLM_LOCAL_MODEL_COST_MAP). What can be switched off is: debug info, telemetry,
callbacks, logging below WARNING, and (quiet_calls) the success-logging and billing pass
litellm schedules after every call, which only feeds callbacks we never register. What
cannot (its per-response cost calculation) is made cheap where we can: a model its cost
map does not know is registered at zero cost, which spares litellm a fuzzy lookup on
every call.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from evals.models.prices import prices_of
from evals.models.wire import Prices

log = logging.getLogger("evals.models")

_litellm: Any = None
_quiet: ContextVar[bool] | None = None
"""litellm's own switch for calls whose logging and billing it should skip (it uses it
for its internal sub-calls); None when this litellm has no such switch."""


def load_litellm() -> Any:
    """Import and configure litellm once per process (3 s, 200 MB: never at import)."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.suppress_debug_info = True
        litellm.telemetry = False
        litellm.set_verbose = False
        for hooks in (
            "callbacks",
            "success_callback",
            "failure_callback",
            "_async_success_callback",
            "_async_failure_callback",
            "input_callback",
        ):
            setattr(litellm, hooks, [])
        for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
            logging.getLogger(name).setLevel(logging.WARNING)
        _litellm = litellm
        _find_quiet_switch()
    return _litellm


def _find_quiet_switch() -> None:
    global _quiet
    try:  # a private module of the pinned litellm: without it, calls are merely slower
        from litellm._internal_context import is_internal_call
    except ImportError:
        return
    if isinstance(is_internal_call, ContextVar):
        _quiet = is_internal_call


@contextmanager
def quiet_calls() -> Iterator[None]:
    """litellm calls made inside skip its post-call success logging and billing task.

    Each call otherwise builds litellm's standard logging payload and prices the response
    again, on the event loop, for callbacks the gateway never registers (we price from
    the usage ourselves): about 15% of litellm's CPU per call, measured with
    bench/bench_gateway_cpu.py. Failures are unaffected (the gateway classifies them)."""
    if _quiet is None:
        yield
        return
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def _register_free_model(litellm: Any, model: str) -> None:
    """Price a model litellm does not know at zero, under both keys its cost lookup tries
    (`provider/name`, and the bare name as for OpenAI's own models)."""
    provider, _, name = model.partition("/")
    entry = {
        "input_cost_per_token": 0.0,
        "output_cost_per_token": 0.0,
        "litellm_provider": provider,
        "mode": "chat",
    }
    keys = [k for k in (model, name) if k and k not in litellm.model_cost]
    quiet = logging.getLogger("LiteLLM")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # it warns that a zero-cost model has no cache prices
    try:
        litellm.register_model({key: dict(entry) for key in keys})
    except Exception:  # pricing is an optimisation here; never fail a gateway over it
        log.debug("could not register %s in litellm's cost map", model)
    finally:
        quiet.setLevel(level)


def model_prices(litellm: Any, model: str) -> Prices | None:
    """Per-token prices from litellm's cost map, looked up once (None: free or unknown).

    A model the map does not know (local, self-hosted, the fake server) is registered
    in it at zero cost: litellm prices every response, and an unknown model sends it
    through its slow fuzzy-matching lookups on every call (about 12% of its CPU)."""
    try:
        info = litellm.get_model_info(model)
    except Exception:
        info = None
    if info is None:
        _register_free_model(litellm, model)
        return None
    return prices_of(info)
