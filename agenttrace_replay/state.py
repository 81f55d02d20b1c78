"""Reconstructing an agent's state just before a span starts, from a trace's spans.

Pure functions over a `TraceBundle`: no database. The state never contains anything from a
span that started after the checkpoint's span, nor the output of a span that had not
finished when it started (a parent that ends after its children, say).

The agent's chat history is rebuilt by replaying the trace's events in time order:

- when an ``llm_call`` of the agent starts, its input messages are merged into the history:
  if they extend the history, the new ones are appended; if they are a complete prompt of
  their own (starting with a system message, or with the history's first non-system
  message, or at least as long as the history), they replace it, since the prompt is the
  best record of what the model saw (a prompt without a system message keeps the
  history's); otherwise (a stateful API that records only the new turns) they are appended;
- when an ``llm_call`` ends, its output messages are appended;
- when a ``tool_call`` ends, a ``tool`` message with its result (for a failed call that
  recorded none, ``error: <its error>``) is appended, unless the
  history already holds a result for that tool call id. A tool span recorded without its
  call id (many OpenInference instrumentations) answers the assistant's latest unanswered
  call of that tool name (the one with the same arguments first), so the result stays tied
  to its call as a chat API requires. A call that is tried again after it failed (the same
  call id, or no call id, the same tool and arguments, and no open call left) answers with
  the retry's result in place of the failure's: that is what the agent went on with.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Iterator

from agenttrace_replay.records import AgentRecord, SpanRecord, TraceBundle
from agenttrace_replay.storage import Prefix

# Attribute keys that carry prompt or completion text: the state has that content already,
# in normalised form, so it is left out of the span's attributes in the state.
_CONTENT_PREFIXES = (
    "gen_ai.input.", "gen_ai.output.", "gen_ai.prompt", "gen_ai.completion", "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
    "llm.input_messages", "llm.output_messages", "input.value", "output.value",
)
# Attribute keys known only once the span has run (its response, usage, result, errors and
# the events recorded while it ran): a checkpoint is taken before the span, so they are left
# out too. Without this a legacy chat span's `gen_ai.choice` event put its answer in the state.
_OUTCOME_PREFIXES = (
    "gen_ai.response.", "gen_ai.usage.", "gen_ai.output", "gen_ai.completion", "gen_ai.choice",
    "llm.token_count.", "llm.finish_reason", "llm.output_messages", "output.", "retrieval.documents",
    "error.", "exception.", "otel.events", "otel.status", "tool.output",
    "pydantic_ai.all_messages", "all_messages_events",  # Pydantic AI's whole run, on its agent span
)
# Words that mark an attribute as the span's outcome in conventions the importer does not map
# (OpenLLMetry's `traceloop.entity.output`, the AI SDK's `ai.response.text` and
# `ai.toolCall.result`, MLflow's `mlflow.spanOutputs`): better to leave out an input-side
# attribute that happens to use one of them than to put a span's result in its own checkpoint.
_OUTCOME_WORDS = frozenset({
    "output", "outputs", "result", "results", "response", "responses", "completion", "completions",
    "choice", "choices", "usage", "error", "errors", "exception", "exceptions",
})
_WORD_BREAK = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_MAX_ATTRIBUTE_CHARS = 2000


@dataclass
class SpanState:
    """What an agent knew just before ``span`` started."""

    span: SpanRecord
    step: int
    parent_chain: list[str]
    agent: AgentRecord | None
    messages: list[dict[str, Any]]
    completed: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, checkpoint_id: str | None = None) -> dict[str, Any]:
        return {
            "checkpoint_id": checkpoint_id,
            "trace_id": self.span.trace_id,
            "step": self.step,
            "span": span_info(self.span, self.parent_chain),
            "agent": agent_info(self.agent),
            "messages": self.messages,
            "input": self.span.input,
            "completed": self.completed,
        }


@dataclass
class StateView:
    """A `SpanState` whose lists are views of the run's histories, which later events only
    append to (a rewrite makes a new list): states of one run share them, no copy each."""

    span: SpanRecord
    step: int
    parent_chain: list[str]
    agent: AgentRecord | None
    messages: Prefix
    completed: Prefix

    def materialise(self) -> SpanState:
        return SpanState(self.span, self.step, self.parent_chain, self.agent, self.messages.as_list(), self.completed.as_list())


def span_info(span: SpanRecord, parent_chain: list[str]) -> dict[str, Any]:
    return {
        "span_id": span.span_id,
        "name": span.name,
        "kind": span.kind,
        "model": span.model,
        "agent_id": span.agent_id,
        "start_time": span.start_time.isoformat() if span.start_time else None,
        "parent_chain": parent_chain,
        "attributes": light_attributes(span.attributes),
    }


def agent_info(agent: AgentRecord | None) -> dict[str, Any] | None:
    if agent is None:
        return None
    return {
        "agent_id": agent.agent_id,
        "name": agent.name,
        "role": agent.role,
        "model": agent.model,
        "framework": agent.framework,
        "config": agent.config or {},
    }


@functools.lru_cache(maxsize=4096)
def _left_out(key: str) -> bool:
    """Whether an attribute key names prompt or completion content or the span's outcome."""
    if key.startswith(_CONTENT_PREFIXES) or key.startswith(_OUTCOME_PREFIXES):
        return True
    previous = ""
    for word in map(str.lower, _WORD_BREAK.split(key)):
        if word in ("request", "requests"):  # what was asked for: gen_ai.request.choice.count, llm.request.*
            return False
        if word in _OUTCOME_WORDS and not (word == "choice" and previous == "tool"):  # tool_choice is asked for
            return True
        previous = word
    return False


def light_attributes(attributes: dict[str, Any] | None) -> dict[str, Any]:
    out = {}
    for key, value in (attributes or {}).items():
        if _left_out(key):
            continue
        if isinstance(value, str) and len(value) > _MAX_ATTRIBUTE_CHARS:
            continue
        out[key] = value
    return out


def completed_entry(span: SpanRecord) -> dict[str, Any]:
    return {
        "span_id": span.span_id,
        "name": span.name,
        "kind": span.kind,
        "agent_id": span.agent_id,
        "status": span.status,
        "output": span.output,
        "error": span.error,
    }


def _sort_time(value: datetime | None) -> tuple[int, float]:
    return (1, 0.0) if value is None else (0, value.timestamp())


def execution_order(spans: list[SpanRecord]) -> list[SpanRecord]:
    """Spans by start time; ties put a parent before its children, then order by span id."""
    by_id = {s.span_id: s for s in spans}
    depth_cache: dict[str, int] = {}

    def depth(span: SpanRecord) -> int:
        chain = parent_chain(span, by_id)
        return len(chain)

    for span in spans:
        depth_cache[span.span_id] = depth(span)
    return sorted(spans, key=lambda s: (_sort_time(s.start_time), depth_cache[s.span_id], s.span_id))


def parent_chain(span: SpanRecord, by_id: dict[str, SpanRecord]) -> list[str]:
    """Ancestor span ids, root first (cycles and missing parents end the chain)."""
    chain: list[str] = []
    seen = {span.span_id}
    parent = span.parent_span_id
    while parent and parent in by_id and parent not in seen:
        chain.append(parent)
        seen.add(parent)
        parent = by_id[parent].parent_span_id
    chain.reverse()
    return chain


def _messages_of(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        return [m for m in value["messages"] if isinstance(m, dict)]
    return []


def _merge_prompt(history: list[dict[str, Any]], prompt: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The history with ``prompt`` merged in: ``history`` itself, appended to, when the prompt
    adds to it; a new list when it replaces any of it (states share ``history``)."""
    if not prompt:
        return history
    n = len(history)
    if len(prompt) >= n and prompt[:n] == history:
        history += prompt[n:]
        return history
    if prompt[0].get("role") == "system":
        return list(prompt)
    # The same conversation sent again without its system message (instrumentations that
    # record the system prompt apart): keep the history's system messages, take the rest.
    head = 0
    while head < n and history[head].get("role") == "system":
        head += 1
    if head < n and prompt[0] == history[head]:
        return history[:head] + list(prompt)
    if len(prompt) >= n:
        return list(prompt)
    history += prompt
    return history


def _tool_message(span: SpanRecord) -> dict[str, Any]:
    inp = span.input if isinstance(span.input, dict) else {}
    out = span.output
    result = out.get("result") if isinstance(out, dict) and "result" in out else out
    if span.status != "ok" and span.error and result is None:
        # A failed call with a recorded result (the OpenAI Agents SDK records the text it
        # gave the model) keeps it: that is what the agent saw. Without one, its error.
        result = f"error: {span.error}"
    content = result if isinstance(result, str) or result is None else json.dumps(result, ensure_ascii=False, sort_keys=True)
    message: dict[str, Any] = {"role": "tool", "content": content}
    if inp.get("call_id"):
        message["tool_call_id"] = inp["call_id"]
    name = inp.get("name") or span.name
    if name:
        message["name"] = name
    return message


def _called_as_tool(span: SpanRecord) -> bool:
    """A handoff the model made by calling a tool (`transfer_to_x`): its result answers that call."""
    inp = span.input
    return span.kind == "handoff" and isinstance(inp, dict) and "name" in inp and ("call_id" in inp or "arguments" in inp)


class _Lookup:
    """What the tool rules look up in an agent's history, brought up to date as the history
    grows (each message is read once; a rewritten history, a new list, gets a new one):
    scanning the whole history for every tool span made long runs quadratic."""

    __slots__ = ("history", "read", "answered", "calls_at", "where")

    def __init__(self, history: list[dict[str, Any]]) -> None:
        self.history = history
        self.read = 0
        self.answered: set[str] = set()  # the text call ids that have a tool message
        self.calls_at = -1  # the latest assistant message that calls tools
        self.where: dict[int, int] = {}  # id() of a tool message -> its latest position

    def update(self) -> _Lookup:
        for index in range(self.read, len(self.history)):
            message = self.history[index]
            role = message.get("role")
            if role == "tool":
                call_id = message.get("tool_call_id")
                if isinstance(call_id, str):
                    self.answered.add(call_id)
                self.where[id(message)] = index  # the list keeps the message, so its id stays its own
            elif role == "assistant" and isinstance(message.get("tool_calls"), list) and message["tool_calls"]:
                self.calls_at = index
        self.read = len(self.history)
        return self


def _has_tool_result(lookup: _Lookup, call_id: Any) -> bool:
    if not call_id:
        return False
    if isinstance(call_id, str):
        return call_id in lookup.answered
    # an id of another type (a native trace may record any JSON): compared as Python does
    return any(m.get("role") == "tool" and m.get("tool_call_id") == call_id for m in lookup.history)


def _pending_call_id(lookup: _Lookup, name: Any, arguments: Any) -> str | None:
    """The id of the call a tool span recorded without one answers: an unanswered call of the
    same tool in the latest assistant message that calls tools, the one with the same
    arguments first, else the first."""
    if not name or lookup.calls_at < 0:
        return None
    open_calls = [
        c for c in lookup.history[lookup.calls_at]["tool_calls"]
        if isinstance(c, dict) and isinstance(c.get("id"), str) and c["id"] and c["id"] not in lookup.answered and c.get("name") == name
    ]
    same = [c for c in open_calls if c.get("arguments") == arguments]
    chosen = same or open_calls
    return chosen[0]["id"] if chosen else None


def _failed_attempt(
    lookup: _Lookup, attempts: list[tuple[dict[str, Any], Any, bool]], name: Any, arguments: Any,
    call_id: str | None = None,
) -> tuple[int, dict[str, Any]] | None:
    """(position, message) of the latest failed attempt still in the history that a later call
    of the tool ``name`` retries: the same recorded call id, or, for a call recorded without
    one, an attempt also recorded without one, with the same arguments (when both are known)."""
    for message, attempt_arguments, had_id in reversed(attempts):
        if message.get("name") != name or had_id != (call_id is not None):
            continue
        if call_id is not None and message.get("tool_call_id") != call_id:
            continue
        if call_id is None and arguments is not None and attempt_arguments is not None and arguments != attempt_arguments:
            continue
        index = lookup.where.get(id(message))  # both alive: an equal id is the same message
        if index is not None:
            return index, message
    return None


def build_states(bundle: TraceBundle, span_ids: Iterable[str] | None = None) -> list[SpanState]:
    """The state before each wanted span (all spans when ``span_ids`` is None), in execution order."""
    return [view.materialise() for view in iter_states(bundle, span_ids)]


def iter_states(bundle: TraceBundle, span_ids: Iterable[str] | None = None) -> Iterator[StateView]:
    """Like `build_states`, one state at a time, each holding views, not copies, of the
    history and the finished spans: memory stays linear in the trace."""
    ordered = execution_order(bundle.spans)
    wanted = None if span_ids is None else set(span_ids)
    by_id = {s.span_id: s for s in bundle.spans}
    agents = {a.agent_id: a for a in bundle.agents}
    step_of = {s.span_id: i for i, s in enumerate(ordered)}

    # Events: (time, 0 = end / 1 = start, step, span). Ends come first at equal times: a span
    # that ended exactly when another started had finished before it.
    events: list[tuple[tuple[int, float], int, int, SpanRecord]] = []
    for span in ordered:
        events.append((_sort_time(span.start_time), 1, step_of[span.span_id], span))
        if span.end_time is not None:
            events.append((_sort_time(span.end_time), 0, step_of[span.span_id], span))
    events.sort(key=lambda e: (e[0], e[1], e[2]))

    histories: dict[str | None, list[dict[str, Any]]] = {}
    completed: list[dict[str, Any]] = []
    started: set[str] = set()
    deferred: dict[str, SpanRecord] = {}
    # per agent, the tool messages of failed calls, with the call's arguments and whether the
    # span recorded its call id: a retry replaces them
    failed: dict[str | None, list[tuple[dict[str, Any], Any, bool]]] = {}
    lookups: dict[str | None, _Lookup] = {}

    def lookup_of(agent_id: str | None) -> _Lookup:
        history = histories[agent_id]
        found = lookups.get(agent_id)
        if found is None or found.history is not history:
            found = lookups[agent_id] = _Lookup(history)
        return found.update()

    def finish(span: SpanRecord) -> None:
        history = histories.setdefault(span.agent_id, [])
        completed.append(completed_entry(span))
        if span.kind == "llm_call":
            for message in _messages_of(span.output):
                if not history or history[-1] != message:
                    history.append(message)
        elif span.kind == "tool_call" or _called_as_tool(span):
            message = _tool_message(span)
            call_id = message.get("tool_call_id")
            inp = span.input if isinstance(span.input, dict) else {}
            lookup = lookup_of(span.agent_id)
            retried = None
            if call_id is None:
                call_id = _pending_call_id(lookup, message.get("name"), inp.get("arguments"))
                if call_id is None:  # no open call: a retry of a call whose attempt failed?
                    retried = _failed_attempt(lookup, failed.get(span.agent_id, []), message.get("name"), inp.get("arguments"))
                    call_id = retried[1].get("tool_call_id") if retried else None
                if call_id is not None:
                    message = {**message, "tool_call_id": call_id}
            elif _has_tool_result(lookup, call_id):
                retried = _failed_attempt(lookup, failed.get(span.agent_id, []), message.get("name"), inp.get("arguments"), call_id)
            if retried is not None:
                # the agent got the retry's result, not the failure; on a copy, since earlier states hold views of the list
                history = histories[span.agent_id] = list(history)
                history[retried[0]] = message
                failed[span.agent_id] = [a for a in failed[span.agent_id] if a[0] is not retried[1]]
            elif not _has_tool_result(lookup, call_id):
                history.append(message)
            else:
                return
            if span.status != "ok" and call_id:
                # kept for a retry: by the same call id, or, recorded without one, by the same tool and arguments
                failed.setdefault(span.agent_id, []).append((message, inp.get("arguments"), bool(inp.get("call_id"))))

    # starts come in step order: events sort by time and step, as execution order does
    for _time, is_start, step, span in events:
        history = histories.setdefault(span.agent_id, [])
        if is_start:
            if wanted is None or span.span_id in wanted:
                yield StateView(
                    span=span, step=step, parent_chain=parent_chain(span, by_id),
                    agent=agents.get(span.agent_id) if span.agent_id else None,
                    messages=Prefix(history, len(history)), completed=Prefix(completed, len(completed)),
                )
            started.add(span.span_id)
            if span.kind == "llm_call":
                histories[span.agent_id] = _merge_prompt(history, _messages_of(span.input))
            if span.span_id in deferred:
                finish(deferred.pop(span.span_id))
        elif span.span_id in started:
            finish(span)
        else:  # ends no later than it starts (zero length, or clock skew): finish right after its start
            deferred[span.span_id] = span
