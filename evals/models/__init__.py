"""The model gateway: every LLM call goes through `Gateway` (over litellm).

Importing this package is cheap: litellm is imported when the first Gateway is built.
"""

from evals.models.gateway import RESERVED_PARAMS, Gateway, GatewayStats
from evals.models.local import LOCAL_MODELS, LocalModelError, LocalServer, find_weights
from evals.models.types import ChatModel, Completion, ErrorCode, GatewayError, TokenLogprob

__all__ = [
    "LOCAL_MODELS",
    "RESERVED_PARAMS",
    "ChatModel",
    "Completion",
    "ErrorCode",
    "Gateway",
    "GatewayError",
    "GatewayStats",
    "LocalModelError",
    "LocalServer",
    "TokenLogprob",
    "find_weights",
]
