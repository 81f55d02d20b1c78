"""AutoGen 0.7 runs. usage: python -P run_autogen.py VARIANT
VARIANT: assistant | assistant_oai | swarm | swarm_oai  (_oai adds OpenLLMetry's openai instrumentation,
as AutoGen's tracing docs do, since AutoGen's own spans cover agents/tools but not model calls)."""
import pathlib
import sys

sys.path.append(str(pathlib.Path(__file__).resolve().parent))  # common.py, beside this script
from common import DATA  # noqa: E402
import asyncio
from common import OpenAIServer, recording, save, save_requests, summarize
from opentelemetry import trace

variant = sys.argv[1]
out = str(DATA / f"autogen_{variant}.json")

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.teams import Swarm
from autogen_agentchat.conditions import TextMessageTermination, MaxMessageTermination
from autogen_core import SingleThreadedAgentRuntime
from autogen_ext.models.openai import OpenAIChatCompletionClient


async def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"Sunny, 21C in {city}"


async def get_forecast(city: str) -> str:
    """Get the forecast for a city."""
    raise RuntimeError(f"forecast service unavailable for {city}")


async def main(server, provider):
    client = OpenAIChatCompletionClient(model="gpt-4o-mini", base_url=server.base_url, api_key="sk-test")
    if variant.startswith("assistant"):
        agent = AssistantAgent("weather_assistant", model_client=client, tools=[get_weather, get_forecast],
                               system_message="You are a weather assistant.", reflect_on_tool_use=True,
                               description="Answers weather questions")
        r1 = await agent.run(task="get_weather Paris please")
        r2 = await agent.run(task="get_forecast Paris please")
        for r in (r1, r2):
            for m in r.messages:
                print("MSG", type(m).__name__, getattr(m, 'source', None), str(getattr(m, 'content', ''))[:200])
    else:
        runtime = SingleThreadedAgentRuntime(tracer_provider=None if variant.endswith('_oi') else provider)
        triage = AssistantAgent("triage_agent", model_client=client, handoffs=["weather_agent"],
                                system_message="You are triage. Hand weather questions to weather_agent.",
                                description="Routes requests")
        weather = AssistantAgent("weather_agent", model_client=client, tools=[get_weather], reflect_on_tool_use=True,
                                 system_message="You are the weather agent.", description="Knows the weather")
        term = TextMessageTermination(source="weather_agent") | MaxMessageTermination(8)
        team = Swarm([triage, weather], termination_condition=term, runtime=runtime)
        runtime.start()
        r1 = await team.run(task="transfer_to_weather_agent: what is the weather in Paris?")
        r2 = await team.run(task="get_weather Paris please")
        await runtime.stop_when_idle()
        for r in (r1, r2):
            for m in r.messages:
                print("MSG", type(m).__name__, getattr(m, 'source', None), str(getattr(m, 'content', ''))[:200])
    await client.close()


with recording(f"autogen-{variant}") as (provider, exporter):
    if variant.endswith("_oi"):
        # OpenInference, as Arize's AutoGen docs set it up: no global provider, so AutoGen's own
        # GenAI spans stay off; runtime passed no provider either.
        from openinference.instrumentation.autogen_agentchat import AutogenAgentChatInstrumentor
        from openinference.instrumentation.openai import OpenAIInstrumentor as OIOpenAI
        AutogenAgentChatInstrumentor().instrument(tracer_provider=provider)
        OIOpenAI().instrument(tracer_provider=provider)
    else:
        trace.set_tracer_provider(provider)
    if variant.endswith("_oai"):
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=provider)
    with OpenAIServer() as server:
        asyncio.run(main(server, provider))
        save_requests(server, out.replace('.json', '.requests.json'))
    provider.force_flush()
    save(exporter, out)
print("saved", out)
summarize(out)
