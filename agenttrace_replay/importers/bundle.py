"""Assemble the decoded spans of one trace into a `TraceBundle`.

Per-span facts come from `conventions` and `payloads`; what needs the whole tree lives here:
the parent/child order, which agent each span belongs to, the agents' records, the handoff
endpoints and the trace's totals and status.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from ..records import AgentRecord, SpanRecord, TraceBundle, TraceRecord
from . import conventions as conv
from .attrs import parse_json, unique
from .messages import message_cache
from .payloads import called_handoff, handoff_agents, span_payloads
from .raw import RawSpan

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CONTEXT_KEYS = ("session.id", "user.id", "gen_ai.conversation.id")
_OWN_METADATA = ("source", "otel.scopes")  # metadata keys the importer writes itself


def to_datetime(nanos: int | None) -> datetime | None:
    return None if nanos is None else _EPOCH + timedelta(0, 0, nanos // 1000)  # positional: a third quicker


def _tree_order(spans: list[RawSpan]) -> tuple[list[RawSpan], dict[str, str | None]]:
    """Spans parents-first (siblings by start time) and each span's parent within the trace.

    A parent missing from the file, or a cycle, makes the span a root, so the result is
    always a tree the database can store.
    """
    by_id = {s.span_id: s for s in spans}
    position = {s.span_id: i for i, s in enumerate(spans)}

    def when(span: RawSpan) -> tuple[float, int]:
        start = span.start_ns if span.start_ns is not None else float("inf")
        return start, position[span.span_id]

    parent: dict[str, str | None] = {}
    children: dict[str | None, list[RawSpan]] = {}
    for span in spans:
        pid = span.parent_span_id
        pid = pid if pid in by_id and pid != span.span_id else None
        parent[span.span_id] = pid
        children.setdefault(pid, []).append(span)

    ordered: list[RawSpan] = []
    visited: set[str] = set()

    def walk(roots: Iterable[RawSpan]) -> None:
        stack = sorted(roots, key=when, reverse=True)
        while stack:
            span = stack.pop()
            if span.span_id in visited:
                continue
            visited.add(span.span_id)
            ordered.append(span)
            stack.extend(sorted(children.get(span.span_id, []), key=when, reverse=True))

    walk(children.get(None, []))
    for span in sorted(spans, key=when):  # members of parent cycles
        if span.span_id not in visited:
            parent[span.span_id] = None
            walk([span])
    return ordered, parent


def _agents(
    ordered: list[RawSpan], parent: dict[str, str | None]
) -> tuple[dict[str, str | None], dict[str, conv.AgentIdentity]]:
    """Each span's agent id, and the identity that introduced each agent."""
    identities: dict[str, conv.AgentIdentity | None] = {}
    langgraph_inside: dict[str, bool] = {}
    for span in ordered:
        pid = parent[span.span_id]
        inside = langgraph_inside.get(pid, False) if pid else False
        root = not inside and conv.is_langgraph_graph(span.attributes, span.name)
        langgraph_inside[span.span_id] = inside or root
        identities[span.span_id] = conv.agent_identity(span.attributes, span.name, root)
    _drop_wrappers(ordered, parent, identities)

    declared = [i for i in identities.values() if i is not None and i.agent_id]
    id_for_name = {i.name: i.agent_id for i in declared}
    taken = {i.agent_id for i in declared}  # a made-up id never takes a declared one
    made_up: dict[str, str] = {}

    def made_up_id(name: str) -> str:
        """`agent-<slug>`, numbered when two different names slug alike."""
        if name not in made_up:
            base = candidate = "agent-" + conv.slug(name)
            number = 2
            while candidate in taken:
                candidate, number = f"{base}-{number}", number + 1
            taken.add(candidate)
            made_up[name] = candidate
        return made_up[name]

    span_agent: dict[str, str | None] = {}
    introduced: dict[str, conv.AgentIdentity] = {}
    for span in ordered:
        identity = identities[span.span_id]
        if identity is None:
            pid = parent[span.span_id]
            span_agent[span.span_id] = span_agent.get(pid) if pid else None
            continue
        agent_id = identity.agent_id or id_for_name.get(identity.name) or made_up_id(identity.name)
        span_agent[span.span_id] = agent_id
        known = introduced.setdefault(agent_id, identity)
        known.role = known.role or identity.role
        known.framework = known.framework or identity.framework
        known.config = {**identity.config, **known.config}
    return span_agent, introduced


def _drop_wrappers(
    ordered: list[RawSpan], parent: dict[str, str | None], identities: dict[str, conv.AgentIdentity | None]
) -> None:
    """An AGENT span known only by its span name, with spans under it that name their agents
    and no model or tool call of its own, is the run around those agents (the OpenAI Agents
    SDK's workflow span), not one more agent."""
    if not any(identity is not None and identity.unnamed for identity in identities.values()):
        return  # the usual case: nothing to decide
    named_below: set[str] = set()
    own_work: set[str] = set()  # spans with a model or tool call under them that no nearer agent owns
    for span in reversed(ordered):  # children before their parents
        sid = span.span_id
        identity = identities[sid]
        if identity is not None and identity.unnamed and sid in named_below and sid not in own_work:
            identities[sid] = identity = None
        pid = parent[sid]
        if pid is None:
            continue
        if (identity is not None and not identity.unnamed) or sid in named_below:
            named_below.add(pid)
        works = sid in own_work or conv.span_kind(span.attributes, span.name) in ("llm_call", "tool_call")
        if works and identity is None:  # an agent span owns the work under it
            own_work.add(pid)


_PLAIN_KINDS = (None, "SPAN_KIND_INTERNAL", "SPAN_KIND_UNSPECIFIED")


def _span_record(raw: RawSpan, parent_id: str | None, agent_id: str | None, own_resource: bool) -> SpanRecord:
    """Everything about the span but its input and output (`_complete` adds those).

    Beside the attributes as written, `otel.*` keys keep what OTLP says outside them: a
    parent that is not in the file, a span kind other than internal, the span's resource
    when the trace's spans come from several (`own_resource`), links and events.
    """
    attrs = raw.attributes
    kind = conv.span_kind(attrs, raw.name)
    status, error = conv.span_status(raw)
    tokens_in, tokens_out = conv.span_tokens(attrs)
    attributes = dict(attrs)
    if raw.parent_span_id and parent_id is None:
        attributes["otel.missing_parent_span_id"] = raw.parent_span_id
    if raw.span_kind not in _PLAIN_KINDS:
        attributes["otel.span_kind"] = raw.span_kind
    if own_resource:
        attributes["otel.resource"] = raw.resource
    if raw.links:
        attributes["otel.links"] = [
            {
                "trace_id": link.trace_id,
                "span_id": link.span_id,
                **({"trace_state": link.trace_state} if link.trace_state else {}),
                "attributes": link.attributes,
            }
            for link in raw.links
        ]
    if raw.events:
        attributes["otel.events"] = [
            {
                "name": e.name,
                "time": t.isoformat(timespec="microseconds") if (t := to_datetime(e.time_ns)) else None,
                "time_unix_nano": e.time_ns,  # the nanoseconds the time above cannot hold
                "attributes": e.attributes,
            }
            for e in raw.events
        ]
    return SpanRecord(
        span_id=raw.span_id,
        trace_id=raw.trace_id,
        name=raw.name,
        parent_span_id=parent_id,
        agent_id=agent_id,
        kind=kind,
        start_time=to_datetime(raw.start_ns),
        end_time=to_datetime(raw.end_ns),
        status=status,
        model=conv.span_model(attrs) if kind in ("llm_call", "agent_message", None) else None,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cost_usd=conv.span_cost(attrs),
        error=error,
        attributes=attributes,
    )


def _called_handoffs(records: list[SpanRecord], introduced: dict[str, conv.AgentIdentity]) -> None:
    """Tool calls that hand over to another agent (AutoGen's and the Agents SDK's
    `transfer_to_<agent>`, ADK's `transfer_to_agent`, LlamaIndex's `handoff`) are handoffs;
    `transfer_to_x` only when `x` is an agent of the trace (not `transfer_to_account`)."""
    agents = {conv.slug(identity.name) for identity in introduced.values()}
    for record in records:
        if record.kind != "tool_call":
            continue
        target, certain = called_handoff(record.attributes or {})
        if target is not None and (certain or conv.slug(target) in agents):
            record.kind = "handoff"


def _demote_wrapping_llm_calls(records: list[SpanRecord], parent: dict[str, str | None]) -> None:
    """An LLM span with an LLM span under it is a framework's wrapper around the request
    (AutoGen's model client under OpenInference around the OpenAI client's span): the
    innermost one is the model call, and the wrapper becomes a plain span, so that each
    request is one `llm_call` and one checkpoint, and its history is the request's.

    One exception: a wrapper that ran in a LangGraph node (LangChain's model span with its
    `langgraph_node` metadata, around the OpenAI client's span when both are instrumented)
    stays the model call, since the langgraph executor resumes at the node it names; the
    spans under it become plain instead."""
    calls = {r.span_id for r in records if r.kind == "llm_call"}
    wrapping: set[str] = set()
    walked: set[str] = set()
    for span_id in calls:
        current = parent.get(span_id)
        while current is not None and current not in walked:
            walked.add(current)
            if current in calls:
                wrapping.add(current)
            current = parent.get(current)
    if not wrapping:
        return  # the usual case
    by_id = {r.span_id: r for r in records}
    in_nodes = {w for w in wrapping if conv.is_langgraph_node(by_id[w].attributes or {})}
    demoted = wrapping - in_nodes
    for span_id in calls if in_nodes else ():
        current = parent.get(span_id)
        while current is not None:
            if current in in_nodes:
                demoted.add(span_id)
                break
            current = parent.get(current)
    for record in records:
        if record.span_id in demoted and conv.EXPLICIT_KIND not in record.attributes:  # a declared kind stands
            record.kind = None


_KEY_TYPES = (str, int, float)  # a call id that can be looked up (a list or an object cannot)


def _requested_arguments(record: SpanRecord, requested: dict[Any, Any]) -> None:
    """Note the arguments of each tool call an LLM span asked for (the first ask wins)."""
    if record.kind == "llm_call" and isinstance(record.output, dict):
        for message in record.output.get("messages", []):
            for call in message.get("tool_calls", []):
                if call.get("id") and isinstance(call["id"], _KEY_TYPES) and "arguments" in call:
                    requested.setdefault(call["id"], call["arguments"])


def _fill_results(waiting: list[SpanRecord], by_time: list[SpanRecord]) -> None:
    """Give each tool span in `waiting` that lacks its result the one the model was given for
    its call id: in the first model call of the same agent that starts after the tool span
    ends. A span that another span of the same call id followed before that model call (a
    retry) is left without: the model was given the last attempt's result."""
    wanted = {r.input["call_id"] for r in waiting if _lacks_result(r)}
    if not wanted:
        return
    given: dict[Any, list[tuple[datetime, str | None, Any]]] = {}
    attempts: dict[Any, list[datetime]] = {}
    for record in by_time:
        if record.start_time is None:
            continue
        if record.kind == "llm_call" and isinstance(record.input, dict):
            newest: dict[Any, Any] = {}  # the conversation repeats: an id's last result is the newest
            for message in record.input.get("messages", []):
                call_id = message.get("tool_call_id")
                if message.get("role") == "tool" and call_id in wanted and message.get("content") is not None:
                    newest[call_id] = message["content"]
            for call_id, content in newest.items():
                given.setdefault(call_id, []).append((record.start_time, record.agent_id, content))
        elif record.kind == "tool_call" and isinstance(record.input, dict) and record.input.get("call_id") in wanted:
            attempts.setdefault(record.input["call_id"], []).append(record.end_time or record.start_time)
    for record in waiting:
        if not _lacks_result(record) or record.start_time is None:
            continue
        call_id, ended = record.input["call_id"], record.end_time or record.start_time
        later = [(start, content) for start, agent, content in given.get(call_id, ())
                 if start >= ended and (record.agent_id is None or agent == record.agent_id)]  # fmt: skip
        if not later:
            continue
        start, content = later[0]
        if any(ended < other <= start for other in attempts.get(call_id, ())):
            continue  # retried before the model saw a result
        record.output = {"result": parse_json(content)}


def _lacks_result(record: SpanRecord) -> bool:
    """A tool span recorded without its result (AutoGen's own spans) that names its call:
    the result is the one a later model call was given for that call id."""
    return (
        record.kind == "tool_call"
        and record.output is None
        and isinstance(record.input, dict)
        and isinstance(record.input.get("call_id"), _KEY_TYPES)
    )


def _lacks_arguments(record: SpanRecord) -> bool:
    """A tool span recorded with only the tool's raw input string, not its arguments object.

    Some instrumentations record `Paris`, not `{"city": "Paris"}` (LangChain does); the
    model's tool call with the same id has the object.
    """
    return (
        record.kind == "tool_call"
        and isinstance(record.input, dict)
        and isinstance(record.input.get("call_id"), _KEY_TYPES)
        and not isinstance(record.input.get("arguments"), dict)
    )


def _fill_arguments(record: SpanRecord, requested: dict[Any, Any]) -> None:
    call_id = record.input["call_id"]
    if call_id in requested:
        record.input["arguments"] = requested[call_id]


def _fill_handoff(
    record: SpanRecord, records: list[SpanRecord], parent: dict[str, str | None], names: dict[str, str]
) -> None:
    source, target = handoff_agents(record.attributes, record.name)
    source = source or names.get(record.agent_id or "")
    if target is None:
        for other in records:  # the first agent that starts under the handoff
            if other.agent_id and other.agent_id != record.agent_id and _under(other.span_id, record.span_id, parent):
                target = names.get(other.agent_id)
                break
    recorded = record.input if isinstance(record.input, dict) else {}
    record.input = {
        **({"from_agent": source} if source else {}),
        **({"to_agent": target} if target else {}),
        **recorded,
    } or None


def _under(span_id: str, ancestor: str, parent: dict[str, str | None]) -> bool:
    current = parent.get(span_id)
    while current is not None:
        if current == ancestor:
            return True
        current = parent.get(current)
    return False


def _agent_records(
    trace_id: str,
    introduced: dict[str, conv.AgentIdentity],
    by_time: list[SpanRecord],
    raws: dict[str, RawSpan],
) -> dict[str, AgentRecord]:
    """The agents, their config left to `_agent_config` (it needs the spans' payloads)."""
    agents: dict[str, AgentRecord] = {}
    for agent_id, identity in introduced.items():
        own = [r for r in by_time if r.agent_id == agent_id]
        llm = [r for r in own if r.kind == "llm_call"]
        framework = identity.framework
        if framework is None and any(conv.is_langgraph_node(r.attributes) for r in own):
            framework = "langgraph"
        if framework is None:
            scopes = (conv.framework_from_scope(raws[r.span_id].scope_name) for r in own)
            framework = next((f for f in scopes if f), None)
        agents[agent_id] = AgentRecord(
            agent_id=agent_id,
            trace_id=trace_id,
            name=identity.name,
            role=identity.role,
            model=next((r.model for r in llm + own if r.model), None),
            framework=framework,
        )
    return agents


def _agent_config(
    agents: dict[str, AgentRecord], introduced: dict[str, conv.AgentIdentity], by_time: list[SpanRecord]
) -> None:
    """Each agent's system instructions and tools, from its spans' (complete) payloads."""
    for agent_id, agent in agents.items():
        tools: list[Any] = []
        system: str | None = None
        for record in by_time:
            if record.agent_id != agent_id:
                continue
            if record.kind == "tool_call" and isinstance(record.input, dict):
                tools.append(record.input.get("name"))
            if record.kind == "llm_call" and isinstance(record.input, dict):
                tools.extend(t["name"] for t in record.input.get("tools", []))
                messages = record.input.get("messages") or []
                if system is None and messages and messages[0]["role"] == "system":
                    system = messages[0]["content"]
        config: dict[str, Any] = {}
        if system is not None:
            config["system_instructions"] = system
        if tools := unique(tools):
            config["tools"] = tools
        config.update(introduced[agent_id].config)
        agent.config = config


def _leaf_sum(records: list[SpanRecord], parent: dict[str, str | None], value: Any) -> Any:
    """Sum `value(record)` over spans that carry one and have no descendant carrying one.

    Agent spans often repeat the totals of the LLM calls under them; counting only the
    innermost carriers avoids counting the same tokens twice.
    """
    carriers = {r.span_id for r in records if value(r) is not None}
    shadowed: set[str] = set()
    for span_id in carriers:
        current = parent.get(span_id)
        while current is not None and current not in shadowed:
            shadowed.add(current)
            current = parent.get(current)
    return sum(value(r) for r in records if r.span_id in carriers and r.span_id not in shadowed)


def _tokens(record: SpanRecord) -> int | None:
    if record.input_tokens is None and record.output_tokens is None:
        return None
    return (record.input_tokens or 0) + (record.output_tokens or 0)


def build_bundle(trace_id: str, spans: list[RawSpan]) -> TraceBundle:
    """The trace's bundle, with the spans' payloads pending (see `TraceBundle.pending`).

    Everything the database validates is worked out here; the payloads, most of the work
    on a trace with message content, are computed by `_complete` while the spans are written.
    """
    ordered, parent = _tree_order(spans)
    span_agent, introduced = _agents(ordered, parent)
    # A trace that crosses services has a resource per service: each span then keeps its own
    # (the trace's metadata has the first's attributes, as for a trace of one service).
    first = ordered[0].resource if ordered else None
    several = any(raw.resource is not first and raw.resource != first for raw in ordered)
    records = [_span_record(raw, parent[raw.span_id], span_agent[raw.span_id], several) for raw in ordered]
    for record in records:  # a parent that is there but closes a cycle is not missing
        attributes = record.attributes or {}
        if attributes.get("otel.missing_parent_span_id") in parent:
            attributes["otel.cyclic_parent_span_id"] = attributes.pop("otel.missing_parent_span_id")
    _called_handoffs(records, introduced)
    _demote_wrapping_llm_calls(records, parent)
    raws = {s.span_id: s for s in ordered}
    by_time = sorted(records, key=lambda r: (r.start_time is None, r.start_time or _EPOCH))
    agents = _agent_records(trace_id, introduced, by_time, raws)

    root = records[0]
    starts = [r.start_time for r in records if r.start_time is not None]
    ends = [r.end_time for r in records if r.end_time is not None]
    running = any(r.end_time is None for r in records)
    status = "failed" if root.status == "error" else "running" if running else "completed"
    start = min(starts) if starts else None
    end = None if running or not ends else max(ends)
    metadata: dict[str, Any] = {"source": "otlp"}
    seen_resources: set[int] = set()
    for raw in ordered:
        if id(raw.resource) in seen_resources:  # spans of one request share their resource
            continue
        seen_resources.add(id(raw.resource))
        for key, value in raw.resource.items():  # a resource's own `source` must not vanish under ours
            metadata.setdefault(f"resource.{key}" if key in _OWN_METADATA else key, value)
    if scopes := unique(raw.scope_name for raw in ordered):
        metadata["otel.scopes"] = scopes
    for key in _CONTEXT_KEYS:
        found = next((r.attributes[key] for r in ordered if r.attributes.get(key)), None)
        if found is not None:
            metadata.setdefault(key, found)
    root_identity = introduced.get(root.agent_id or "")
    trace = TraceRecord(
        trace_id=trace_id,
        name=root.name or (root_identity.name if root_identity else None),
        start_time=start,
        end_time=end,
        status=status,
        metadata=metadata,
        total_tokens=_leaf_sum(records, parent, _tokens),
        total_cost_usd=float(_leaf_sum(records, parent, lambda r: r.cost_usd)),
        total_latency_ms=(end - start).total_seconds() * 1000 if start and end else None,
        agent_count=len(agents),
    )
    bundle = TraceBundle(trace=trace, agents=list(agents.values()), spans=records)
    bundle.pending = lambda: _complete(ordered, records, by_time, parent, agents, introduced)
    return bundle


def _complete(
    ordered: list[RawSpan],
    records: list[SpanRecord],
    by_time: list[SpanRecord],
    parent: dict[str, str | None],
    agents: dict[str, AgentRecord],
    introduced: dict[str, conv.AgentIdentity],
) -> Iterator[SpanRecord]:
    """Fill in each span's input and output, yielding it when it is final; then the agents' config.

    A tool span that still needs the arguments of an LLM tool call not seen yet waits for
    the end, so every span is yielded exactly once and with what `build_bundle` promised.
    """
    names = {agent_id: agent.name for agent_id, agent in agents.items()}
    requested: dict[Any, Any] = {}
    waiting: list[SpanRecord] = []
    cache: dict[Any, Any] = {}
    for raw, record in zip(ordered, records):
        with message_cache(cache):  # set around each span: a generator must not hold it across a yield
            record.input, record.output = span_payloads(raw, record.kind)
        if record.kind == "llm_call":
            _requested_arguments(record, requested)
        elif record.kind == "handoff":
            _fill_handoff(record, records, parent, names)
        elif _lacks_result(record):  # the model call that was given it comes later
            waiting.append(record)
            continue
        elif _lacks_arguments(record):
            if record.input["call_id"] not in requested:
                waiting.append(record)
                continue
            _fill_arguments(record, requested)
        yield record
    _fill_results(waiting, by_time)  # every LLM span is complete now
    for record in waiting:
        if _lacks_arguments(record):
            _fill_arguments(record, requested)
        yield record
    _agent_config(agents, introduced, by_time)
