"""Google ADK + LiteLlm against the local server; ADK's own OpenTelemetry spans.
usage: python -P run_adk.py VARIANT   VARIANT: v2 (default schema, content capture SPAN_ONLY) | legacy (ADK_TELEMETRY_SCHEMA_VERSION_OPT_IN=1)
A second word 'handoff' runs the triage -> weather sub-agent transfer instead of the single agent."""
import pathlib
import sys

sys.path.append(str(pathlib.Path(__file__).resolve().parent))  # common.py, beside this script
from common import DATA  # noqa: E402
import os, json, asyncio
variant = sys.argv[1]
scenario = sys.argv[2] if len(sys.argv) > 2 else "single"
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
if variant == "legacy":
    os.environ["ADK_TELEMETRY_SCHEMA_VERSION_OPT_IN"] = "1"
from common import OpenAIServer, recording, save, save_requests, summarize
from opentelemetry import trace

out = str(DATA / f"adk_{variant}_{scenario}.json")

with recording(f"adk-{variant}") as (provider, exporter):
    trace.set_tracer_provider(provider)
    from google.adk.agents import LlmAgent
    from google.adk.models.lite_llm import LiteLlm
    from google.adk.runners import InMemoryRunner
    from google.genai import types

    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        return f"Sunny, 21C in {city}"

    def get_forecast(city: str) -> str:
        """Get the forecast for a city."""
        raise RuntimeError(f"forecast service unavailable for {city}")

    async def main(server):
        model = LiteLlm(model="openai/gpt-4o-mini", api_base=server.base_url, api_key="sk-test")
        if scenario == "single":
            root = LlmAgent(name="weather_agent", model=model, instruction="You are a weather assistant.",
                            description="Answers weather questions", tools=[get_weather, get_forecast])
            questions = ["get_weather Paris please", "get_forecast Paris please"]
        else:
            weather = LlmAgent(name="weather_agent", model=model, instruction="You are the weather agent.",
                               description="Knows the weather", tools=[get_weather])
            root = LlmAgent(name="triage_agent", model=model, instruction="You are triage. Transfer weather questions.",
                            description="Routes requests", sub_agents=[weather])
            # the deterministic server cannot pick a valid agent name itself: script the transfer call
            server.reply_next(json.dumps({
                "id": "chatcmpl-handoff", "object": "chat.completion", "created": 0, "model": "gpt-4o-mini",
                "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": None,
                    "tool_calls": [{"id": "call_handoff1", "type": "function", "function": {
                        "name": "transfer_to_agent", "arguments": json.dumps({"agent_name": "weather_agent"})}}]}}],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}).encode())
            questions = ["get_weather Paris please"]
        runner = InMemoryRunner(agent=root, app_name="demo")
        session = await runner.session_service.create_session(app_name="demo", user_id="u1")
        for q in questions:
          try:
            async for ev in runner.run_async(user_id="u1", session_id=session.id,
                                             new_message=types.Content(role="user", parts=[types.Part(text=q)])):
                for p in (ev.content.parts if ev.content else []) or []:
                    print("EVENT", ev.author, (p.text or "")[:100], p.function_call, str(p.function_response)[:150])
          except Exception as e:  # ADK lets a tool's exception end the run
            print("RUN FAILED", type(e).__name__, e)

    with OpenAIServer() as server:
        asyncio.run(main(server))
        save_requests(server, out.replace('.json', '.requests.json'))
    provider.force_flush()
    save(exporter, out)
print("saved", out)
summarize(out, 900)
