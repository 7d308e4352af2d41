"""Rendering judge prompts with untrusted text quoted as data.

Candidate answers, tool arguments and tool observations are written by a model or by the
outside world, so they are attacker-controlled as far as a judge is concerned. They go
into the prompt only inside a data block::

    <<<DATA id=3f9c0a1b2c3d4e5f name=candidate_answer>>>
    ...the text, escaped...
    <<<END DATA id=3f9c0a1b2c3d4e5f>>>

- The id is a random nonce drawn after the text was written (per render, or per judge
  object so that every call shares a cacheable prompt prefix), so text inside cannot
  forge a closing marker: it cannot know the id (and a render whose data happens to
  contain the nonce draws another).
- Inside the data, every run of three or more angle brackets (ASCII, full-width and
  small-form variants) is broken up (``<<<`` becomes ``< < <``), so even the marker
  *shape* cannot appear; invisible format characters (zero-width, bidi overrides) are
  shown as ``[U+200B]`` so the judge sees what a human reviewer would not.
- Very long text keeps its head and tail around a ``[... N characters truncated ...]``
  marker, so a padded answer cannot push the instructions out of the context window.
- The prompt file's instructions say the blocks are data to evaluate and never
  instructions; the final reminder comes after the last block.

Prompt files (``judges/prompts/*.md``) have a ``=== system ===`` and a ``=== user ===``
section. ``{{name}}`` is replaced by a trusted field (from the golden set), ``{{data:name}}``
by a data block, ``{{nonce}}`` by the render's nonce. Substitution is one pass, so a
value is never scanned for further placeholders.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from evals.errors import InputError

PROMPTS_DIR = Path(__file__).parent / "prompts"

_PLACEHOLDER = re.compile(r"\{\{\s*(data:)?([a-z_]+)\s*\}\}")
_SECTION = re.compile(r"^=== (system|user) ===[ \t]*$", re.MULTILINE)
_BRACKET_RUN = re.compile(r"[<\uff1c\ufe64]{3,}|[>\uff1e\ufe65]{3,}")
_OPEN = re.compile(r"<<<DATA id=([0-9a-f]{16}) name=([a-z_]+)>>>\n")
TRUNCATION_MARKER = "[... {n} characters truncated ...]"


class PromptError(InputError):
    """A judge prompt file that cannot be used (missing section or placeholder)."""


@dataclass(frozen=True)
class PromptTemplate:
    """A judge prompt file: its two sections and the hash of its text."""

    name: str
    system: str
    user: str
    sha256: str

    @property
    def data_names(self) -> list[str]:
        """The data blocks the template expects."""
        text = self.system + self.user
        return [m[2] for m in _PLACEHOLDER.finditer(text) if m[1]]


def parse_template(name: str, text: str) -> PromptTemplate:
    """Split a prompt file's text into its sections."""
    parts = _SECTION.split(text)
    sections = dict(zip(parts[1::2], (p.strip("\n") for p in parts[2::2]), strict=True))
    if set(sections) != {"system", "user"}:
        raise PromptError(f"prompt {name!r}: needs '=== system ===' and '=== user ===' sections")
    return PromptTemplate(
        name, sections["system"], sections["user"], hashlib.sha256(text.encode()).hexdigest()
    )


@cache
def load_template(ref: str) -> PromptTemplate:
    """A prompt by name (``rubric`` -> ``judges/prompts/rubric.md``) or by file path."""
    path = Path(ref)
    if path.suffix != ".md":
        path = PROMPTS_DIR / f"{ref}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"prompt {ref!r}: cannot read {path} ({exc.strerror})") from None
    return parse_template(str(ref), text)


def truncate(text: str, max_chars: int) -> str:
    """Keep the head and the tail of an over-long text around a marker."""
    if len(text) <= max_chars:
        return text
    keep = max(max_chars - 48, 2)
    head, tail = text[: keep * 2 // 3], text[len(text) - keep // 3 :]
    return f"{head}\n{TRUNCATION_MARKER.format(n=len(text) - len(head) - len(tail))}\n{tail}"


def escape_data(text: str) -> str:
    """Make untrusted text unable to look like a block marker or hide characters."""
    shown = "".join(f"[U+{ord(ch):04X}]" if unicodedata.category(ch) == "Cf" else ch for ch in text)
    shown = _BRACKET_RUN.sub(lambda m: " ".join(m.group(0)), shown)
    return shown.replace("\r\n", "\n").replace("\r", "\n")


def open_marker(nonce: str, name: str) -> str:
    """First line of a data block."""
    return f"<<<DATA id={nonce} name={name}>>>\n"


def close_marker(nonce: str) -> str:
    """Last line of a data block."""
    return f"\n<<<END DATA id={nonce}>>>"


@dataclass
class RenderedPrompt:
    """Chat messages ready for the gateway, with the nonce used and the data placed."""

    messages: list[dict[str, str]]
    nonce: str
    data: dict[str, str] = field(default_factory=dict)
    """Each data block's content as placed (escaped and truncated)."""


def render(
    template: PromptTemplate,
    fields: dict[str, str],
    data: dict[str, str],
    max_chars: dict[str, int] | None = None,
    nonce: str | None = None,
) -> RenderedPrompt:
    """Fill a template: trusted `fields` verbatim, untrusted `data` in delimited blocks."""
    limits = max_chars or {}
    placed = {k: escape_data(truncate(v, limits.get(k, 8000))) for k, v in data.items()}
    missing = set(template.data_names) - set(placed)
    if missing:
        raise PromptError(f"prompt {template.name!r}: no data for {sorted(missing)}")
    while nonce is None or any(nonce in v for v in (*placed.values(), *fields.values())):
        nonce = secrets.token_hex(8)
    final_nonce = nonce

    def fill(text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            if m[1]:
                return open_marker(final_nonce, m[2]) + placed[m[2]] + close_marker(final_nonce)
            if m[2] == "nonce":
                return final_nonce
            if m[2] not in fields:
                raise PromptError(f"prompt {template.name!r}: no value for {{{{{m[2]}}}}}")
            return escape_data(fields[m[2]])

        return _PLACEHOLDER.sub(sub, text)

    messages = [
        {"role": "system", "content": fill(template.system)},
        {"role": "user", "content": fill(template.user)},
    ]
    for message in messages:  # the guarantee, checked on every render, not just in tests
        try:
            split_data_blocks(message["content"], final_nonce)
        except ValueError as exc:
            raise PromptError(f"prompt {template.name!r}: unsafe render: {exc}") from None
    return RenderedPrompt(messages, final_nonce, placed)


@dataclass
class ParsedPrompt:
    """A rendered prompt split into the instruction text and the data blocks."""

    outside: str
    blocks: dict[str, str]


def split_data_blocks(text: str, nonce: str) -> ParsedPrompt:
    """Parse a rendered message: every block must open and close with this nonce, and no
    marker shape may remain outside the blocks. Raises ValueError otherwise. Used by the
    tests and as a self-check of every render."""
    outside: list[str] = []
    blocks: dict[str, str] = {}
    pos = 0
    while (m := _OPEN.search(text, pos)) is not None:
        if m[1] != nonce:
            raise ValueError(f"block {m[2]!r} opened with a foreign id {m[1]}")
        outside.append(text[pos : m.start()])
        end = text.find(close_marker(nonce), m.end())
        if end < 0:
            raise ValueError(f"block {m[2]!r} is never closed")
        blocks[m[2]] = text[m.end() : end]
        pos = end + len(close_marker(nonce))
    outside.append(text[pos:])
    rest = "".join(outside)
    if "<<<" in rest or ">>>" in rest:
        raise ValueError("a marker shape appears outside the data blocks")
    for name, body in blocks.items():
        if _BRACKET_RUN.search(body) or nonce in body:
            raise ValueError(f"block {name!r} contains a marker shape or the nonce")
    return ParsedPrompt(rest, blocks)
