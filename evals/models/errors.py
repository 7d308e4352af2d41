"""Failure classification and secret scrubbing for the gateway.

Provider exceptions (litellm's, which wrap the OpenAI SDK's, which wrap httpx's and
aiohttp's) are mapped to a `GatewayError` code by walking the exception chain: litellm
reports a malformed body and a connection reset both as an `InternalServerError`, and
only the chain (`JSONDecodeError`, `APIConnectionError`) tells them apart. The direct
HTTP path's exceptions (evals.models.direct: `ProviderHTTPError` with the status and
body, aiohttp's connection errors, TimeoutError, orjson's JSONDecodeError) map to the
same codes the litellm path gets for the same answer (`_status_code`, which mirrors
litellm's status and message rules for OpenAI-compatible providers); the differential
test proves it per fault. litellm is never imported here: when it is not loaded (every
model on the direct path), nothing can have raised its exceptions.

API keys never leave the process in text: every error message is scrubbed, and a log
record factory scrubs every log record created once a Gateway exists (its message and
any exception text), whichever library logged it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from typing import Any

from evals.errors import ProviderError
from evals.models.types import ErrorCode, GatewayError
from evals.secrets import strip_url_credentials

TRANSIENT: frozenset[ErrorCode] = frozenset(
    {"rate_limit", "server_error", "timeout", "malformed", "connection"}
)
"""Codes worth retrying: the same request may succeed later."""

_SECRETS: set[str] = set()
_SECRETS_LOCK = threading.Lock()
_KEY_PATTERNS = re.compile(
    r"(sk-[A-Za-z0-9_\-]{6,})|(Bearer\s+)[A-Za-z0-9_\-.=]{6,}"
    r"|(api[_-]?key[\"']?\s*[:=]\s*[\"']?)[A-Za-z0-9_\-.]{6,}|(x-api-key:\s*)\S{6,}",
    re.IGNORECASE,
)
_installed_factory = False


def register_secret(value: str | None) -> None:
    """Scrub this value from every gateway error and every log record from now on."""
    if value and len(value) >= 4:
        with _SECRETS_LOCK:
            _SECRETS.add(value)
    _install_log_scrubber()


def scrub(text: str) -> str:
    """The text with every registered secret and anything shaped like an API key masked."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return _KEY_PATTERNS.sub(_mask, text)


def _mask(match: re.Match[str]) -> str:
    return (match.group(2) or match.group(3) or match.group(4) or "") + "***"


def _install_log_scrubber() -> None:
    """Wrap the log record factory once: records are scrubbed as they are created, so no
    handler (ours, pytest's, a user's) ever sees a key. Disabled log levels create no
    records, so this costs nothing on the hot path."""
    global _installed_factory
    if _installed_factory:
        return
    _installed_factory = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed format string is the caller's; leave it be
            return record
        clean = scrub(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)


class ProviderHTTPError(ProviderError):
    """A non-2xx answer on the direct path; classified like litellm's status errors."""

    def __init__(self, status_code: int, body: bytes, headers: Any) -> None:
        detail = body[:400].decode("utf-8", "replace")
        super().__init__(f"HTTP {status_code}: {detail}")
        self.status_code = status_code
        self.headers = headers
        """The response headers (Retry-After), case-insensitive."""


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and its causes/contexts, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not e for e in seen) and len(seen) < 12:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


_CONTEXT_WINDOW = (
    "exceed context limit",
    "this model's maximum context length is",
    "string too long. expected a string with maximum length",
    "model's maximum context limit",
    "is longer than the model's context length",
    "input tokens exceed the configured limit",
    "`inputs` tokens + `max_new_tokens` must be",
    "exceeds the available context size",
    "exceeds the maximum number of tokens allowed",
)
"""Messages litellm reads as a context-window error (its is_error_str_context_window_
exceeded), whatever the status."""


def _status_code(status: int, text: str) -> ErrorCode:
    """The code of an HTTP error answer on the direct path, by litellm's rules."""
    lower = text.lower()
    if status == 429 or "Request too large" in text:
        return "rate_limit"
    if "string_above_max_length" not in lower and any(s in lower for s in _CONTEXT_WINDOW):
        return "context_window"
    if status in (401, 403):
        return "auth"
    if status in (408, 504):
        return "timeout"
    if status in (400, 404, 422) or "invalid_request_error" in text:
        return "bad_request"
    return "server_error" if status >= 500 else "unknown"


class _NoLitellm:
    """Stands in for litellm's exception classes when litellm is not loaded."""

    class _Never(Exception):
        pass

    Timeout = RateLimitError = ContextWindowExceededError = AuthenticationError = _Never
    PermissionDeniedError = BadRequestError = NotFoundError = _Never
    UnprocessableEntityError = InternalServerError = _Never


def classify(exc: BaseException) -> tuple[ErrorCode, bool]:
    """(code, transient) of a provider exception."""
    if isinstance(exc, ProviderHTTPError):
        status = _status_code(exc.status_code, str(exc))
        return status, status in TRANSIENT
    litellm: Any = sys.modules.get("litellm") or _NoLitellm
    chain = _chain(exc)
    names = {type(e).__name__ for e in chain}
    if isinstance(exc, (TimeoutError, litellm.Timeout)) or "APITimeoutError" in names:
        code: ErrorCode = "timeout"
    elif isinstance(exc, litellm.RateLimitError) or _status(exc) == 429:
        code = "rate_limit"
    elif isinstance(exc, litellm.ContextWindowExceededError):
        code = "context_window"
    elif (
        isinstance(exc, (litellm.AuthenticationError, litellm.PermissionDeniedError))
        or _status(exc) == 403  # litellm leaves an OpenAI-compatible 403 a bare APIError
        or "missing credentials" in str(exc).lower()
    ):
        code = "auth"
    elif any(isinstance(e, (json.JSONDecodeError, UnicodeDecodeError)) for e in chain):
        code = "malformed"
    elif names & {
        "APIConnectionError",
        "ConnectError",
        "ReadError",
        "RemoteProtocolError",
        "ClientOSError",
        "ServerDisconnectedError",
        "ClientConnectorError",
        "ConnectionResetError",
        "ConnectionRefusedError",
        "WriteError",
        "ClientConnectionError",
        "ClientPayloadError",
        "ClientConnectionResetError",
    }:
        code = "connection"
    elif isinstance(
        exc, (litellm.BadRequestError, litellm.NotFoundError, litellm.UnprocessableEntityError)
    ):
        code = "bad_request"
    elif (_status(exc) or 0) >= 500 or isinstance(exc, litellm.InternalServerError):
        code = "server_error"
    elif isinstance(exc, (KeyError, IndexError, TypeError, ValueError)):
        code = "malformed"
    else:
        code = "unknown"
    return code, code in TRANSIENT


def retry_after_s(exc: BaseException) -> float | None:
    """Seconds the provider asked us to wait (Retry-After or retry-after-ms), if any."""
    for source in (
        getattr(exc, "headers", None),  # the direct path's ProviderHTTPError
        getattr(exc, "litellm_response_headers", None),
        getattr(getattr(exc, "response", None), "headers", None),
    ):
        if source is None:
            continue
        try:
            millis = source.get("retry-after-ms")
            if millis is not None:
                return max(0.0, float(millis) / 1000.0)
            seconds = source.get("retry-after")
            if seconds is not None:
                return max(0.0, float(seconds))
        except (TypeError, ValueError, AttributeError):
            continue  # an HTTP-date Retry-After: fall back to our own backoff
    return None


def gateway_error(alias: str, exc: BaseException) -> GatewayError:
    """A scrubbed GatewayError for a provider exception that survived the retries."""
    if isinstance(exc, GatewayError):
        return exc
    code, transient = classify(exc)
    text = strip_url_credentials(scrub(str(exc).strip().replace("\n", " ")))[:500]
    return GatewayError(code, f"model '{alias}': {code}: {type(exc).__name__}: {text}", transient)
