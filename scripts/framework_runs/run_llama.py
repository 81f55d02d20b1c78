import pathlib
import sys

sys.path.append(str(pathlib.Path(__file__).resolve().parent))  # common.py, beside this script
from common import DATA, OpenAIServer, recording, save, save_requests, reply  # noqa: E402
import asyncio
from llama_index.core.agent.workflow import FunctionAgent, ReActAgent, AgentWorkflow
from llama_index.core.tools import FunctionTool
from llama_index.llms.openai import OpenAI
from openinference.instrumentation.llama_index import LlamaIndexInstrumentor

which = sys.argv[1]
OUT = str(DATA / f'llamaindex_{which}')

def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"Sunny in {city[-12:]}"

def get_stock(symbol: str) -> str:
    """Get a stock price."""
    raise ValueError("stock service down")

async def main(server):
    llm = OpenAI(model='gpt-4o-mini', api_base=server.base_url, api_key='x', temperature=0.1)
    if which == 'function_agent':
        agent = FunctionAgent(name='weather_agent', description='Weather helper', tools=[FunctionTool.from_defaults(get_weather)],
                              llm=llm, system_prompt='You are a weather bot.', streaming=False)
        return await agent.run(user_msg='get_weather Paris please')
    if which == 'tool_error':
        agent = FunctionAgent(name='stock_agent', tools=[FunctionTool.from_defaults(get_stock)],
                              llm=llm, system_prompt='You are a stock bot.', streaming=False)
        return await agent.run(user_msg='get_stock ACME please')
    if which == 'react':
        server.reply_next(reply('Thought: I need to use a tool to help me answer the question.\nAction: get_weather\nAction Input: {"city": "Paris"}'))
        server.reply_next(reply('Thought: I can answer without using any more tools.\nAnswer: It is sunny in Paris.'))
        agent = ReActAgent(name='react_weather', tools=[FunctionTool.from_defaults(get_weather)], llm=llm, streaming=False)
        return await agent.run(user_msg='What is the weather in Paris?')
    if which == 'handoff':
        triage = FunctionAgent(name='triage', description='Routes requests', system_prompt='You are triage. Hand off weather questions.',
                               llm=llm, tools=[], can_handoff_to=['weather'], streaming=False)
        weather = FunctionAgent(name='weather', description='Answers weather questions', system_prompt='You are the weather agent.',
                                llm=llm, tools=[FunctionTool.from_defaults(get_weather)], streaming=False)
        wf = AgentWorkflow(agents=[triage, weather], root_agent='triage')
        server.reply_next(reply(None, [("call_h1", "handoff", {"to_agent": "weather", "reason": "weather question"})]))
        server.reply_next(reply(None, [("call_w1", "get_weather", {"city": "Paris"})]))
        return await wf.run(user_msg='What is the weather in Paris?')

with recording('llama-' + which) as (provider, exporter), OpenAIServer() as server:
    inst = LlamaIndexInstrumentor()
    inst.instrument(tracer_provider=provider)
    try:
        print('RESULT', repr(asyncio.run(main(server))))
    except Exception as e:
        print('RUN ERROR', type(e).__name__, e)
    inst.uninstrument()
    save(exporter, OUT + '.json')
    save_requests(server, OUT + '.requests.json')
    print(len(exporter.get_finished_spans()), 'spans', len(server.requests), 'requests')
