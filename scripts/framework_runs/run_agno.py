import pathlib
import sys

sys.path.append(str(pathlib.Path(__file__).resolve().parent))  # common.py, beside this script
from common import DATA, OpenAIServer, recording, save, save_requests, reply  # noqa: E402
from agno.agent import Agent
from agno.team import Team
from agno.models.openai import OpenAIChat
from openinference.instrumentation.agno import AgnoInstrumentor

which = sys.argv[1]
OUT = str(DATA / f'agno_{which}')

def get_weather(city: str) -> str:
    """Get the weather for a city.

    Args:
        city: the city name
    """
    return f"Sunny in {city[-12:]}"

def get_stock(symbol: str) -> str:
    """Get a stock price.

    Args:
        symbol: the ticker
    """
    raise ValueError("stock service down")

with recording('agno-' + which) as (provider, exporter), OpenAIServer() as server:
    inst = AgnoInstrumentor()
    inst.instrument(tracer_provider=provider)
    model = lambda: OpenAIChat(id='gpt-4o-mini', base_url=server.base_url, api_key='x', temperature=0.2)
    try:
        if which == 'single':
            agent = Agent(name='Weather Agent', model=model(), tools=[get_weather], instructions='You answer weather questions.')
            r = agent.run('get_weather Paris please')
        elif which == 'toolerror':
            agent = Agent(name='Stock Agent', model=model(), tools=[get_stock], instructions='You answer stock questions.')
            r = agent.run('get_stock ACME please')
        elif which == 'team':
            member = Agent(name='Weather Agent', model=model(), tools=[get_weather], instructions='You answer weather questions.')
            team = Team(name='Travel Team', members=[member], model=model(), instructions='Delegate weather questions.')
            server.reply_next(reply(None, [("call_d1", "delegate_task_to_member", {"member_id": "weather-agent", "task": "get_weather Paris please"})]))
            r = team.run('What is the weather in Paris?')
        print('RESULT', repr(r.content))
    except Exception as e:
        import traceback; traceback.print_exc()
    inst.uninstrument()
    save(exporter, OUT + '.json')
    save_requests(server, OUT + '.requests.json')
    print(len(exporter.get_finished_spans()), 'spans', len(server.requests), 'requests')
