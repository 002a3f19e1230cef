"""The response object of Ollama's `/v1/responses` (`openai/responses.go`), whole or in a streamed event.

The whole answer is a Go struct (keys in field order); a streamed event's response is a
`map[string]any` (keys sorted: `go_map`). Ids are random numbers below 999999 as Ollama draws them
(`resp_N`, `msg_N`; `rs_resp_N` and `fc_resp_N_i` in a whole answer, `rs_N` and `fc_N_i` when streamed).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ollama_contract_kit.openapi.timestamps import GoTime

from ..serving.encoding import Raw, go_json, go_map

_numbers = itertools.count(1)


def draw() -> int:
    """The next id number (Ollama's `rand.Intn(999999)`; here a counter, so answers repeat run to run)."""
    return next(_numbers) % 999999


@dataclass(frozen=True)
class Echo:
    """What the response says back of the request."""

    model: str
    instructions: str
    tools: tuple[Mapping[str, Any], ...]
    text_format: Mapping[str, Any] | None
    effort: str
    summary: str
    temperature: float | None
    top_p: float | None
    truncation: str | None
    max_output_tokens: int | None
    background: bool


def seconds(chunk: Mapping[str, Any]) -> int:
    return GoTime.parse(str(chunk["created_at"])).unix_seconds()


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def arguments(call: Mapping[str, Any]) -> str:
    return go_json(call["function"]["arguments"]).decode()


def usage(chunk: Mapping[str, Any]) -> dict[str, Any]:
    prompt, generated = int(chunk.get("prompt_eval_count", 0)), int(chunk.get("eval_count", 0))
    return {
        "input_tokens": prompt,
        "output_tokens": generated,
        "total_tokens": prompt + generated,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    }


def _tool_struct(tool: Mapping[str, Any]) -> dict[str, Any]:
    """A tool re-encoded through Go's `ResponsesTool` (parameters a map: keys sorted)."""
    echoed = {
        "type": tool.get("type", ""),
        "name": tool.get("name", ""),
        "description": tool.get("description"),
        "strict": tool.get("strict"),
        "parameters": go_map(tool.get("parameters")),
    }
    members = tool.get("tools")
    return echoed | ({"tools": [_tool_struct(member) for member in members]} if members else {})


def _format_struct(wanted: Mapping[str, Any] | None) -> dict[str, Any]:
    if wanted is None:
        return {"type": "text"}
    shown: dict[str, Any] = {"type": wanted.get("type", "")}
    if wanted.get("name"):
        shown["name"] = wanted["name"]
    if wanted.get("schema") is not None:
        shown["schema"] = wanted["schema"]
    if wanted.get("strict") is not None:
        shown["strict"] = wanted["strict"]
    return shown


def _number(value: float | None) -> Any:
    return go_map(1.0 if value is None else value)


def response_object(
    echo: Echo, response_id: str, status: str, output: list[Any], usage: Any, *, created_at: int, streamed: bool
) -> dict[str, Any]:
    """The response with the request's echo; as a stream's map when `streamed` (tools without their members,
    the format's schema kept as sent, both `reasoning` keys)."""
    tools = [_tool_struct(tool) for tool in echo.tools]
    text_format = _format_struct(echo.text_format)
    reasoning = {key: value or None for key, value in (("effort", echo.effort), ("summary", echo.summary))}
    if streamed:
        tools = [{key: value for key, value in tool.items() if key != "tools"} for tool in tools]
        if "schema" in text_format:
            text_format["schema"] = Raw(text_format["schema"])
    else:
        reasoning = {key: value for key, value in reasoning.items() if value}
    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "completed_at": None,
        "status": status,
        "incomplete_details": None,
        "model": echo.model,
        "previous_response_id": None,
        "instructions": echo.instructions or None,
        "output": output,
        "error": None,
        "tools": tools,
        "tool_choice": "auto",
        "truncation": "disabled" if echo.truncation is None else echo.truncation,
        "parallel_tool_calls": True,
        "text": {"format": text_format},
        "top_p": _number(echo.top_p),
        "presence_penalty": 0,
        "frequency_penalty": 0,
        "top_logprobs": 0,
        "temperature": _number(echo.temperature),
        "reasoning": reasoning if echo.effort or echo.summary else None,
        "usage": usage,
        "max_output_tokens": echo.max_output_tokens,
        "max_tool_calls": None,
        "store": False,
        "background": echo.background,
        "service_tier": "default",
        "metadata": {},
        "safety_identifier": None,
        "prompt_cache_key": None,
    }


def response(echo: Echo, response_id: str, item_id: str, whole: Mapping[str, Any], completed_at: int) -> dict[str, Any]:
    """The whole answer (`ToResponse`): reasoning, then the tool calls, else the message (even empty)."""
    message = whole["message"]
    output: list[dict[str, Any]] = []
    if message.get("thinking"):
        thinking = message["thinking"]
        output.append(
            {
                "id": f"rs_{response_id}",
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": thinking}],
                "encrypted_content": thinking,
            }
        )
    calls = message.get("tool_calls") or []
    for index, call in enumerate(calls):
        output.append(
            {
                "id": f"fc_{response_id}_{index}",
                "type": "function_call",
                "status": "completed",
                "call_id": call.get("id", ""),
                "name": call["function"]["name"],
                "arguments": arguments(call),
            }
        )
    if not calls:
        message_item = {"id": item_id, "type": "message", "status": "completed", "role": "assistant"}
        output.append(message_item | {"content": [text_part(message.get("content", ""))]})
    whole_object = response_object(
        echo, response_id, "completed", output, usage(whole), created_at=seconds(whole), streamed=False
    )
    return whole_object | {"completed_at": completed_at}
