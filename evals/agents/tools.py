"""The replay ToolBox: tool calls answered from a case's recorded observations.

Replays are deterministic with respect to the world: a call is answered by the fixture
recorded for the same tool with the same arguments *after normalisation*, so a model
that writes ``{"Name": " ACME  Ltd "}`` where the recording has ``{"name": "acme ltd"}``
still sees the recorded world. Normalisation (both sides, recursively):

- object keys and string values: lower-cased, surrounding whitespace stripped, inner
  runs of whitespace collapsed to one space; key order never matters;
- numbers: ``5``, ``5.0`` and the string ``"5.0"`` are equal; thousands separators in
  numeric strings (``"1,200"``) are ignored; numeric strings with a leading zero
  (``"01234"``, typical of registration numbers) stay strings;
- keys whose value is null are dropped (models often spell out optional arguments).

An unmatched call gets a clear ``no recorded observation for tool(args)`` observation
and is counted; the ToolBox never guesses a "closest" fixture, because a replay that
answers a different question than the one asked would be a lie in the audit trail.

A tool marked ``live`` in the dataset manifest is called for real through a function
registered with :func:`register_live_tool`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from evals.schema import Case, ToolSpec, canonical_json

LiveTool = Callable[[dict[str, Any]], Awaitable[Any]]
"""A live tool implementation: receives the call's arguments, returns the observation."""

LIVE_TOOLS: dict[str, LiveTool] = {}
"""Live tool implementations by tool name."""

_NUMBER = re.compile(r"-?(?:0|[1-9]\d{0,2}(?:,\d{3})+|[1-9]\d*)(?:\.\d+)?")
_SPACE = re.compile(r"\s+")


def register_live_tool(name: str, fn: LiveTool) -> None:
    """Make `name` callable for real when a dataset marks that tool `live: true`."""
    LIVE_TOOLS[name] = fn


def normalise(value: Any) -> Any:
    """The comparable form of an argument value (see the module docstring)."""
    if isinstance(value, dict):
        return {_norm_text(str(k)): normalise(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return _norm_number(float(value))
    if isinstance(value, str):
        text = _norm_text(value)
        if _NUMBER.fullmatch(text):
            return _norm_number(float(text.replace(",", "")))
        return text
    return value


def _norm_text(text: str) -> str:
    return _SPACE.sub(" ", text.strip()).lower()


def _norm_number(number: float) -> int | float:
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def call_signature(tool: str, arguments: dict[str, Any]) -> bytes:
    """The lookup key of a call: tool name and normalised arguments, canonical JSON."""
    return canonical_json([tool.strip().lower(), normalise(arguments)])


def render_call(tool: str, arguments: Any) -> str:
    """A call as shown to the model and to reviewers: ``tool({"arg": ...})``."""
    try:
        args = canonical_json(arguments).decode()
    except TypeError:
        args = repr(arguments)
    if len(args) > 300:
        args = args[:297] + "..."
    return f"{tool}({args})"


@dataclass
class ToolResult:
    """What one tool call returned."""

    observation: Any
    """The recorded (or live) observation, or the no-match notice."""
    matched: bool
    """False when no recorded observation matched (counted in the trace)."""
    live: bool = False
    """True when the tool was called for real."""
    latency_s: float = 0.0
    """Time spent answering."""


class ToolBox:
    """The tools of one case: answers calls from its fixtures, or live where marked."""

    def __init__(self, specs: list[ToolSpec], case: Case) -> None:
        self.specs = {s.name: s for s in specs}
        self._recorded: dict[bytes, Any] = {}
        for fx in case.fixtures:
            # First recording wins: a fixture file may repeat a call; replay the first.
            self._recorded.setdefault(call_signature(fx.tool, fx.arguments), fx.observation)
        self.unmatched = 0
        """Calls that found no recorded observation so far."""

    @property
    def names(self) -> list[str]:
        """Tool names, in manifest order."""
        return list(self.specs)

    def openai_tools(self) -> list[dict[str, Any]]:
        """The tools as OpenAI-format function definitions (native tool calling)."""
        return [
            {
                "type": "function",
                "function": {
                    "name": s.name,
                    "description": s.description,
                    "parameters": s.parameters or {"type": "object"},
                },
            }
            for s in self.specs.values()
        ]

    async def call(self, tool: str, arguments: Any) -> ToolResult:
        """Answer one call. Never raises: problems become observations."""
        start = time.perf_counter()
        if not isinstance(arguments, dict):
            result = self._miss(
                f"arguments of {tool} must be a JSON object, got {render_call(tool, arguments)}"
            )
        elif tool not in self.specs:
            known = ", ".join(self.specs) or "none"
            result = self._miss(f"unknown tool {tool!r}; available tools: {known}")
        elif self.specs[tool].live:
            result = await self._live(tool, arguments)
        else:
            sig = call_signature(tool, arguments)
            if sig in self._recorded:
                result = ToolResult(self._recorded[sig], matched=True)
            else:
                result = self._miss(f"no recorded observation for {render_call(tool, arguments)}")
        result.latency_s = time.perf_counter() - start
        return result

    def _miss(self, notice: str) -> ToolResult:
        self.unmatched += 1
        return ToolResult(notice, matched=False)

    async def _live(self, tool: str, arguments: dict[str, Any]) -> ToolResult:
        fn = LIVE_TOOLS.get(tool)
        if fn is None:
            return self._miss(
                f"live tool {tool!r} has no implementation registered "
                "(evals.agents.register_live_tool)"
            )
        try:
            return ToolResult(await fn(arguments), matched=True, live=True)
        except Exception as exc:  # a live tool's failure is an observation, not a crash
            return ToolResult(
                f"live tool {tool} failed: {type(exc).__name__}: {exc}", matched=True, live=True
            )
