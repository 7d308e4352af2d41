"""Agents: the Agent protocol and registry, the replay ToolBox, the reference ReAct agent."""

from evals.agents.base import (
    REGISTRY,
    Agent,
    AgentContext,
    AgentError,
    AgentFactory,
    UnknownAgentError,
    UpstreamAnswer,
    agent,
    resolve_agent,
)
from evals.agents.react import ReActAgent, action_schema, case_context, parse_action
from evals.agents.tools import (
    LIVE_TOOLS,
    LiveTool,
    ToolBox,
    ToolResult,
    call_signature,
    normalise,
    register_live_tool,
)

__all__ = [
    "LIVE_TOOLS",
    "REGISTRY",
    "Agent",
    "AgentContext",
    "AgentError",
    "AgentFactory",
    "LiveTool",
    "ReActAgent",
    "ToolBox",
    "ToolResult",
    "UnknownAgentError",
    "UpstreamAnswer",
    "action_schema",
    "agent",
    "call_signature",
    "case_context",
    "normalise",
    "parse_action",
    "register_live_tool",
    "resolve_agent",
]
