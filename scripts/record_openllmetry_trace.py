"""Record tests/data/openllmetry_decorators.json: a run traced by OpenLLMetry's traceloop-sdk.

The test suite reads the recording instead of running traceloop-sdk, because installing that
SDK pulls in dozens of instrumentations and pins OpenTelemetry below the versions the other
test dependencies need (pip took nine minutes to settle it). Record it again in a virtual
environment of its own:

    python -m venv /tmp/tl && /tmp/tl/bin/pip install -e '.[test]' traceloop-sdk
    TRACELOOP_TELEMETRY=false /tmp/tl/bin/python -P scripts/record_openllmetry_trace.py

The run: a `@workflow` that calls an `@agent`, which asks the model (the `openai` client,
instrumented by the SDK's OpenAI instrumentation, against the local Chat Completions server
of tests/openai_server.py), runs the `@tool` the model asked for, and asks the model again.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "openllmetry_decorators.json"
QUESTION = "get_weather Paris please"
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]  # fmt: skip


def main() -> None:
    os.environ.setdefault("TRACELOOP_TELEMETRY", "false")
    sys.path.append(str(ROOT / "tests"))  # after site-packages (tests/agents is not the Agents SDK)
    import openai
    from openai_server import OpenAIServer
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from otel_traces import otlp_json
    from traceloop.sdk import Traceloop
    from traceloop.sdk.decorators import agent, tool, workflow
    from traceloop.sdk.instruments import Instruments

    exporter = InMemorySpanExporter()
    Traceloop.init(app_name="weather-bot", exporter=exporter, disable_batch=True, instruments={Instruments.OPENAI})
    with OpenAIServer() as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0)

        @tool(name="get_weather")
        def get_weather(city: str) -> dict[str, str]:
            return {"city": city, "forecast": "18C and sunny"}

        @agent(name="weather_agent")
        def weather_agent(question: str) -> str | None:
            messages = [{"role": "system", "content": "You answer weather questions."}, {"role": "user", "content": question}]
            first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
            call = first.choices[0].message.tool_calls[0]
            result = get_weather(city=json.loads(call.function.arguments)["city"])
            messages += [first.choices[0].message.model_dump(exclude_none=True),
                         {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)}]  # fmt: skip
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)
            return reply.choices[0].message.content

        @workflow(name="weather_turn")
        def turn(question: str) -> str | None:
            return weather_agent(question)

        turn(QUESTION)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(json.loads(otlp_json(exporter.get_finished_spans())), indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
