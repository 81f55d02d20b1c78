"""CrewAI 1.x + openinference-instrumentation-crewai. usage: python -P run_crewai.py VARIANT
VARIANT: oi (default wrappers + OpenInference openai instrumentor) | events (use_event_listener=True, its own LLM spans)"""
import pathlib
import sys

sys.path.append(str(pathlib.Path(__file__).resolve().parent))  # common.py, beside this script
from common import DATA  # noqa: E402
import os
os.environ["CREWAI_DISABLE_TELEMETRY"] = "true"
os.environ["CREWAI_TRACING_ENABLED"] = "false"
os.environ["CREWAI_DISABLE_TRACKING"] = "true"
from common import OpenAIServer, recording, save, save_requests, summarize

variant = sys.argv[1]
out = str(DATA / f"crewai_{variant}.json")

from crewai import Agent, Crew, Task, LLM, Process
from crewai.tools import tool
from openinference.instrumentation.crewai import CrewAIInstrumentor
from openinference.instrumentation.openai import OpenAIInstrumentor


@tool("get_weather")
def get_weather(city: str) -> str:
    """Get the current weather for a city."""
    return f"Sunny, 21C in {city[:20]}"


with recording(f"crewai-{variant}") as (provider, exporter):
    if variant == "events":
        CrewAIInstrumentor().instrument(tracer_provider=provider, use_event_listener=True)
    else:
        CrewAIInstrumentor().instrument(tracer_provider=provider)
        OpenAIInstrumentor().instrument(tracer_provider=provider)
    with OpenAIServer() as server:
        llm = LLM(model="openai/gpt-4o-mini", base_url=server.base_url, api_key="sk-test")
        researcher = Agent(role="Weather Researcher", goal="Find the weather", backstory="You check weather.",
                           tools=[get_weather], llm=llm, verbose=False, max_iter=3)
        writer = Agent(role="Report Writer", goal="Write a one-line report", backstory="You write.",
                       llm=llm, verbose=False, max_iter=3)
        t1 = Task(description="get_weather Paris please", expected_output="the weather", agent=researcher)
        t2 = Task(description="Write a one-line weather report.", expected_output="a report", agent=writer)
        crew = Crew(agents=[researcher, writer], tasks=[t1, t2], process=Process.sequential, verbose=False)
        result = crew.kickoff()
        print("RESULT", result)
        save_requests(server, out.replace('.json', '.requests.json'))
    provider.force_flush()
    save(exporter, out)
print("saved", out)
summarize(out, 900)
