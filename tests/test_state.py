"""State reconstruction (agenttrace_replay.state): pure functions, no database.

What a checkpoint holds is decided here, so these tests pin the history rules of the
module docstring and, above all, the no-future rule: a state never holds anything from a
span that started after its span, nor the output of a span that had not finished.
"""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta

import pytest
from builders import SYSTEM, T0, agentic_trace, assistant, at, long_trace, rewritten_histories, span, user, weather_trace
from otel_traces import genai_legacy_trace, genai_multi_agent_trace, openinference_trace

from agenttrace_replay import traces
from agenttrace_replay.records import AgentRecord, TraceBundle, TraceRecord
from agenttrace_replay.state import build_states, execution_order, iter_states

FINAL = "FINAL: sunny in Paris"


def by_span(states):
    return {s.span.span_id: s for s in states}


def text_of(state) -> str:
    return json.dumps(state.to_dict(), ensure_ascii=False, default=str)


def bundle_of(spans, agents=(), trace_id="t") -> TraceBundle:
    return TraceBundle(TraceRecord(trace_id=trace_id), list(agents), list(spans))


# --- the weather trace: an agent span that ends after its children ------------------------


def test_weather_states_hold_the_history_so_far_in_execution_order() -> None:
    states = build_states(weather_trace())
    assert [s.span.span_id for s in states] == ["s-agent", "s-llm1", "s-tool", "s-llm2"]
    assert [s.step for s in states] == [0, 1, 2, 3]
    st = by_span(states)

    # before the first LLM call nothing has been said yet; the prompt is the span's input
    assert st["s-llm1"].messages == []
    assert st["s-llm1"].to_dict()["input"]["messages"] == [SYSTEM, user("What's the weather in Paris?")]

    # before the tool: the prompt and the assistant's tool call
    call = {"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
    assert st["s-tool"].messages == [SYSTEM, user("What's the weather in Paris?"), assistant(None, [call])]
    assert [c["span_id"] for c in st["s-tool"].completed] == ["s-llm1"]

    # before the second LLM call: the tool's result as a tool message
    assert st["s-llm2"].messages[-1] == {"role": "tool", "content": "sunny, 21C", "tool_call_id": "call_1", "name": "get_weather"}
    assert [c["span_id"] for c in st["s-llm2"].completed] == ["s-llm1", "s-tool"]
    assert st["s-llm2"].completed[1]["output"] == {"result": "sunny, 21C"}


def test_weather_state_carries_agent_config_and_position() -> None:
    state = by_span(build_states(weather_trace()))["s-tool"].to_dict("chk-x")
    assert set(state) == {"checkpoint_id", "trace_id", "step", "span", "agent", "messages", "input", "completed"}
    assert state["checkpoint_id"] == "chk-x"
    assert state["trace_id"] == "trace-weather"
    assert state["agent"] == {
        "agent_id": "agent-weather", "name": "weather", "role": "answers weather questions", "model": "gpt-test",
        "framework": None, "config": {"tools": ["get_weather"]},
    }
    assert state["span"]["span_id"] == "s-tool"
    assert state["span"]["kind"] == "tool_call"
    assert state["span"]["parent_chain"] == ["s-agent"]
    assert state["input"] == {"name": "get_weather", "arguments": {"city": "Paris"}, "call_id": "call_1"}


def test_a_parent_that_ends_after_its_children_never_leaks_its_output() -> None:
    states = build_states(weather_trace())
    for state in states:
        assert FINAL not in text_of(state), state.span.span_id
        assert "s-agent" not in [c["span_id"] for c in state.completed]


def test_nothing_from_a_later_span_reaches_an_earlier_state() -> None:
    st = by_span(build_states(weather_trace()))
    # the second LLM call's answer and the tool's result come after the tool span started
    assert "It is sunny in Paris" not in text_of(st["s-tool"])
    assert "sunny, 21C" not in text_of(st["s-tool"])
    assert "sunny, 21C" not in text_of(st["s-llm1"])
    # a span's own output is never in its own state
    assert "It is sunny in Paris" not in text_of(st["s-llm2"])


def test_requested_spans_only_and_the_same_states_as_a_full_build() -> None:
    bundle = weather_trace()
    full = {s.span.span_id: s.to_dict() for s in build_states(bundle)}
    some = build_states(bundle, ["s-llm2", "s-tool"])
    assert [s.span.span_id for s in some] == ["s-tool", "s-llm2"]
    for state in some:
        assert state.to_dict() == full[state.span.span_id]


# --- history rules ------------------------------------------------------------------------


def _tool(sid, start, end, call_id, result, **kw):
    return span("t", sid, f"execute_tool {sid}", start, end, kind="tool_call", agent_id="a",
                input={"name": "lookup", "arguments": {}, "call_id": call_id}, output={"result": result}, **kw)


def _llm(sid, start, end, prompt, reply, agent="a"):
    return span("t", sid, "chat", start, end, kind="llm_call", agent_id=agent,
                input={"messages": prompt}, output={"messages": reply})


def test_tool_result_not_added_twice_when_the_next_prompt_already_has_it() -> None:
    call = {"id": "c1", "name": "lookup", "arguments": {}}
    result = {"role": "tool", "content": "42", "tool_call_id": "c1", "name": "lookup"}
    spans = [
        _llm("s1", 0, 10, [user("q")], [assistant(None, [call])]),
        _tool("s2", 20, 100, "c1", "42"),  # ends after the next LLM call started
        _llm("s3", 50, 60, [user("q"), assistant(None, [call]), result], [assistant("it is 42")]),
        _llm("s4", 200, 210, [user("next")], [assistant("ok")]),
    ]
    st = by_span(build_states(bundle_of(spans)))
    assert st["s3"].messages == [user("q"), assistant(None, [call])]  # the tool had not finished
    assert st["s4"].messages == [user("q"), assistant(None, [call]), result, assistant("it is 42")]


def test_tool_results_and_errors_become_tool_messages() -> None:
    spans = [
        _tool("s1", 0, 10, "c1", {"temp": 21}),
        _tool("s2", 20, 30, "c2", None, status="error", error="HTTP 503"),
        _tool("s3", 40, 50, None, "plain"),
        _tool("s5", 52, 55, "c5", "Try again later.", status="error", error="HTTP 429"),
        _llm("s4", 60, 70, [], [assistant("done")]),
    ]
    messages = by_span(build_states(bundle_of(spans)))["s4"].messages
    assert messages == [
        {"role": "tool", "content": '{"temp": 21}', "tool_call_id": "c1", "name": "lookup"},
        {"role": "tool", "content": "error: HTTP 503", "tool_call_id": "c2", "name": "lookup"},
        {"role": "tool", "content": "plain", "name": "lookup"},
        {"role": "tool", "content": "Try again later.", "tool_call_id": "c5", "name": "lookup"},  # what the agent got
    ]


def test_prompts_that_record_only_new_turns_are_appended() -> None:
    bundle = long_trace(4)
    states = build_states(bundle)
    last = states[-1].messages
    assert [m["role"] for m in last] == ["user", "assistant"] * 3
    assert [m["content"] for m in last if m["role"] == "assistant"] == ["ok 0", "ok 1", "ok 2"]
    # every state extends the previous one: the history only grows
    for before, after in zip(states, states[1:]):
        assert after.messages[: len(before.messages)] == before.messages


def test_a_complete_prompt_replaces_the_history() -> None:
    spans = [
        _llm("s1", 0, 10, [SYSTEM, user("a")], [assistant("A")]),
        _llm("s2", 20, 30, [SYSTEM, user("summary of a")], [assistant("B")]),  # a rewritten prompt
        _llm("s3", 40, 50, [], []),
    ]
    st = by_span(build_states(bundle_of(spans)))
    assert st["s3"].messages == [SYSTEM, user("summary of a"), assistant("B")]


def test_a_prompt_resent_without_its_system_message_keeps_the_system_message() -> None:
    """Legacy instrumentations record the system prompt apart: no duplicated turns."""
    call = {"id": "c1", "name": "calc", "arguments": {"e": "17*23"}}
    spans = [
        _llm("s1", 0, 10, [SYSTEM, user("17*23?")], [assistant(None, [call])]),
        span("t", "s2", "calc", 20, 30, kind="tool_call", agent_id="a", input={"name": "calc", "call_id": None}),
        _llm("s3", 40, 50, [user("17*23?"), assistant(None, [call]), {"role": "tool", "content": "391", "tool_call_id": "c1"}],
             [assistant("391")]),
        _llm("s4", 60, 70, [], []),
    ]
    st = by_span(build_states(bundle_of(spans)))
    assert st["s4"].messages == [
        SYSTEM, user("17*23?"), assistant(None, [call]), {"role": "tool", "content": "391", "tool_call_id": "c1"}, assistant("391"),
    ]


def test_each_agent_has_its_own_history() -> None:
    spans = [
        _llm("s1", 0, 10, [user("to a")], [assistant("from a")], agent="a"),
        _llm("s2", 20, 30, [user("to b")], [assistant("from b")], agent="b"),
        _llm("s3", 40, 50, [], [], agent="a"),
        _llm("s4", 60, 70, [], [], agent="b"),
    ]
    st = by_span(build_states(bundle_of(spans)))
    assert st["s3"].messages == [user("to a"), assistant("from a")]
    assert st["s4"].messages == [user("to b"), assistant("from b")]
    # finished spans of every agent are listed, in the order they finished
    assert [c["span_id"] for c in st["s4"].completed] == ["s1", "s2", "s3"]


# --- execution order ----------------------------------------------------------------------


def test_same_start_time_parent_before_child_then_span_id() -> None:
    spans = [
        span("t", "a-child", "child", 0, 5, parent_span_id="z-parent"),
        span("t", "z-parent", "parent", 0, 10),
        span("t", "b-grandchild", "grandchild", 0, 1, parent_span_id="a-child"),
        span("t", "m-sibling", "sibling", 0, 2, parent_span_id="z-parent"),
        span("t", "c-first", "earlier", -1, 20),
        span("t", "n-unknown", "no start", 0, None),
    ]
    spans[-1].start_time = None
    order = [s.span_id for s in execution_order(spans)]
    assert order == ["c-first", "z-parent", "a-child", "m-sibling", "b-grandchild", "n-unknown"]
    states = build_states(bundle_of(spans))
    assert [s.span.span_id for s in states] == order
    assert [s.step for s in states] == list(range(len(order)))


def test_a_parent_chain_with_a_cycle_or_a_missing_parent_ends() -> None:
    spans = [
        span("t", "x", "x", 0, 5, parent_span_id="y"),
        span("t", "y", "y", 1, 5, parent_span_id="x"),
        span("t", "z", "z", 2, 5, parent_span_id="gone"),
    ]
    st = by_span(build_states(bundle_of(spans)))
    assert st["x"].parent_chain == ["y"]
    assert st["y"].parent_chain == ["x"]
    assert st["z"].parent_chain == []


# --- zero-length spans and equal times ----------------------------------------------------


def test_zero_length_span_finished_before_a_span_starting_at_the_same_moment() -> None:
    spans = [
        _tool("s1", 10, 10, "c1", "result-of-s1"),
        _llm("s2", 10, 20, [], []),  # starts when s1 ends, after it in execution order
        _tool("s0", 10, 10, "c0", "result-of-s0"),  # same moment, zero length, before s1 by id
    ]
    st = by_span(build_states(bundle_of(spans)))
    assert [s.span.span_id for s in build_states(bundle_of(spans))] == ["s0", "s1", "s2"]
    assert [c["span_id"] for c in st["s2"].completed] == ["s0", "s1"]
    assert [c["span_id"] for c in st["s1"].completed] == ["s0"]
    assert st["s0"].completed == []
    assert "result-of" not in text_of(st["s0"])
    assert "result-of-s1" not in text_of(st["s1"])


def test_a_span_ending_exactly_when_another_starts_has_finished() -> None:
    spans = [_tool("s1", 0, 10, "c1", "done at ten"), _llm("s2", 10, 20, [], [])]
    st = by_span(build_states(bundle_of(spans)))
    assert [c["span_id"] for c in st["s2"].completed] == ["s1"]
    assert st["s2"].messages[0]["content"] == "done at ten"


def test_an_end_before_the_start_counts_at_the_start() -> None:
    """Clock skew: a span recorded as ending before it started finishes right after its start."""
    spans = [_tool("s1", 10, 5, "c1", "skewed"), _llm("s0", 7, 30, [], []), _llm("s2", 12, 30, [], [])]
    st = by_span(build_states(bundle_of(spans)))
    assert st["s0"].completed == []  # s1 had not started yet
    assert [c["span_id"] for c in st["s2"].completed] == ["s1"]


def test_a_span_still_running_is_never_completed() -> None:
    spans = [_tool("s1", 0, None, "c1", "never"), _llm("s2", 10, 20, [], [])]
    st = by_span(build_states(bundle_of(spans)))
    assert st["s2"].completed == []
    assert "never" not in text_of(st["s2"])


# --- the no-future property over random timings -------------------------------------------

MARK = re.compile(r"<(IN|OUT):([^>]+)>")
KINDS = ["llm_call", "tool_call", "agent_message", "handoff", "checkpoint", None]


def random_bundle(rng: random.Random, n: int) -> TraceBundle:
    """Spans with random kinds, agents, parents and times on a coarse grid (so ties happen),
    zero-length spans, ends before starts and spans that never end. Every input carries an
    ``<IN:id>`` mark and every output (and outcome attribute) an ``<OUT:id>`` mark."""
    spans = []
    for i in range(n):
        sid = f"s{rng.randrange(1000):03d}-{i}"
        kind = rng.choice(KINDS)
        agent = rng.choice(["a", "b", None])
        start = rng.randrange(0, 12) * 5
        end_choice = rng.random()
        end = None if end_choice < 0.1 else start - 5 if end_choice < 0.15 else start + rng.choice([0, 0, 5, 10, 30, 60])
        parent = rng.choice([s.span_id for s in spans]) if spans and rng.random() < 0.7 else None
        if kind == "llm_call":
            inp = {"messages": [user(f"<IN:{sid}>")] if rng.random() < 0.8 else [SYSTEM, user(f"<IN:{sid}>")]}
            out = {"messages": [assistant(f"<OUT:{sid}>")]}
        elif kind == "tool_call":
            inp = {"name": "tool", "arguments": {"q": f"<IN:{sid}>"}, "call_id": f"call-{sid}"}
            out = {"result": f"<OUT:{sid}>"}
        else:
            inp, out = {"value": f"<IN:{sid}>"}, {"value": f"<OUT:{sid}>"}
        attributes = {
            "gen_ai.request.model": f"<IN:{sid}>",
            "gen_ai.response.id": f"<OUT:{sid}>",
            "gen_ai.usage.output_tokens": f"<OUT:{sid}>",
            "otel.events": [{"name": "gen_ai.choice", "attributes": {"message": f"<OUT:{sid}>"}}],
        }
        spans.append(span("t", sid, kind or "step", start, end, kind=kind, agent_id=agent, parent_span_id=parent,
                          input=inp, output=out, attributes=attributes,
                          status=rng.choice(["ok", "ok", "error"]), error=f"<OUT:{sid}>"))
    rng.shuffle(spans)
    agents = [AgentRecord(agent_id=a, trace_id="t", name=a) for a in ("a", "b")]
    return TraceBundle(TraceRecord(trace_id="t", start_time=T0), agents, spans)


@pytest.mark.parametrize("seed", range(60))
def test_no_state_holds_anything_from_the_future(seed: int) -> None:
    rng = random.Random(seed)
    bundle = random_bundle(rng, rng.randrange(2, 25))
    states = build_states(bundle)
    assert len(states) == len(bundle.spans)
    step = {s.span.span_id: s.step for s in states}
    by_id = {s.span_id: s for s in bundle.spans}
    for state in states:
        me = state.span
        finished_before = {
            s.span_id for s in bundle.spans
            if s.end_time is not None and step[s.span_id] < state.step and s.end_time <= me.start_time
        }
        done = [c["span_id"] for c in state.completed]
        assert set(done) == finished_before, f"seed {seed}, state of {me.span_id}"
        assert len(done) == len(set(done))
        for sid in done:
            assert by_id[sid].end_time <= me.start_time
        for kind, sid in MARK.findall(text_of(state)):
            if kind == "OUT":
                assert sid in finished_before, f"seed {seed}: output of {sid} in the state of {me.span_id}"
            else:
                assert step[sid] <= state.step, f"seed {seed}: input of later {sid} in the state of {me.span_id}"


# --- states share the run's lists, and keep their own contents ---------------------------


@pytest.mark.parametrize("seed", range(12))
def test_a_state_keeps_its_lists_while_later_events_rewrite_the_history(seed: int) -> None:
    # iter_states hands out views of lists it goes on appending to: a view read after the run
    # must still give the list as it was when its state was made, rewrites and retries included
    bundle = agentic_trace(seed, 40) if seed % 2 else random_bundle(random.Random(seed), 40)
    views, at_the_time = [], []
    for view in iter_states(bundle):
        views.append(view)
        at_the_time.append(view.materialise().to_dict())
    assert [v.materialise().to_dict() for v in views] == at_the_time
    assert [s.to_dict() for s in build_states(bundle)] == at_the_time
    if seed % 2:  # the agentic traces do rewrite histories, so the test can fail
        assert rewritten_histories(build_states(bundle)) > 0


def test_a_retry_or_a_complete_prompt_changes_only_later_states() -> None:
    spans = _retry_spans("c1", "c1") + [
        _llm("s5", 80, 90, [SYSTEM, user("q again")], [assistant("short")]),  # replaces the history
        _llm("s6", 100, 110, [], [assistant("end")]),
    ]
    views = {v.span.span_id: v for v in iter_states(bundle_of(spans))}  # all read after the run
    assert [m["content"] for m in views["s3"].messages] == ["q", None, "error: HTTP 503"]
    assert [m["content"] for m in views["s4"].messages] == ["q", None, "42"]
    assert [m["content"] for m in views["s5"].messages] == ["q", None, "42", "done"]
    assert [m["content"] for m in views["s6"].messages] == [SYSTEM["content"], "q again", "short"]


# --- traces imported from the OpenTelemetry conventions -----------------------------------


def _states_of(text: str):
    (bundle,) = traces.parse_text(text)
    return bundle, build_states(bundle)


def test_genai_multi_agent_histories_tool_results_and_handoff() -> None:
    bundle, states = _states_of(genai_multi_agent_trace())
    handoff = next(s for s in states if s.span.kind == "handoff")
    assert handoff.agent is not None and handoff.agent.name == "supervisor"
    roles = [m["role"] for m in handoff.messages]
    assert roles == ["system", "user", "assistant", "tool", "tool", "assistant"]
    tools = [m for m in handoff.messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tools] == ["call_lookup_1", "call_invoice_1"]
    assert json.loads(tools[0]["content"]) == {"customer_id": "C-881", "plan": "Pro", "status": "active"}
    assert tools[1]["content"].startswith("error:")
    assert handoff.messages[-1]["tool_calls"][0]["name"] == "transfer_to_billing_specialist"

    # the specialist starts with its own, empty history; its prompt is the span's input
    billing = next(s for s in states if s.span.kind == "llm_call" and s.span.model == "claude-3-5-sonnet")
    assert billing.agent is not None and billing.agent.name == "billing_specialist"
    assert billing.messages == []
    assert "invoice lookup failed" in billing.to_dict()["input"]["messages"][-1]["content"]

    # the specialist's answer exists only after its chat span finished
    answer = "You were charged twice because"
    for state in states:
        if state.step <= billing.step:
            assert answer not in text_of(state), state.span.name
    last = states[-1]
    assert last.span.kind == "llm_call" and answer in text_of(last)


def test_genai_tool_state_before_the_tool_ran() -> None:
    _bundle, states = _states_of(genai_multi_agent_trace())
    invoice = next(s for s in states if s.span.name == "execute_tool get_invoice")
    text = text_of(invoice)
    # its own failure is in the future (not a bare "503": the SDK's random hex ids can hold it)
    assert "HTTP 503" not in text and "returned 503" not in text
    assert invoice.to_dict()["input"]["arguments"] == {"invoice_id": "INV-1042"}
    assert [m["tool_call_id"] for m in invoice.messages if m["role"] == "tool"] == ["call_lookup_1"]


def test_genai_legacy_events_of_a_span_are_not_in_its_own_state() -> None:
    _bundle, states = _states_of(genai_legacy_trace())
    thanks = next(s for s in states if "Say thanks in French." in json.dumps(s.span.input))
    italy = next(s for s in states if "Capital of Italy?" in json.dumps(s.span.input))
    assert "Merci" not in text_of(thanks)
    assert "Rome" not in text_of(italy)
    assert "otel.events" not in thanks.to_dict()["span"]["attributes"]
    # the second openai.chat re-sent the conversation without the system prompt: no repeats
    after = thanks
    users = [m["content"] for m in after.messages if m["role"] == "user"]
    assert users == ["What is 17 * 23?"]
    assert after.messages[0]["role"] == "system"
    assert {"role": "tool", "content": "391", "tool_call_id": "call_calc_1"} in after.messages


def test_openinference_trace_states() -> None:
    _bundle, states = _states_of(openinference_trace())
    answer = "The James Webb telescope launched on 25 December 2021."
    for state in states:
        assert answer not in text_of(state), state.span.name  # the agent span's and last LLM's output
    llms = [s for s in states if s.span.kind == "llm_call"]
    assert len(llms) == 2
    assert llms[0].messages == []
    second = llms[1]
    assert second.agent is not None and second.agent.name == "researcher"
    assert [m["role"] for m in second.messages][:3] == ["system", "user", "assistant"]
    search = next(m for m in second.messages if m.get("tool_call_id") == "call_s1")
    assert json.loads(search["content"])[0]["url"] == "https://science.nasa.gov/webb"
    assert second.messages[2]["tool_calls"][0]["name"] == "web_search"
    done = {c["name"] for c in second.completed}
    assert {"plan", "ChatOpenAI", "web_search", "retrieve"} <= done
    assert "research_agent" not in done
    tool = next(s for s in states if s.span.name == "web_search")
    assert "science.nasa.gov" not in text_of(tool)
    assert "retrieval.documents.0.document.content" not in next(s for s in states if s.span.name == "retrieve").to_dict()["span"]["attributes"]


def test_times_are_only_compared_not_assumed_on_a_grid() -> None:
    """Microsecond-apart spans (real SDK traces) keep their order."""
    spans = [_llm("s1", 0, 0.002, [user("x")], [assistant("y")]), _llm("s2", 0.001, 0.003, [], [])]
    st = by_span(build_states(bundle_of(spans)))
    assert st["s2"].completed == []
    assert st["s2"].messages == [user("x")]  # s1's prompt, not its answer
    assert spans[1].start_time - spans[0].start_time == timedelta(microseconds=1)
    assert at(0) == T0


def test_a_handoff_called_as_a_tool_answers_its_call() -> None:
    call = {"id": "c9", "name": "transfer_to_billing", "arguments": {}}
    spans = [
        _llm("s1", 0, 10, [user("q")], [assistant(None, [call])]),
        span("t", "s2", "execute_tool transfer_to_billing", 20, 30, kind="handoff", agent_id="a",
             input={"from_agent": "a", "to_agent": "billing", "name": "transfer_to_billing", "call_id": "c9"},
             output={"result": "Transferred"}),
        _llm("s3", 40, 50, [], [assistant("ok")]),
    ]
    history = by_span(build_states(bundle_of(spans)))["s3"].messages
    assert history[-1] == {"role": "tool", "content": "Transferred", "tool_call_id": "c9", "name": "transfer_to_billing"}


# --- retried tool calls -------------------------------------------------------------------


def _retry_spans(first_id, second_id, args_second=None):
    call = {"id": "c1", "name": "lookup", "arguments": {"q": 1}}
    second_args = {"q": 1} if args_second is None else args_second
    return [
        _llm("s1", 0, 10, [user("q")], [assistant(None, [call])]),
        span("t", "s2", "lookup", 20, 30, kind="tool_call", agent_id="a", status="error", error="HTTP 503",
             input={"name": "lookup", "arguments": {"q": 1}, "call_id": first_id}, output=None),
        span("t", "s3", "lookup", 40, 50, kind="tool_call", agent_id="a",
             input={"name": "lookup", "arguments": second_args, "call_id": second_id}, output={"result": "42"}),
        _llm("s4", 60, 70, [], [assistant("done")]),
    ]


@pytest.mark.parametrize("ids", [(None, None), ("c1", "c1")], ids=["no call ids", "same call id"])
def test_a_retried_tool_call_answers_with_the_retrys_result(ids) -> None:
    st = by_span(build_states(bundle_of(_retry_spans(*ids))))
    assert st["s3"].messages[-1] == {"role": "tool", "content": "error: HTTP 503", "tool_call_id": "c1", "name": "lookup"}
    tools = [m for m in st["s4"].messages if m["role"] == "tool"]
    assert tools == [{"role": "tool", "content": "42", "tool_call_id": "c1", "name": "lookup"}]


def test_a_later_call_with_other_arguments_is_not_a_retry() -> None:
    messages = by_span(build_states(bundle_of(_retry_spans(None, None, args_second={"q": 2}))))["s4"].messages
    assert [m.get("tool_call_id") for m in messages if m["role"] == "tool"] == ["c1", None]
    assert [m["content"] for m in messages if m["role"] == "tool"] == ["error: HTTP 503", "42"]


def test_a_successful_call_is_never_replaced_by_a_later_one() -> None:
    spans = _retry_spans("c1", "c1")
    spans[1].status, spans[1].error, spans[1].output = "ok", None, {"result": "41"}
    messages = by_span(build_states(bundle_of(spans)))["s4"].messages
    assert [m["content"] for m in messages if m["role"] == "tool"] == ["41"]


# --- which attributes a checkpoint leaves out -----------------------------------------------


@pytest.mark.parametrize("key", [
    "gen_ai.response.model", "ai.toolCall.result", "mlflow.spanOutputs", "traceloop.entity.output",
    "tool_response", "llm.output_messages.0.message.content", "error.type",
])
def test_outcome_attributes_are_left_out(key) -> None:
    from agenttrace_replay.state import light_attributes

    assert light_attributes({key: "x"}) == {}


@pytest.mark.parametrize("key", [
    "gen_ai.request.choice.count", "llm.request.tool_choice", "llm.request.functions.0.name",
    "ai.settings.toolChoice", "llm.tool_choice", "gen_ai.request.model", "tool.name",
])
def test_what_was_asked_for_stays_in(key) -> None:
    from agenttrace_replay.state import light_attributes

    assert light_attributes({key: "x"}) == {key: "x"}
