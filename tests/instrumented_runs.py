"""Traces written by real instrumentation libraries, on real client code, against a local model.

Each run drives the real `openai` client (or the OpenAI Agents SDK on top of it) against
`tests/openai_server.py`, a local server that speaks the Chat Completions protocol, with one
real instrumentation installed, and returns the OTLP/JSON its spans encode to:

- ``openinference_openai``: the OpenAI client under OpenInference's instrumentor
  (`llm.input_messages.N.*` attributes);
- ``openllmetry_openai``: the same conversation under OpenLLMetry's instrumentor
  (`opentelemetry-instrumentation-openai`: `gen_ai.input.messages` JSON attributes);
- ``openai_agents``: a triage agent that hands off to a weather agent, then that agent's
  tool failing, in one OpenAI Agents SDK trace under OpenInference's agents instrumentor;
- ``pydantic_ai``: a Pydantic AI agent with one tool, instrumented by Pydantic AI itself
  (GenAI attributes, its default instrumentation version);
- ``openinference_anthropic`` and ``openllmetry_anthropic``: the same conversation through
  the `anthropic` client (Messages API: content blocks, `tool_use`, `tool_result`), under
  OpenInference's and OpenLLMetry's Anthropic instrumentors.

Instrumentors patch modules process-wide, and the SDK's package is called `agents` like the
`tests/agents` folder, so `documents()` runs this file in a child process (`python -P`: the
tests folder is not put first on its path) and reads one JSON object of documents back.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

_TESTS_DIR = Path(__file__).resolve().parent

SYSTEM = "You answer weather questions."
QUESTION = "get_weather Paris please"  # the local model calls a tool its user message names
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TOOL_RESULT = "18C and sunny"
HANDOFF_QUESTION = "transfer_to_weather_agent: how is Paris today?"
FAILING_QUESTION = "get_weather Atlantis"


def documents() -> dict[str, str]:
    """`{name: OTLP/JSON}` for every run above (see the module docstring)."""
    proc = subprocess.run(
        [sys.executable, "-P", str(Path(__file__)), "--all"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the instrumented runs failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


# --- in the child process -------------------------------------------------------------------


def _chat_turn(client: Any) -> None:
    """A model call that asks for a tool, the tool's result, the model's answer."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    first = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL], temperature=0.1
    )
    call = first.choices[0].message.tool_calls[0]
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULT})
    client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL])


def _anthropic_turn(client: Any) -> None:
    """`_chat_turn` through the Messages API: the system prompt apart, tools by input schema."""
    function = WEATHER_TOOL["function"]
    tools = [{"name": function["name"], "description": function["description"], "input_schema": function["parameters"]}]
    messages: list[dict[str, Any]] = [{"role": "user", "content": QUESTION}]
    first = client.messages.create(model="claude-sonnet-4-5", max_tokens=256, system=SYSTEM, messages=messages,
                                   tools=tools)  # fmt: skip
    (call,) = [block for block in first.content if block.type == "tool_use"]
    messages.append({"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]})
    messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": TOOL_RESULT}]})
    client.messages.create(model="claude-sonnet-4-5", max_tokens=256, system=SYSTEM, messages=messages, tools=tools)


def _anthropic_run(instrumentor: Any, server: Any) -> str:
    import anthropic
    from otel_traces import otlp_json, recording

    with recording("weather-bot") as (provider, exporter):
        instrumentor.instrument(tracer_provider=provider)
        try:
            with provider.get_tracer("weather-bot").start_as_current_span("weather turn"):
                base_url = server.base_url.removesuffix("/v1")  # the client adds /v1/messages
                _anthropic_turn(anthropic.Anthropic(base_url=base_url, api_key="test-key", max_retries=0))
        finally:
            instrumentor.uninstrument()
        return otlp_json(exporter.get_finished_spans())


def _client_run(instrumentor: Any, server: Any) -> str:
    import openai
    from otel_traces import otlp_json, recording

    with recording("weather-bot") as (provider, exporter):
        instrumentor.instrument(tracer_provider=provider)
        try:
            with provider.get_tracer("weather-bot").start_as_current_span("weather turn"):
                _chat_turn(openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0))
        finally:
            instrumentor.uninstrument()
        return otlp_json(exporter.get_finished_spans())


def _agents_run(server: Any) -> str:
    import agents
    from openai import AsyncOpenAI
    from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor
    from otel_traces import otlp_json, recording

    @agents.function_tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        if "Atlantis" in city:
            raise RuntimeError("no weather station in Atlantis")
        return f"{TOOL_RESULT} in {city}"

    async def run() -> None:
        client = AsyncOpenAI(base_url=server.base_url, api_key="test-key", max_retries=0)
        model = agents.OpenAIChatCompletionsModel(model="gpt-4o-mini", openai_client=client)
        settings = agents.ModelSettings(temperature=0.2)
        weather = agents.Agent(
            name="Weather agent", instructions="You report the weather.", model=model,
            model_settings=settings, tools=[get_weather],
        )  # fmt: skip
        triage = agents.Agent(name="Triage agent", instructions="Route the user.", model=model, handoffs=[weather])
        with agents.trace("Travel desk"):
            await agents.Runner.run(triage, HANDOFF_QUESTION)
            await agents.Runner.run(weather, FAILING_QUESTION)

    with recording("travel-desk") as (provider, exporter):
        agents.set_trace_processors([])  # nothing goes to OpenAI's own trace backend
        instrumentor = OpenAIAgentsInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
        try:
            asyncio.run(run())
        finally:
            instrumentor.uninstrument()
        return otlp_json(exporter.get_finished_spans())


def _pydantic_ai_run(server: Any) -> str:
    from otel_traces import otlp_json, recording
    from pydantic_ai import Agent
    from pydantic_ai.models.instrumented import InstrumentationSettings
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    with recording("weather-bot") as (provider, exporter):
        model = OpenAIChatModel("gpt-4o-mini", provider=OpenAIProvider(base_url=server.base_url, api_key="test-key"))
        agent = Agent(model, system_prompt=SYSTEM, name="weather_agent")
        agent.instrument = InstrumentationSettings(tracer_provider=provider)

        @agent.tool_plain
        def get_weather(city: str) -> str:
            """Weather for a city"""
            return TOOL_RESULT

        agent.run_sync(QUESTION)
        return otlp_json(exporter.get_finished_spans())


def _main() -> None:
    sys.path.append(str(_TESTS_DIR))  # after site-packages: `agents` is the SDK here
    from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInferenceOpenAI
    from openai_server import OpenAIServer
    from openinference.instrumentation.anthropic import AnthropicInstrumentor as OpenInferenceAnthropic
    from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor as OpenLLMetryAnthropic
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor as OpenLLMetryOpenAI

    with OpenAIServer() as server:
        out = {
            "openinference_openai": _client_run(OpenInferenceOpenAI(), server),
            "openllmetry_openai": _client_run(OpenLLMetryOpenAI(), server),
            "openai_agents": _agents_run(server),
            "pydantic_ai": _pydantic_ai_run(server),
            "openinference_anthropic": _anthropic_run(OpenInferenceAnthropic(), server),
            "openllmetry_anthropic": _anthropic_run(OpenLLMetryAnthropic(), server),
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    _main()
