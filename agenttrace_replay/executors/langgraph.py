"""The langgraph executor: re-run a real LangGraph graph from a checkpoint's state.

A replay must not start the graph over when the checkpoint is mid-run: the steps before
it are history, not something to redo (they may call paid models or have side effects).
LangGraph's own time travel does exactly this. On a fresh thread of a private in-memory
checkpointer, `update_state(..., as_node=P)` records the checkpoint's conversation as if
node P had just written it; LangGraph then follows P's edges, so `invoke(None)` runs the
node the recorded span was in, and everything after it, and nothing before it.

LangGraph is imported only when this executor runs.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import os
import sys
import uuid
from dataclasses import dataclass
from typing import Any

from agenttrace_replay.errors import ExecutorError
from agenttrace_replay.executors.base import apply_query_convention, one_line
from agenttrace_replay.executors.lc_messages import from_langchain, normalise_message, to_langchain

START = "__start__"
END = "__end__"
INSTALL_HINT = "Install it with: pip install 'agenttrace-replay[langgraph]'."


@dataclass
class ResumePlan:
    node: str | None  # the node that runs next; None: from START
    history: list[dict[str, Any]]  # normalised conversation at the checkpoint
    recorded_history: list[dict[str, Any]]  # the same, as recorded (no user changes)
    as_node: str | None = None  # whose edges lead to `node`; None: invoke from START

    @property
    def ids(self) -> list[str]:
        """Message ids for the history, so the messages the replay adds can be told apart."""
        return [f"agenttrace-history-{index}" for index in range(len(self.history))]


# --- loading the graph and planning where to resume ----------------------------------


def graph_path(state: dict[str, Any], config: dict[str, Any]) -> str:
    agent_config = (state.get("agent") or {}).get("config") or {}
    path = (
        config.get("graph")
        or (config.get("settings") or {}).get("graph")
        or agent_config.get("graph")
    )
    if not path:
        raise ExecutorError(
            "the langgraph executor needs to know which graph to run.",
            "Pass --graph module:attr (e.g. myapp.agent:graph) or set 'graph' in the "
            "config file.",
        )
    return str(path)


def load_graph(path: str) -> Any:
    """Import `module:attr` (or `path/to/file.py:attr`) and return a compiled graph."""
    try:
        from langgraph.graph import StateGraph
        from langgraph.pregel import Pregel
    except ImportError as exc:
        raise ExecutorError("the langgraph executor needs LangGraph.", INSTALL_HINT) from exc
    module_name, sep, attr = path.rpartition(":")
    if not sep or not module_name or not attr:
        raise ExecutorError(
            f"graph path '{path}' is not of the form module:attr.",
            "Pass --graph like myapp.agent:graph.",
        )
    try:
        module = _import(module_name)
    except Exception as exc:  # any failure while importing user code
        raise ExecutorError(
            f"cannot import graph '{path}': {one_line(exc)}.",
            "Check --graph module:attr and PYTHONPATH.",
        ) from exc
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ExecutorError(
                f"cannot find graph '{path}': '{module_name}' has no attribute '{attr}'.",
                "Check the name after ':' in --graph.",
            )
        target = getattr(target, part)
    if isinstance(target, StateGraph):
        target = target.compile()
    elif callable(target) and not isinstance(target, Pregel):
        try:
            target = target()  # a factory such as build_graph
        except Exception as exc:
            raise ExecutorError(
                f"graph factory '{path}' failed: {one_line(exc)}.",
                "Point --graph at a compiled graph or a function taking no arguments.",
            ) from exc
    if not isinstance(target, Pregel):
        raise ExecutorError(
            f"'{path}' is a {type(target).__name__}, not a compiled LangGraph graph.",
            "Point --graph at the result of StateGraph(...).compile().",
        )
    return target


def _import(module_name: str) -> Any:
    if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
        file = os.path.abspath(module_name)
        if not os.path.isfile(file):
            raise ImportError(f"no such file {module_name}")
        name = "agenttrace_replay_graph_" + uuid.uuid5(uuid.NAMESPACE_URL, file).hex
        spec = importlib.util.spec_from_file_location(name, file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: the project you stand in
    return importlib.import_module(module_name)


def private_copy(graph: Any, stop_before: str | None = None) -> Any:
    """The graph with its own InMemorySaver and no static breakpoints but ``stop_before``.

    Always a private checkpointer: a replay must not write threads into the application's
    own store, and a synchronous saver (SqliteSaver) would fail under `ainvoke`.
    """
    from langgraph.checkpoint.memory import InMemorySaver

    interrupt = [stop_before] if stop_before else []
    builder = getattr(graph, "builder", None)
    if builder is not None and hasattr(builder, "compile"):
        return builder.compile(
            checkpointer=InMemorySaver(), store=graph.store, name=graph.name,
            interrupt_before=interrupt or None,
        )
    return graph.copy(
        {"checkpointer": InMemorySaver(), "interrupt_before_nodes": interrupt,
         "interrupt_after_nodes": []}
    )


def recorded_metadata(span: dict[str, Any]) -> dict[str, Any]:
    """OpenInference's `metadata` attribute of a span (LangGraph puts langgraph_node there)."""
    metadata = (span.get("attributes") or {}).get("metadata")
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            metadata = None
    return metadata if isinstance(metadata, dict) else {}


def recorded_node(span: dict[str, Any]) -> str | None:
    """The LangGraph node a span ran in, from OpenInference's `metadata` attribute."""
    attributes = span.get("attributes") or {}
    node = recorded_metadata(span).get("langgraph_node")
    node = node or attributes.get("metadata.langgraph_node") or attributes.get("langgraph_node")
    return str(node) if node else None


def _edges(graph: Any) -> list[tuple[str, str, bool]]:
    return [(e.source, e.target, bool(e.conditional)) for e in graph.get_graph().edges]


def _only_inputs(history: list[dict[str, Any]]) -> bool:
    return all(m.get("role") in ("system", "user") for m in history)


def plan_resume(
    graph: Any, input: Any, state: dict[str, Any], settings: dict[str, Any]
) -> ResumePlan:
    span = state.get("span") or {}
    kind = span.get("kind")
    nodes = [n for n in graph.nodes if n != START]
    node = settings.get("node") or recorded_node(span)
    if kind == "tool_call":
        history, recorded = _tool_history(input, state)
        if node is None and "tools" in nodes:
            node = "tools"
    else:
        history = _messages_of(apply_query_convention(input, kind), state)
        recorded = _messages_of(state.get("input"), state)
    if node is None and kind == "llm_call":
        starts = [t for s, t, _ in _edges(graph) if s == START and t != END]
        node = starts[0] if len(starts) == 1 else None
    if node is None:
        if kind == "tool_call":
            raise ExecutorError(
                "cannot tell which LangGraph node ran this tool call.",
                "Set 'node' in the executor settings of the config file.",
            )
        return ResumePlan(None, history, recorded)
    if node not in nodes:
        raise ExecutorError(
            f"the trace ran node '{node}', which this graph does not have "
            f"(nodes: {', '.join(nodes)}).",
            "Check that --graph names the graph that recorded this trace.",
        )
    if settings.get("as_node"):
        return ResumePlan(node, history, recorded, as_node=str(settings["as_node"]))
    edges = _edges(graph)
    into = [(s, c) for s, t, c in edges if t == node and s != START]
    from_start = any(s == START and t == node for s, t, _ in edges)
    if from_start and (_only_inputs(history) or not into):
        return ResumePlan(None, history, recorded)
    if not into:
        raise ExecutorError(
            f"no edge of the graph leads to node '{node}', so it cannot be resumed there.",
            "Set 'as_node' in the executor settings to the node that hands over to it.",
        )
    into.sort(key=lambda pair: pair[1])  # a fixed edge before a conditional one
    return ResumePlan(node, history, recorded, as_node=into[0][0])


def _messages_of(value: Any, state: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        return [normalise_message(m) for m in value["messages"]]
    return [normalise_message(m) for m in state.get("messages") or []]


def _tool_history(
    input: Any, state: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The conversation up to the assistant message that asked for this tool call.

    The call is found by the recorded call id, else by the recorded tool name (latest
    first). Its arguments (and name) are replaced by the possibly modified input's. Tool
    results after that message are dropped: the tools node runs all of its calls again.
    """
    history = [normalise_message(m) for m in state.get("messages") or []]
    input = input if isinstance(input, dict) else {}
    recorded_input: dict[str, Any] = state["input"] if isinstance(state.get("input"), dict) else input
    call_id = recorded_input.get("call_id") or input.get("call_id")
    name = recorded_input.get("name") or input.get("name")
    tests = [lambda c: bool(call_id) and c.get("id") == call_id,
             lambda c: bool(name) and c.get("name") == name]
    for test in tests:
        for index in range(len(history) - 1, -1, -1):
            if history[index].get("role") != "assistant":
                continue
            match = next((c for c in history[index].get("tool_calls") or [] if test(c)), None)
            if match is None:
                continue
            recorded = copy.deepcopy(history[: index + 1])
            match["arguments"] = _arguments(input.get("arguments"), match.get("arguments"))
            if input.get("name"):
                match["name"] = input["name"]
            return history[: index + 1], recorded
    raise ExecutorError(
        f"the checkpoint's messages hold no assistant message calling tool "
        f"'{name or call_id}'.",
        "Replay from the checkpoint before the llm_call that requested it.",
    )


def _arguments(new: Any, recorded: Any) -> Any:
    """Tool spans often record just the argument value; fit it to the recorded call."""
    if isinstance(new, str):
        try:
            parsed = json.loads(new)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
        if isinstance(recorded, dict) and len(recorded) == 1:
            return {next(iter(recorded)): new}
    return new if new is not None else recorded


def _prompt_outside_state(config: dict[str, Any], history: list[dict[str, Any]]) -> bool:
    """True when the recorded system prompt was added by a node and never entered state.

    A node that prepends a prompt to the model's input would add it again on top of a
    history that already holds it. The recorded run's output shows the graph state; if it
    has messages but no system message, the prompt lives in the node.
    """
    run = config.get("run_output")
    messages = run.get("messages") if isinstance(run, dict) else None
    if not isinstance(messages, list) or not messages:
        return False
    if not any(m.get("role") == "system" for m in history):
        return False
    return all(normalise_message(m).get("role") != "system" for m in messages)


def added_messages(run: list[dict[str, Any]], history: list[dict[str, Any]]) -> list[Any]:
    """The part of a whole run's messages that came after `history`.

    System messages are not counted: nodes often add a prompt to the model's input that
    never enters the graph state.
    """
    remaining = sum(1 for m in history if m.get("role") != "system")
    rest = list(run)
    while rest and (remaining > 0 or rest[0].get("role") == "system"):
        if rest.pop(0).get("role") != "system":
            remaining -= 1
    return rest


def shape(messages: list[dict[str, Any]]) -> dict[str, Any]:
    answers = [m for m in messages if m.get("role") == "assistant" and m.get("content")]
    return {"messages": messages, "final_answer": answers[-1]["content"] if answers else None}


def original_counterpart(config: dict[str, Any], plan: ResumePlan) -> Any:
    for source in (config.get("run_output"), config.get("original_output")):
        if isinstance(source, dict) and isinstance(source.get("messages"), list):
            run = [normalise_message(m) for m in source["messages"]]
            if source is config.get("run_output"):
                run = added_messages(run, plan.recorded_history)
            return shape(run)
    return config.get("original_output")


async def run_plan(
    graph: Any, plan: ResumePlan, key: str, run_config: dict[str, Any],
    stop_node: str | None = None, occurrence: int = 1,
) -> Any:
    """Run the graph on a fresh thread as planned; the final state snapshot."""
    history = [to_langchain(m, id) for m, id in zip(plan.history, plan.ids, strict=True)]
    if plan.as_node is None:
        await graph.ainvoke({key: history}, run_config)
    else:
        await graph.aupdate_state(run_config, {key: history}, as_node=plan.as_node)
        pending = (await graph.aget_state(run_config)).next
        if plan.node not in pending:
            raise ExecutorError(
                f"resuming as node '{plan.as_node}' leads to {list(pending)}, "
                f"not to '{plan.node}'.",
                "Set 'node' and 'as_node' in the executor settings.",
            )
        await graph.ainvoke(None, run_config)
    snapshot = await graph.aget_state(run_config)
    # With a stop node, the graph pauses before every run of it: go on until the run the
    # recorded stop span was in.
    paused = 0
    while stop_node and stop_node in (snapshot.next or ()):
        paused += 1
        if paused >= occurrence:
            break
        await graph.ainvoke(None, run_config)
        snapshot = await graph.aget_state(run_config)
    return snapshot


async def langgraph_executor(
    input: Any,
    state: dict[str, Any],
    config: dict[str, Any],
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    state, config = state or {}, config or {}
    settings = config.get("settings") or {}
    path = graph_path(state, config)
    stop = config.get("stop_at") or {}
    stop_node = stop.get("node")
    graph = private_copy(load_graph(path), stop_before=stop_node)
    plan = plan_resume(graph, input, state, settings)
    if _prompt_outside_state(config, plan.history):
        plan.history = [m for m in plan.history if m.get("role") != "system"]
    key = settings.get("messages_key", "messages")
    configurable = {**(settings.get("configurable") or {}), **(overrides or {})}
    run_config: dict[str, Any] = {
        "configurable": {**configurable, "thread_id": f"agenttrace-replay-{uuid.uuid4()}"},
        "recursion_limit": int(settings.get("recursion_limit", 50)),
    }
    try:
        final = await run_plan(graph, plan, key, run_config, stop_node, max(1, int(stop.get("occurrence") or 1)))
    except ExecutorError:
        raise
    except Exception as exc:
        raise ExecutorError(
            f"graph '{path}' failed during the replay: {type(exc).__name__}: {one_line(exc)}"
        ) from exc

    known = set(plan.ids)
    produced = [m for m in (final.values or {}).get(key, []) if getattr(m, "id", None) not in known]
    tokens = sum(
        int((getattr(m, "usage_metadata", None) or {}).get("total_tokens") or 0) for m in produced
    )
    where = f"node '{plan.node}' (as if after '{plan.as_node}')" if plan.as_node else "START"
    note = f"re-ran graph '{path}' from {where}"
    original = original_counterpart(config, plan)
    if stop_node and stop_node in (final.next or ()):
        note += f"; stopped before node '{stop_node}' as stop_at_span {stop.get('span_id')} asks"
        original = shape(added_messages([normalise_message(m) for m in stop.get("messages") or []], plan.recorded_history))
    elif stop and not stop_node:
        note += "; stop_at_span was not used: the trace does not say which node ran that span"
    elif final.next:
        note += f"; it stopped before {list(final.next)} (an interrupt)"
    if overrides:
        note += "; overrides were passed as configurable values, the graph decides their use"
    return {
        "output": shape([from_langchain(m) for m in produced]),
        "original_output": original,
        "tokens": tokens,
        "executed": True,
        "note": note,
    }
