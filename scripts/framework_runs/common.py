"""Shared helpers: local server, OTLP/JSON dump, importer summary."""
import pathlib
HERE = pathlib.Path(__file__).resolve().parent
DATA = HERE.parent.parent / 'tests' / 'data' / 'frameworks'
import json, sys, time
sys.path.append(str(HERE.parent.parent / 'tests'))
from openai_server import OpenAIServer  # noqa
from otel_traces import otlp_json, recording  # noqa
from agenttrace_replay import traces
from agenttrace_replay.state import build_states


def save(exporter, path):
    spans = exporter.get_finished_spans()
    text = otlp_json(spans)
    open(path, 'w').write(text)
    return text


def save_requests(server, path):
    json.dump([{"path": r.path, "body": r.body} for r in server.requests], open(path, 'w'), indent=1)


def short(v, n=400):
    s = json.dumps(v, ensure_ascii=False, default=str)
    return s if len(s) <= n else s[:n] + '...'


def summarize(path, n=600):
    text = open(path).read()
    bundles = traces.parse_text(text, path)
    for b in bundles:
        b.complete()
        t = b.trace
        print(f"TRACE name={t.name!r} status={t.status} agents={t.agent_count} tokens={t.total_tokens} cost={t.total_cost_usd}")
        for a in b.agents:
            print(f"  AGENT id={a.agent_id} name={a.name!r} role={a.role!r} model={a.model} fw={a.framework} config={short(a.config, 300)}")
        depth = {}
        byid = {s.span_id: s for s in b.spans}
        def d(s):
            k = 0
            while s.parent_span_id and s.parent_span_id in byid:
                s = byid[s.parent_span_id]; k += 1
            return k
        for s in sorted(b.spans, key=lambda s: s.start_time):
            ind = '  ' * d(s)
            print(f"  {ind}- [{s.kind}] {s.name!r} agent={s.agent_id} model={s.model} tok={s.input_tokens}/{s.output_tokens} cost={s.cost_usd} status={s.status} err={s.error!r}")
            print(f"  {ind}    IN : {short(s.input, n)}")
            print(f"  {ind}    OUT: {short(s.output, n)}")
        print("  STATES:")
        for st in build_states(b):
            if st.span.kind in ('llm_call', 'tool_call', 'handoff'):
                print(f"   before [{st.span.kind}] {st.span.name!r} agent={st.agent.agent_id if st.agent else None}: {short(st.messages, 1500)}")
    return bundles


def reply(content=None, tool_calls=None):
    """A scripted Chat Completions reply (for `OpenAIServer.reply_next`): text, or tool calls `(id, name, args)`."""
    msg = {"role": "assistant", "content": content}
    if tool_calls:
        msg["tool_calls"] = [{"id": i, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}} for i, n, a in tool_calls]
    return json.dumps({"id": "chatcmpl-x", "object": "chat.completion", "created": int(time.time()), "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": msg, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}}).encode()
