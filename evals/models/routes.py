"""How the gateway reaches each model alias (`Route`): the provider's model string and
parameters, the API key read from the environment (never stored), the per-model
limiter, prices, and whether the gateway posts the request itself (evals.models.direct)
or hands it to litellm."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evals.models.direct import direct_eligible
from evals.models.errors import register_secret
from evals.models.limits import ModelLimiter
from evals.models.litellm_setup import model_prices
from evals.models.prices import cost_map_prices
from evals.models.wire import Dialect, Prices, dialect_of
from evals.schema import ModelSpec
from evals.secrets import expand_env, is_secret_name

LOCAL_PREFIX = "local/"
LOCAL_PROVIDER = "hosted_vllm/"
"""litellm provider for the embedded llama.cpp server: its self-hosted OpenAI-compatible
provider goes through litellm's own HTTP handler rather than the OpenAI SDK (about 25%
less CPU per call, measured), and keeps usage, cached tokens, 429 headers and timeouts."""


@dataclass(slots=True)
class Route:
    """One alias's route (built once per Gateway)."""

    spec: ModelSpec
    """The alias's model spec as configured."""
    dialect: Dialect
    """How requests and responses are shaped for this provider (evals.models.wire)."""
    base: dict[str, Any]
    """The provider call's fixed arguments: model string, params, timeout, API key."""
    spec_hash: str
    """The spec's hash: part of every response-cache key."""
    limiter: ModelLimiter
    """This alias's concurrency and rate limits."""
    prices: Prices | None
    """Per-token prices (None: unknown, so cost is unknown, not zero)."""
    local_name: str | None = None
    """The embedded llama.cpp model's name, for `local/` aliases."""
    missing_key: str | None = None
    """The API key's variable when it was unset at build time (looked up again per call)."""
    direct: bool = False
    """Posted by the gateway itself (evals.models.direct), not through litellm."""


def build_route(spec: ModelSpec, litellm: Callable[[], Any]) -> Route:
    """How the gateway reaches one alias: the provider's model string and parameters
    (secrets expanded only here), its limiter, prices and transport; `litellm` imports
    litellm when this route needs it."""
    model, local_name = spec.model, None
    if model.startswith(LOCAL_PREFIX):
        local_name = model.removeprefix(LOCAL_PREFIX)
        model = LOCAL_PROVIDER + local_name
    # ${VAR} in params is stored as text (evals.secrets); its value exists only here.
    params = expand_env(spec.params, _register_interpolated)
    base: dict[str, Any] = {
        "model": model,
        **params,
        "timeout": spec.timeout_s,
        "max_retries": 0,
    }
    missing = None
    if spec.api_key_env:
        key = os.environ.get(spec.api_key_env)
        if key:
            register_secret(key)
            base["api_key"] = key
        else:
            missing = spec.api_key_env
    elif "api_base" in params:
        base["api_key"] = "no-key"  # a keyless OpenAI-compatible server; the SDK wants one
    direct = spec.transport != "litellm" and direct_eligible(model, spec.params)
    if spec.transport == "direct" and not direct:
        raise ValueError(
            f"model '{spec.alias}': transport 'direct' needs an openai/, hosted_vllm/ or "
            f"local/ model with OpenAI chat parameters only; {model} needs litellm"
        )
    prices = cost_map_prices(model) if direct else model_prices(litellm(), model)
    return Route(
        spec=spec,
        dialect="llama_cpp" if local_name else dialect_of(model),
        base=base,
        spec_hash=spec.spec_hash(),
        limiter=ModelLimiter(spec.max_concurrency, spec.rpm, spec.tpm),
        prices=prices,
        local_name=local_name,
        missing_key=missing,
        direct=direct,
    )


def _register_interpolated(name: str, value: str) -> None:
    """A secret read into a param (``${OPENAI_KEY}``, ``Bearer ${TOKEN}``) is scrubbed
    from every error and log from then on."""
    if is_secret_name(name) or name.upper().endswith(("KEY", "PASS", "PWD")):
        register_secret(value)
