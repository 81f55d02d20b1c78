"""Traces recorded from real agent frameworks, each beside the request bodies the local model
server received (tests/data/frameworks, recorded by scripts/framework_runs/).

The frameworks need virtual environments of their own (some pin OpenAI or OpenTelemetry
versions the other test dependencies cannot share), so the suite reads their recordings. The
check that matters: every model call imports as exactly the conversation the framework sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agenttrace_replay import traces
from agenttrace_replay.importers.messages import normalise_messages
from agenttrace_replay.records import SpanRecord, TraceBundle
from agenttrace_replay.state import build_states

DATA = Path(__file__).parent / "data" / "frameworks"
RUNS = sorted(p.stem for p in DATA.glob("*.json") if not p.name.endswith(".requests.json"))

# What each run holds: its agents and its handoffs (from, to).
EXPECTED: dict[str, dict[str, Any]] = {
    "adk_v2_handoff": {"agents": {"triage_agent", "weather_agent"}, "first_handoff": ("triage_agent", "weather_agent")},
    "agno_team": {"agents": {"Travel Team", "Weather Agent"}},
    "autogen_assistant_oi": {"agents": {"weather_assistant"}},
    "autogen_swarm_oai": {"agents": {"triage_agent", "weather_agent"}, "first_handoff": ("triage_agent", "weather_agent")},
    "crewai_events": {"agents": {"Report Writer", "Weather Researcher"}},
    "crewai_oi": {"agents": {"Report Writer", "Weather Researcher"}},
    "llamaindex_function_agent": {"agents": set()},  # the instrumentation records no agent
    "llamaindex_handoff": {"agents": set(), "first_handoff": (None, "weather")},
    "smolagents_managed": {"agents": {"manager", "weather_agent"}},
    "smolagents_single": {"agents": {"weather_bot"}},
}
# CrewAI's event listener records the tool call it saw with its name quoted ("'get_weather'")
# and its arguments escaped twice: that model call cannot match what was sent.
GARBLED_BY_THE_INSTRUMENTATION = {"crewai_events": 1}


def load(run: str) -> tuple[list[TraceBundle], list[list[dict[str, Any]]]]:
    bundles = traces.parse_text((DATA / f"{run}.json").read_text(), f"{run}.json")
    requests = json.loads((DATA / f"{run}.requests.json").read_text())
    sent = [normalise_messages(r["body"]["messages"]) for r in requests if r["path"].endswith("/chat/completions")]
    return bundles, sent


def without_names(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages without the optional `name` (AutoGen names its user, instrumentations drop it)."""
    return [{k: v for k, v in m.items() if k != "name"} for m in messages]


def model_calls(bundles: list[TraceBundle]) -> list[SpanRecord]:
    return sorted((s for b in bundles for s in b.spans if s.kind == "llm_call"), key=lambda s: s.start_time)


def test_every_recording_is_checked() -> None:
    assert RUNS == sorted(EXPECTED)


@pytest.mark.parametrize("run", RUNS)
def test_each_model_call_imports_as_the_conversation_that_was_sent(run: str) -> None:
    bundles, sent = load(run)
    calls = model_calls(bundles)
    assert len(calls) == len(sent)  # one llm_call per request: no wrapper or helper span counted
    sent_texts = [json.dumps(without_names(m), sort_keys=True) for m in sent]
    unmatched = [s.name for s in calls if json.dumps(without_names(s.input["messages"]), sort_keys=True) not in sent_texts]
    assert len(unmatched) == GARBLED_BY_THE_INSTRUMENTATION.get(run, 0), unmatched


@pytest.mark.parametrize("run", RUNS)
def test_each_run_has_its_agents_and_handoffs(run: str) -> None:
    bundles, _ = load(run)
    expected = EXPECTED[run]
    assert {a.name for b in bundles for a in b.agents} == expected["agents"]
    handoffs = sorted((s for b in bundles for s in b.spans if s.kind == "handoff"), key=lambda s: s.start_time)
    if "first_handoff" in expected:
        assert (handoffs[0].input.get("from_agent"), handoffs[0].input.get("to_agent")) == expected["first_handoff"]
    else:
        assert handoffs == []


@pytest.mark.parametrize("run", RUNS)
def test_each_state_before_a_model_call_ties_tool_results_to_calls(run: str) -> None:
    """Before every model call, each tool result in the history answers a call made before it
    (a chat API refuses a tool message without its call), unless the framework never recorded
    the call as a tool call."""
    bundles, _ = load(run)
    for bundle in bundles:
        for state in build_states(bundle):
            if state.span.kind != "llm_call":
                continue
            asked = {c.get("id") for m in state.messages for c in m.get("tool_calls") or []}
            for message in state.messages:
                if message["role"] == "tool" and asked:
                    assert message.get("tool_call_id") in asked, (run, state.span.name, message)
