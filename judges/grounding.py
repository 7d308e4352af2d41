"""The ``grounded`` check: an answer's claims trace to what the agent actually received.

"Received" means the case's input (question and subject, given to every agent), the
messages given to the agent (system prompt, question, subject) plus the observations of
tool calls that matched a recorded fixture; the "no recorded observation" notice of an
unmatched call grounds nothing. Flagged:

- a key fact of the case stated in the answer but present in no received text (the agent
  asserted it without having seen it: a guess, even when it happens to be right);
- numbers, percentages and dates in the answer that appear nowhere received (a
  percentage ``25%`` is grounded by a bare ``25`` in an observation such as
  ``{"share_pct": 25}``, and a percentage derivable from observed ones along an
  ownership chain (products, sums, the rest of 100%) counts as grounded; single-digit
  counts are not checked);
- identifiers mixing letters and digits (registration numbers) and capitalised
  multi-word names that appear nowhere received; a name is grounded when its words
  (ignoring stopwords and company-form words) all appear in the received text.

Every flag is named in the reason. Matching is on normalised text (judges.normalise).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from pydantic import Field

from evals.schema import Case, Trial
from judges.base import JudgeContext, judge, no_answer_reason
from judges.checks import CheckJudge, Outcome, _fact_alternatives, quote
from judges.normalise import NUMBER_TOKEN, contains, normalise

# Runs of capitalised words (with connecting particles) of at least two words.
_NAME = re.compile(
    r"\b[A-Z][\w&'’.\-]*(?:\s+(?:(?:of|and|de|du|la|le|van|von|der|den|da|&)\s+)?"
    r"[A-Z][\w&'’.\-]*)+"
)
_ALNUM_ID = re.compile(r"\b(?=[a-z]*\d)(?=\d*[a-z])[a-z0-9]{5,}\b")
NAME_STOPWORDS = {
    "the",
    "a",
    "an",
    "this",
    "that",
    "these",
    "based",
    "according",
    "however",
    "yes",
    "no",
    "not",
    "none",
    "there",
    "it",
    "its",
    "is",
    "are",
    "was",
    "in",
    "on",
    "for",
    "to",
    "of",
    "and",
    "by",
    "with",
    "from",
    "as",
    "at",
    "answer",
    "final",
    "summary",
    "result",
    "results",
    "note",
    "i",
    "we",
    "our",
    "my",
    "ltd",
    "limited",
    "llc",
    "inc",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "sas",
    "bv",
    "nv",
    "co",
    "company",
    "corp",
    "corporation",
    "group",
    "holding",
    "holdings",
    "mr",
    "mrs",
    "ms",
    "dr",
}
"""Words that neither make nor break a name's grounding."""


def received_text(trial: Trial, case: Case | None = None) -> str:
    """Normalised text of everything the agent received: the case's input (question and
    subject: every agent is given them, whether or not its trace records them as a
    message, as a blueprint that looks things up in code does not), the system and user
    messages, and the observations of matched tool calls."""
    parts: list[str] = []
    if case is not None:
        parts.append(case.input.question)
        parts.append(orjson.dumps(case.input.subject).decode())
    for msg in trial.trace.messages:
        if msg.role in ("system", "user") and msg.content:
            parts.append(msg.content)
    for call in trial.trace.tool_calls():
        if call.matched:
            obs: Any = call.observation
            parts.append(obs if isinstance(obs, str) else orjson.dumps(obs).decode())
    return normalise("\n".join(parts))


def _number_grounded(token: str, corpus: str) -> bool:
    bare = token.rstrip("%")
    pattern = rf"(?<![\d.]){re.escape(bare)}(?![\d]|\.\d)"
    return re.search(pattern, corpus) is not None


_SHARE_KEY = re.compile(r"share|percent|pct", re.IGNORECASE)
_PERCENT_IN_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def received_shares(trial: Trial, limit: int = 40) -> list[float]:
    """Ownership shares the agent received: numbers under a key naming a share or a
    percentage (``share_percent``, ``pct``), and ``N%`` written in text observations."""
    found: list[float] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, list):
            for v in value:
                walk(v, key)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if _SHARE_KEY.search(key) and 0 < value <= 100:
                found.append(float(value))
        elif isinstance(value, str):
            found.extend(float(m) for m in _PERCENT_IN_TEXT.findall(value) if 0 < float(m) <= 100)

    for call in trial.trace.tool_calls():
        if call.matched:
            walk(call.observation)
    return list(dict.fromkeys(found))[:limit]


def derivable_share(value: float, shares: list[float], tol: float = 0.051) -> bool:
    """Whether a percentage follows from observed ones the way ownership analysis derives
    them: effective shares multiply along a chain (70% of 50% = 35%), holdings add up,
    and the unaccounted part is what is left of 100%."""
    pairs = [(a, b) for i, a in enumerate(shares) for b in shares[i:]]
    derived = [*shares, *(100 - a for a in shares)]
    derived += [x for a, b in pairs for x in (a * b / 100, a + b, 100 - a - b)]
    derived += [a * b * c / 10_000 for a, b in pairs for c in shares]
    return any(abs(value - d) < tol for d in derived)


def _percent_grounded(token: str, corpus: str, shares: list[float]) -> bool:
    if _number_grounded(token, corpus):
        return True
    try:
        value = float(token.rstrip("%"))
    except ValueError:
        return False
    return derivable_share(value, shares)


def _token_grounded(token: str, corpus: str, shares: list[float]) -> bool:
    """A number token: percentages may also be derived from the received shares."""
    if token.endswith("%"):
        return _percent_grounded(token, corpus, shares)
    return _number_grounded(token, corpus)


def _fact_grounded(fact: str, corpus: str, shares: list[float]) -> bool:
    """A fact is grounded verbatim, or word by word with numbers matched as numbers
    (an observation says ``"share_pct": 25.0`` where the fact says ``25%``)."""
    if contains(corpus, fact):
        return True
    corpus_words = set(corpus.split())
    words = normalise(fact).split()
    return bool(words) and all(
        _token_grounded(w, corpus, shares)
        if NUMBER_TOKEN.fullmatch(w)
        else (w in corpus_words or w in NAME_STOPWORDS)
        for w in words
    )


def _name_grounded(name: str, corpus: str) -> bool:
    if _words_grounded(name, corpus):
        return True
    # The name pattern runs across a sentence end ("... Otto Otter. Discounted hits"),
    # because names may hold periods ("Pte. Ltd."): a run is also grounded when each
    # part between words ending in a period is, single capitalised words (a sentence's
    # first word) aside.
    parts = _sentence_parts(name)
    return len(parts) > 1 and all(
        len(part.split()) < 2 or _words_grounded(part, corpus) for part in parts
    )


def _words_grounded(name: str, corpus: str) -> bool:
    if contains(corpus, name):
        return True
    corpus_words = set(corpus.split())
    words = [w for w in normalise(name).split() if w not in NAME_STOPWORDS]
    return bool(words) and all(w in corpus_words for w in words)


def _sentence_parts(name: str) -> list[str]:
    """A name run cut after each word that ends with a period."""
    parts: list[list[str]] = [[]]
    for word in name.split():
        parts[-1].append(word)
        if word.endswith("."):
            parts.append([])
    return [" ".join(p).rstrip(".") for p in parts if p]


def ungrounded_items(
    answer: str, corpus: str, names: bool, numbers: bool, shares: list[float] | None = None
) -> list[str]:
    """Numbers, identifiers and names of the answer found in no received text."""
    flags: list[str] = []
    answer_n = normalise(answer)
    if numbers:
        for m in NUMBER_TOKEN.finditer(answer_n):
            token = m.group(0).rstrip(".-")
            if len(token.rstrip("%")) < 2 and not token.endswith("%"):
                continue
            if not _token_grounded(token, corpus, shares or []):
                flags.append(f"number {token}")
    if names:
        for ident in _ALNUM_ID.findall(answer_n):
            if ident not in corpus.split():
                flags.append(f"identifier {ident}")
        for m in _NAME.finditer(answer):
            words = m.group(0).split()
            while words and normalise(words[0]) in NAME_STOPWORDS:
                words = words[1:]
            name = " ".join(words).rstrip(".-'’")
            if len(words) >= 2 and not _name_grounded(name, corpus):
                flags.append(f"name {name}")
    return list(dict.fromkeys(flags))


@judge("grounded")
class Grounded(CheckJudge):
    """The answer's key facts, numbers and names appear in what the agent received."""

    numbers: bool = True
    """Flag numbers, percentages and dates found in no received text."""
    names: bool = True
    """Flag names and identifiers found in no received text."""
    max_ungrounded: int = Field(default=0, ge=0)
    """Flags tolerated before the check fails."""

    def check(self, ctx: JudgeContext) -> Outcome:
        trial, case = ctx.trial, ctx.case
        why = no_answer_reason(trial)
        if why:
            return Outcome(label="fail", reason=why, score=0.0)
        answer = trial.trace.final_answer or ""
        corpus = received_text(trial, case)
        shares = received_shares(trial)
        answer_n = normalise(answer)
        stated = [
            f
            for f in case.key_facts
            if any(contains(answer_n, alt) for alt in _fact_alternatives(f))
        ]
        unseen_facts = [
            f
            for f in stated
            if not any(_fact_grounded(alt, corpus, shares) for alt in _fact_alternatives(f))
        ]
        flags = [
            f"key fact {f!r} stated but in no observation the agent received" for f in unseen_facts
        ]
        flags += [
            f"{item} appears in no observation the agent received"
            for item in ungrounded_items(answer, corpus, self.names, self.numbers, shares)
        ]
        checked = f"{len(stated)} stated key fact(s), numbers and names checked"
        if len(flags) > self.max_ungrounded:
            return Outcome(label="fail", score=0.0, reason=f"ungrounded: {quote(flags, 4)}")
        tolerated = f" ({len(flags)} tolerated: {quote(flags, 2)})" if flags else ""
        return Outcome(
            label="pass",
            score=1.0,
            reason=f"grounded in received observations: {checked}{tolerated}",
        )
