"""Per-token prices of a model from litellm's cost map, without importing litellm.

The direct HTTP path (evals.models.direct) must charge exactly what the litellm path
charges (`litellm_setup.model_prices`, through `litellm.get_model_info`), yet importing
litellm costs about 3 s and 200 MB. The cost map is a JSON file inside the litellm
package (`model_prices_and_context_window_backup.json`, what litellm itself reads under
LITELLM_LOCAL_MODEL_COST_MAP=True): we find it without importing the package and decode
only the one entry we need (json's `raw_decode` from the entry's offset), so a lookup
costs a 3 MB read, not the 20-30 MB a full parse would hold at the peak. A test checks
that both lookups agree on a set of models.
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from evals.models.wire import Prices

COST_MAP_FILE = "model_prices_and_context_window_backup.json"


@lru_cache(maxsize=1)
def _cost_map_text() -> str | None:
    spec = importlib.util.find_spec("litellm")  # locates the package; does not import it
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / COST_MAP_FILE
        if path.exists():
            return path.read_text(encoding="utf-8")
    return None


def _entry(key: str) -> dict[str, Any] | None:
    """The cost map's top-level entry `key`, decoded alone (None when absent)."""
    text = _cost_map_text()
    if text is None:
        return None
    marker = "\n    " + json.dumps(key) + ": "  # top-level keys: the file's 4-space indent
    at = text.find(marker)
    if at < 0:
        return None
    value, _ = json.JSONDecoder().raw_decode(text, at + len(marker))
    return value if isinstance(value, dict) else None


def prices_of(info: dict[str, Any] | None) -> Prices | None:
    """Prices from one cost-map entry (None: free or unknown): what the gateway charges."""
    if info is None:
        return None
    input_cost = float(info.get("input_cost_per_token") or 0.0)
    output_cost = float(info.get("output_cost_per_token") or 0.0)
    if input_cost == 0.0 and output_cost == 0.0:
        return None
    read = info.get("cache_read_input_token_cost")
    create = info.get("cache_creation_input_token_cost")
    return (
        input_cost,
        input_cost if read is None else float(read),
        input_cost if create is None else float(create),
        output_cost,
    )


@lru_cache(maxsize=256)
def cost_map_prices(model: str) -> Prices | None:
    """Prices of a `provider/name` model string as litellm's get_model_info finds them:
    the full string as a key, else the bare name when its entry is for that provider."""
    provider, _, name = model.partition("/")
    info = _entry(model)
    if info is None and name:
        bare = _entry(name)
        if bare is not None and bare.get("litellm_provider") == provider:
            info = bare
    return prices_of(info)
