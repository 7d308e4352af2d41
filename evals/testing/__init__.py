"""Test doubles that run over real HTTP: the fake OpenAI-compatible LLM server."""

from evals.testing.fake_server import FakeLLMServer, serve_forever
from evals.testing.script import (
    FAULT_KINDS,
    FakeRequest,
    FaultKind,
    Reply,
    Rule,
    Script,
    example_of,
)

__all__ = [
    "FAULT_KINDS",
    "FakeLLMServer",
    "FakeRequest",
    "FaultKind",
    "Reply",
    "Rule",
    "Script",
    "example_of",
    "serve_forever",
]
