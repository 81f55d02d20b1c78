import pathlib
import sys

sys.path.append(str(pathlib.Path(__file__).resolve().parent))  # common.py, beside this script
from common import DATA, OpenAIServer, recording, save, save_requests  # noqa: E402
from smolagents import ToolCallingAgent, OpenAIServerModel, tool
from openinference.instrumentation.smolagents import SmolagentsInstrumentor

which = sys.argv[1]
OUT = str(DATA / f'smolagents_{which}')

@tool
def get_weather(city: str) -> str:
    """Get the weather for a city.

    Args:
        city: the city name
    """
    return f"Sunny in {city[-12:]}; now call final_answer"

@tool
def get_stock(symbol: str) -> str:
    """Get a stock price.

    Args:
        symbol: the ticker
    """
    raise ValueError("stock service down")

with recording('smol-' + which) as (provider, exporter), OpenAIServer() as server:
    inst = SmolagentsInstrumentor()
    inst.instrument(tracer_provider=provider)
    model = OpenAIServerModel(model_id='gpt-4o-mini', api_base=server.base_url, api_key='x')
    result = None
    try:
        if which == 'single':
            agent = ToolCallingAgent(tools=[get_weather], model=model, max_steps=4, name='weather_bot')
            result = agent.run('get_weather Paris please')
        elif which == 'managed':
            sub = ToolCallingAgent(tools=[get_weather], model=model, max_steps=4, name='weather_agent',
                                   description='Answers weather questions using get_weather.')
            mgr = ToolCallingAgent(tools=[], model=model, managed_agents=[sub], max_steps=4, name='manager')
            result = mgr.run('Ask weather_agent to get_weather for Paris')
        elif which == 'toolerror':
            agent = ToolCallingAgent(tools=[get_stock], model=model, max_steps=2, name='stock_bot')
            result = agent.run('get_stock ACME please')
    except Exception as e:
        print('RUN ERROR', type(e).__name__, e)
    print('RESULT', repr(result))
    inst.uninstrument()
    save(exporter, OUT + '.json')
    save_requests(server, OUT + '.requests.json')
    print(len(exporter.get_finished_spans()), 'spans', len(server.requests), 'requests')
