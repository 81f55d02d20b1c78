"""Benchmark compute_diff against DeepDiff on two ~10 MB trace-like documents.

Run from the project root:  python -m benchmarks.bench_diff [--quick]

Both documents are parsed from the same JSON text (so they share no objects, like a
recorded output and its replay read back from the database); the replay then gets exactly
five differences. The script exits non-zero if compute_diff misses or invents any, or
takes longer than the 200 ms target.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from typing import Any

from agenttrace_replay.differ import compute_diff
from benchmarks._report import machine, write_section

TARGET_BYTES = 10_000_000
TARGET_MS = 200.0
SEED = 20240607

WORDS = (
    "the agent searched for flights from Paris to Lisbon and compared prices with the "
    "cached results before calling the booking tool again because the first response "
    "timed out while the user waited for a summary of options weather hotel refund policy "
    "customer account order status tracking number invoice amount currency euro dollar"
).split()
TOOLS = ("search_flights", "get_weather", "lookup_order", "send_email", "query_database")
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b")


def _text(rng: random.Random, low: int, high: int) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    sentences = []
    for start in range(0, len(words), 14):
        sentence = " ".join(words[start : start + 14])
        sentences.append(sentence[:1].upper() + sentence[1:] + ".")
    return " ".join(sentences)


def _tool_call(rng: random.Random) -> dict[str, Any]:
    return {
        "id": f"call_{rng.getrandbits(48):012x}",
        "name": rng.choice(TOOLS),
        "arguments": {"query": _text(rng, 3, 8), "limit": rng.randint(1, 50), "strict": rng.random() < 0.5},
    }


def _messages(rng: random.Random) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": _text(rng, 20, 60)}]
    for _ in range(rng.randint(1, 4)):
        messages.append({"role": "user", "content": _text(rng, 10, 120)})
        if rng.random() < 0.5:
            call = _tool_call(rng)
            messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
            messages.append(
                {"role": "tool", "tool_call_id": call["id"], "name": call["name"], "content": _text(rng, 10, 80)}
            )
        messages.append({"role": "assistant", "content": _text(rng, 20, 150)})
    return messages


def _span(rng: random.Random, index: int) -> dict[str, Any]:
    start = 1_717_000_000.0 + index * 1.7 + rng.random()
    span: dict[str, Any] = {
        "span_id": f"{rng.getrandbits(64):016x}",
        "parent_span_id": f"{rng.getrandbits(64):016x}" if index else None,
        "start_time": start,
        "end_time": start + rng.random() * 4,
        "status": "ok" if rng.random() < 0.97 else "error",
    }
    if index % 3 == 2:
        call = _tool_call(rng)
        span |= {
            "name": call["name"],
            "kind": "tool_call",
            "attributes": {"tool.name": call["name"], "retries": rng.randint(0, 2)},
            "input": {"name": call["name"], "arguments": call["arguments"], "call_id": call["id"]},
            "output": {
                "result": [
                    {"title": _text(rng, 3, 9), "score": round(rng.random(), 4), "rank": rank}
                    for rank in range(rng.randint(1, 6))
                ]
            },
        }
    else:
        prompt, completion = rng.randint(50, 8000), rng.randint(10, 1500)
        span |= {
            "name": "chat",
            "kind": "llm_call",
            "attributes": {
                "llm.model_name": rng.choice(MODELS),
                "llm.token_count.prompt": prompt,
                "llm.token_count.completion": completion,
                "llm.cost_usd": round((prompt * 2.5 + completion * 10) / 1e6, 6),
            },
            "input": {
                "messages": _messages(rng),
                "model": rng.choice(MODELS),
                "parameters": {"temperature": rng.choice((0.0, 0.2, 0.7, 1.0)), "max_tokens": 1024},
            },
            "output": {
                "messages": [{"role": "assistant", "content": _text(rng, 40, 200)}],
                "finish_reason": "stop",
            },
        }
    return span


def build_text(seed: int = SEED, target_bytes: int = TARGET_BYTES) -> str:
    """One trace-like JSON document of about target_bytes, always the same for a seed."""
    rng = random.Random(seed)
    spans: list[dict[str, Any]] = []
    size = 0
    while size < target_bytes:
        span = _span(rng, len(spans))
        size += len(json.dumps(span)) + 2
        spans.append(span)
    trace = {"trace_id": f"{rng.getrandbits(128):032x}", "name": "travel-agent", "spans": spans}
    return json.dumps(trace)


def introduce_differences(doc: dict[str, Any]) -> dict[str, str]:
    """Make exactly five edits to doc; returns {path: category compute_diff should report}."""
    spans = doc["spans"]
    llm = [i for i, span in enumerate(spans) if span["kind"] == "llm_call"]
    a, b, c, d, e = (llm[len(llm) * k // 6] for k in range(1, 6))
    root = 'root["spans"]'

    message = spans[a]["output"]["messages"][0]
    message["content"] = message["content"].replace(" ", " really ", 1)
    spans[b]["attributes"]["llm.token_count.completion"] += 7
    spans[c]["input"]["parameters"]["max_tokens"] = 1024.0
    spans[d]["output"]["system_fingerprint"] = "fp_2f3a9c"
    last = len(spans[e]["input"]["messages"]) - 1
    spans[e]["input"]["messages"].pop()
    return {
        f'{root}[{a}]["output"]["messages"][0]["content"]': "changed",
        f'{root}[{b}]["attributes"]["llm.token_count.completion"]': "changed",
        f'{root}[{c}]["input"]["parameters"]["max_tokens"]': "type_changes",
        f'{root}[{d}]["output"]["system_fingerprint"]': "added",
        f'{root}[{e}]["input"]["messages"][{last}]': "removed",
    }


def _found(diff: dict[str, Any]) -> dict[str, str]:
    return {path: kind for kind in ("changed", "added", "removed", "type_changes") for path in diff[kind]}


def _best_of(runs: int, fn: Any) -> tuple[float, float, Any]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="skip DeepDiff (several seconds) and leave docs/performance.md alone"
    )
    args = parser.parse_args(argv)

    text = build_text()
    original, replay = json.loads(text), json.loads(text)
    expected = introduce_differences(replay)
    megabytes = len(text) / 1e6
    print(f"documents: {megabytes:.1f} MB of JSON each, {len(original['spans'])} spans")

    best, median, diff = _best_of(5, lambda: compute_diff(original, replay))
    found = _found(diff)
    print(f"compute_diff, five differences: best {best:.0f} ms, median {median:.0f} ms")
    print(f"  {diff['summary']}")
    twin = json.loads(text)
    same_best, _, same = _best_of(5, lambda: compute_diff(original, twin))
    print(f"compute_diff, identical documents: best {same_best:.0f} ms")

    deep_ms = None
    if not args.quick:
        from deepdiff import DeepDiff

        start = time.perf_counter()
        deep = DeepDiff(original, replay)
        deep_ms = (time.perf_counter() - start) * 1000
        items = sum(len(v) for v in deep.values())
        print(f"DeepDiff, five differences: {deep_ms:.0f} ms ({items} items reported)")

    failures = []
    if found != expected:
        failures.append(f"expected {expected}, found {found}")
    if same["has_changes"]:
        failures.append(f"identical documents reported: {same['summary']}")
    if best > TARGET_MS:
        failures.append(f"best time {best:.0f} ms is over the {TARGET_MS:.0f} ms target")

    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    if failures or deep_ms is None:
        return 1 if failures else 0

    write_section(
        "diff",
        f"""## Diff

Two trace-like JSON documents of {megabytes:.1f} MB each ({len(original['spans'])} spans, parsed
separately); the replay has one changed string, one changed number, one int to float
change, one added key and one removed list item. `compute_diff` found all five and nothing
else. Target: under {TARGET_MS:.0f} ms.

| case | time |
|---|---|
| `compute_diff`, five differences | best {best:.0f} ms, median {median:.0f} ms (of 5) |
| `compute_diff`, identical documents | best {same_best:.0f} ms (of 5) |
| `DeepDiff(original, replay)`, five differences | {deep_ms:.0f} ms (1 run) |

Measured on {machine()} with `python -m benchmarks.bench_diff`.
""",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
