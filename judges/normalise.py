"""Text normalisation for deterministic fact matching.

Answers say the same fact in many spellings: "Société Générale" / "societe generale",
"25%" / "25 %" / "25.0 per cent", "1,200,000" / "1200000", "5 March 2019" / "2019-03-05".
`normalise` maps all of these to one canonical form so that a key fact is found by a
plain substring test on token boundaries. It is deliberately conservative: it never
guesses between day-first and month-first numeric dates (``05/03/2019`` stays as is,
only ISO and month-name dates are canonicalised), because a wrong guess would turn a
correct date into a false match.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))

# Dates, before punctuation is stripped (they need their separators).
_ISO_DATE = re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_DAY_MONTH_YEAR = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\.?,?\s+(\d{{4}})\b"
)
_MONTH_DAY_YEAR = re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b")
# Numbers: thousands separators, decimals, percentages.
_THOUSANDS = re.compile(r"(?<![\d.,])(\d{1,3}(?:[,\u00a0\u202f]\d{3})+)(?![\d]|,\d)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|per\s*cent\b|percent\b|pct\b)")
_DECIMAL = re.compile(r"(?<!\d\.)(?<!\d)(\d+)\.(\d+)(?!\.?\d)")
_PUNCT = re.compile(r"[^\w%.\-]+|(?<!\d)[.\-]|[.\-](?!\d)|_")
_SPACE = re.compile(r"\s+")

NUMBER_TOKEN = re.compile(r"(?<![\w])\d[\d.\-]*%?(?![\w])")
"""A number, percentage or ISO date token in normalised text."""


def strip_accents(text: str) -> str:
    """Drop combining marks after canonical decomposition ("é" -> "e")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _drop_invisible(text: str) -> str:
    """Remove format characters (zero-width spaces, bidi overrides, soft hyphens), so
    they cannot hide a fact from, or smuggle one past, the matcher."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def _iso(year: str, month: int, day: str) -> str:
    return f"{int(year):04d}-{month:02d}-{int(day):02d}"


def _canonical_dates(text: str) -> str:
    text = _ISO_DATE.sub(lambda m: _iso(m[1], int(m[2]), m[3]), text)
    text = _DAY_MONTH_YEAR.sub(lambda m: _iso(m[3], MONTHS[m[2]], m[1]), text)
    return _MONTH_DAY_YEAR.sub(lambda m: _iso(m[3], MONTHS[m[1]], m[2]), text)


def _canonical_decimal(m: re.Match[str]) -> str:
    whole, frac = m[1], m[2].rstrip("0")
    return f"{int(whole)}.{frac}" if frac else str(int(whole))


def _canonical_numbers(text: str) -> str:
    text = _THOUSANDS.sub(lambda m: re.sub(r"[,\u00a0\u202f]", "", m[1]), text)
    text = _DECIMAL.sub(_canonical_decimal, text)
    return _PERCENT.sub(lambda m: f"{m[1]}%", text)


def normalise(text: str) -> str:
    """Canonical form for matching: NFKC, no invisible characters, no accents, casefolded,
    dates as ISO, numbers without thousands separators or trailing zeros, percentages as
    ``N%``, punctuation as spaces, single spaces."""
    text = unicodedata.normalize("NFKC", _drop_invisible(text))
    text = strip_accents(text).casefold()
    text = _canonical_dates(text)
    text = _canonical_numbers(text)
    text = _PUNCT.sub(" ", text)
    return _SPACE.sub(" ", text).strip()


def contains(haystack_normalised: str, needle: str) -> bool:
    """Whether `needle` (raw) occurs in already-normalised text on token boundaries."""
    n = normalise(needle)
    return bool(n) and f" {n} " in f" {haystack_normalised} "


@dataclass(frozen=True)
class Match:
    """Where a normalised phrase was found, with a little context for the reason."""

    start: int
    end: int
    context: str


def find(haystack_normalised: str, needle: str) -> Iterator[Match]:
    """Every token-boundary occurrence of `needle` in normalised text."""
    n = normalise(needle)
    if not n:
        return
    padded = f" {haystack_normalised} "
    start = 0
    while (i := padded.find(f" {n} ", start)) >= 0:
        lo, hi = max(0, i - 40), min(len(padded), i + len(n) + 42)
        yield Match(i, i + len(n), padded[lo:hi].strip())
        start = i + 1


def number_tokens(text_normalised: str) -> set[str]:
    """Numbers, percentages and ISO dates in normalised text."""
    return {m.group(0).rstrip(".-") for m in NUMBER_TOKEN.finditer(text_normalised)}
