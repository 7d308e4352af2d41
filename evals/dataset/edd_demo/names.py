"""Name matching for screening: token lists compared word by word, order-free."""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from functools import cache

NAME_NOISE = {"jr", "sr", "junior", "senior", "ii", "iii", "iv", "mr", "mrs", "ms", "dr"}
# fmt: off
ORG_NOISE = {
    "ltd", "limited", "pte", "private", "gmbh", "llc", "inc", "co", "company", "corp",
    "corporation", "plc", "sa", "ag", "lp", "llp", "the", "and", "of",
}
# fmt: on
MATCH_THRESHOLD = 0.85
TOKEN_THRESHOLD = 0.75


def name_tokens(name: str, org: bool = False) -> tuple[str, ...]:
    """Accent-free, case-folded name tokens without punctuation, suffixes or initials."""
    s = unicodedata.normalize("NFKD", name)
    s = "".join(c for c in s if not unicodedata.combining(c)).casefold()
    noise = ORG_NOISE if org else NAME_NOISE
    return tuple(t for t in re.split(r"[^\w]+", s) if len(t) > 1 and t not in noise)


@cache
def _token_ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def name_score(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """Similarity of two token lists in [0, 1]; 0 when they cannot match.

    Each token of the shorter name is paired with the most similar unused token of the
    longer one; the score is the mean of those similarities and counts only when every
    pair reaches TOKEN_THRESHOLD and starts with the same letter (or reaches 0.9). The
    shorter name needs two tokens (one when both names are single words) and at least
    half as many tokens as the longer one. Word order does not matter.
    """
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if not short or (len(short) < 2 and len(long) > 1) or 2 * len(short) < len(long):
        return 0.0
    free = list(long)
    ratios = []
    for tok in short:
        best = max(free, key=lambda o: (_token_ratio(tok, o), o == tok))
        r = _token_ratio(tok, best)
        if r < TOKEN_THRESHOLD or (r < 0.9 and tok[0] != best[0]):
            return 0.0
        ratios.append(r)
        free.remove(best)
    return round(sum(ratios) / len(ratios), 2)


class NameIndex:
    """Candidate lookup by two-letter token prefix, then exact scoring."""

    def __init__(self, entries: list[tuple[str, str, tuple[str, ...]]]) -> None:
        self.entries = entries  # (key, name, tokens)
        self.by_prefix: dict[str, list[int]] = defaultdict(list)
        for i, (_, _, toks) in enumerate(entries):
            for p in sorted({t[:2] for t in toks}):
                self.by_prefix[p].append(i)

    def search(self, toks: tuple[str, ...]) -> list[tuple[float, str, str]]:
        """(score, key, matched name) of every entry at or above MATCH_THRESHOLD."""
        cand: set[int] = set()
        for p in {t[:2] for t in toks}:
            cand.update(self.by_prefix.get(p, ()))
        out = []
        for i in sorted(cand):
            key, name, etoks = self.entries[i]
            s = name_score(toks, etoks)
            if s >= MATCH_THRESHOLD:
                out.append((s, key, name))
        return out
