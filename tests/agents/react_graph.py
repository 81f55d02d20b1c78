"""A real LangGraph ReAct agent that runs offline and deterministically.

Tests need a genuine LangGraph graph (real nodes, real tool routing, real callbacks for
instrumentation) whose answers do not depend on a network or a random model. The chat model
below is a pure function of the conversation, so replaying the graph with a changed question
changes the answer in a predictable way: ask about another city and the final text names it.

The graph is built explicitly (not with `create_react_agent`) so its node names, "agent" and
"tools", stay stable across LangGraph versions.
"""

from __future__ import annotations

import ast
import operator
import re
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool, tool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

MODEL_NAME = "fake-deterministic-1"

KNOWN_CITIES = (
    "Amsterdam", "Berlin", "Buenos Aires", "Cairo", "Lisbon", "London", "Madrid",
    "Mumbai", "New York", "Oslo", "Paris", "Rome", "San Francisco", "Seoul", "Sydney",
    "Tokyo", "Toronto", "Vienna",
)  # fmt: skip
_CONDITIONS = ("sunny", "cloudy", "light rain", "windy", "foggy", "clear skies")
_CITY_AFTER_PREPOSITION = re.compile(r"\b(?:in|for|at)\s+([A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)?)")
_EXPRESSION = re.compile(r"[-+*/().\d\s]*\d\s*[-+*/]\s*[-+*/().\d\s]*\d[\s)]*")


@tool
def get_weather(city: str) -> str:
    """Return the current weather for a city."""
    seed = zlib.crc32(city.strip().lower().encode())
    condition = _CONDITIONS[seed % len(_CONDITIONS)]
    temperature = 5 + seed % 25
    return f"The weather in {city} is {condition}, {temperature} degrees Celsius."


_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand))
    raise ValueError("only numbers and + - * / are allowed")


@tool
def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression with + - * / and parentheses."""
    value = _evaluate(ast.parse(expression, mode="eval"))
    return str(int(value)) if float(value).is_integer() else str(value)


TOOLS: list[BaseTool] = [get_weather, calculator]


def find_city(text: str) -> str | None:
    """The city a question is about: a known city name, else a capitalised place after in/for/at."""
    lowered = text.lower()
    for city in KNOWN_CITIES:
        if re.search(rf"\b{re.escape(city.lower())}\b", lowered):
            return city
    match = _CITY_AFTER_PREPOSITION.search(text)
    return match.group(1) if match else None


def _find_expression(text: str) -> str | None:
    match = _EXPRESSION.search(text)
    return match.group(0).strip() if match else None


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") if isinstance(p, dict) else str(p) for p in content)


def _bound_tool_names(tools: Sequence[dict[str, Any]] | None) -> set[str]:
    return {t.get("function", {}).get("name", "") for t in tools or ()}


def _count_tokens(text: str) -> int:
    return max(1, len(text.split()))


class DeterministicChatModel(BaseChatModel):
    """A chat model whose reply is a pure function of the messages it receives.

    - last message is a human question naming a city: call `get_weather` for it;
    - last message is a human arithmetic question: call `calculator`;
    - last message is a tool result: answer with a sentence that contains the result;
    - anything else: echo the question back.
    Tools are only called when bound with `bind_tools`, as with a real provider.
    """

    model_name: str = MODEL_NAME
    temperature: float = 0.0

    @property
    def _llm_type(self) -> str:
        return MODEL_NAME

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "temperature": self.temperature}

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[Any, AIMessage]:
        formatted = [convert_to_openai_tool(t) for t in tools]
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=formatted, **kwargs)

    def _reply(self, messages: list[BaseMessage], tool_names: set[str]) -> AIMessage:
        last = messages[-1] if messages else HumanMessage(content="")
        if isinstance(last, ToolMessage):
            return AIMessage(content=f"Here is what I found: {_text(last)}")
        question = _text(last)
        call_id = f"call_{zlib.crc32(question.encode()):08x}"
        city = find_city(question)
        if city and "get_weather" in tool_names:
            call = {"name": "get_weather", "args": {"city": city}, "id": call_id}
            return AIMessage(content="", tool_calls=[call])
        expression = _find_expression(question)
        if expression and "calculator" in tool_names:
            call = {"name": "calculator", "args": {"expression": expression}, "id": call_id}
            return AIMessage(content="", tool_calls=[call])
        return AIMessage(content=f"You asked: {question}")

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        reply = self._reply(messages, _bound_tool_names(kwargs.get("tools")))
        prompt_tokens = sum(_count_tokens(_text(m)) for m in messages)
        completion_tokens = _count_tokens(_text(reply)) + 5 * len(reply.tool_calls)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        reply.usage_metadata = {
            "input_tokens": prompt_tokens,
            "output_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        finish_reason = "tool_calls" if reply.tool_calls else "stop"
        reply.response_metadata = {"model_name": self.model_name, "finish_reason": finish_reason}
        return ChatResult(
            generations=[ChatGeneration(message=reply)],
            llm_output={"model_name": self.model_name, "token_usage": usage},
        )


def build_graph(checkpointer: Any = None, model: BaseChatModel | None = None) -> Any:
    """Compile the ReAct graph: "agent" calls the model, "tools" runs the requested tools."""
    llm = (model or DeterministicChatModel()).bind_tools(TOOLS)

    def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
        return {"messages": [llm.invoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(TOOLS))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition, {"tools": "tools", END: END})
    builder.add_edge("tools", "agent")
    return builder.compile(checkpointer=checkpointer)


graph = build_graph()
