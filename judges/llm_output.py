"""Structured LLM-judge output: the JSON schema, parsing, and confidence from logprobs.

The judge model answers under a JSON schema: ``{"label": <enum>, "probability": <0..1>,
"reason": <string, maxLength capped>}``, label first so that the label token's
log-probability is the model's decision before it rationalises. Confidence is the
probability mass of the chosen label among the label-compatible alternatives at the
label's first token (a token is compatible with a label when one is a prefix of the
other); when the model gives no log-probabilities it is the stated probability.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

from evals.errors import ProviderError
from evals.models.types import TokenLogprob


def output_schema(labels: list[str], max_reason_chars: int) -> dict[str, Any]:
    """JSON Schema of a judge's answer."""
    return {
        "type": "object",
        "properties": {
            "label": {"type": "string", "enum": labels},
            "probability": {"type": "number", "minimum": 0, "maximum": 1},
            "reason": {"type": "string", "maxLength": max_reason_chars},
        },
        "required": ["label", "probability", "reason"],
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class JudgeOutput:
    """A parsed judge answer."""

    label: str
    probability: float
    reason: str


class UnparseableOutput(ProviderError, ValueError):
    """The model's text is not a valid judge answer."""


def parse_output(text: str | None, labels: list[str], max_reason_chars: int) -> JudgeOutput:
    """Parse and validate a judge's answer (tolerating a code fence or stray text
    around the one JSON object)."""
    if not text or not text.strip():
        raise UnparseableOutput("empty output")
    raw = text.strip()
    start, end = raw.find("{"), raw.rfind("}")
    if start < 0 or end <= start:
        raise UnparseableOutput(f"no JSON object in output {raw[:80]!r}")
    try:
        data = orjson.loads(raw[start : end + 1])
    except orjson.JSONDecodeError as exc:
        raise UnparseableOutput(f"bad JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UnparseableOutput("output is not a JSON object")
    label = data.get("label")
    if label not in labels:
        raise UnparseableOutput(f"label {label!r} not in {labels}")
    prob = data.get("probability")
    if not isinstance(prob, int | float) or isinstance(prob, bool) or math.isnan(prob):
        raise UnparseableOutput(f"probability {prob!r} is not a number")
    reason = data.get("reason")
    if not isinstance(reason, str):
        raise UnparseableOutput("reason is not a string")
    return JudgeOutput(str(label), min(max(float(prob), 0.0), 1.0), reason[:max_reason_chars])


_LABEL_VALUE = re.compile(r'"label"\s*:\s*"')


def _token_spans(tokens: list[TokenLogprob], text: str) -> list[tuple[int, int]] | None:
    """Character span of each token in the text. Whitespace may be missing on either
    side: a tokenizer's pieces may drop it, and a server may trim the returned text while
    its token list keeps a leading newline (llama.cpp does)."""
    spans, pos = [], 0
    for tok in tokens:
        i = text.find(tok.token, pos) if tok.token else pos
        if i < 0 or text[pos:i].strip():
            if tok.token.strip():
                return None
            spans.append((pos, pos))  # whitespace the text does not hold
            continue
        spans.append((i, i + len(tok.token)))
        pos = i + len(tok.token)
    return spans


def _compatible(rest: str, labels: list[str]) -> str | None:
    """The one label a token's text (after the shared prefix) commits to, if any."""
    rest = rest.casefold()
    found = [
        lab
        for lab in labels
        if lab.casefold().startswith(rest)
        or (rest.startswith(lab.casefold()) and not rest[len(lab) :][:1].isalnum())
    ]
    return found[0] if len(found) == 1 else None


def label_distribution(
    text: str, logprobs: list[TokenLogprob] | None, labels: list[str]
) -> dict[str, float] | None:
    """Probability of each label at the label's first token, from log-probabilities;
    None when they are missing or do not line up with the text."""
    if not logprobs:
        return None
    m = _LABEL_VALUE.search(text)
    spans = _token_spans(logprobs, text)
    if m is None or spans is None:
        return None
    at = m.end()
    idx = next((i for i, (s, e) in enumerate(spans) if s <= at < e), None)
    if idx is None:
        return None
    tok, (start, _) = logprobs[idx], spans[idx]
    prefix = text[start:at]
    candidates = dict(tok.top)
    candidates.setdefault(tok.token, tok.logprob)
    mass = dict.fromkeys(labels, 0.0)
    for alt, lp in candidates.items():
        if not alt.startswith(prefix) or len(alt) == len(prefix):
            continue
        lab = _compatible(alt[len(prefix) :], labels)
        if lab is not None:
            mass[lab] += math.exp(lp)
    chosen = text[at : text.find('"', at)]
    if chosen not in labels or mass[chosen] <= 0:
        return None
    # A label absent from the top alternatives has at most the smallest listed
    # probability: counting it at that bound keeps the confidence conservative.
    floor = min(math.exp(lp) for lp in candidates.values())
    if len(candidates) > 1:
        mass = {lab: p if p > 0 else floor for lab, p in mass.items()}
    total = sum(mass.values())
    return {lab: p / total for lab, p in mass.items()}
