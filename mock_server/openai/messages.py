"""`POST /v1/messages` (Anthropic's Messages API, Ollama 0.14.0 and later), translated onto chat as
Ollama's `AnthropicMessagesMiddleware` translates it (`FromMessagesRequest` in `anthropic/anthropic.go`).

`max_tokens` is required and is `num_predict`; `stop_sequences` is `stop`; `system` becomes a system
message; `thinking` (or `output_config.effort`) is `think`, silently dropped for a model that cannot
think. `tool_choice`, `metadata` and the `x-api-key`/`anthropic-version` headers are not read. There
is no `/v1/messages/count_tokens` route.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from ..native.bodies import BodyError, Fields, go_kind, image_count
from ..native.common import Refused
from . import shapes
from .chat import ChatRequest, answer
from .messages_tokens import estimate_input_tokens
from .messages_wire import MessageEvents, error, message, random_id
from .middleware import Invalid, decoded, field_error
from .web_search import MESSAGES_WEB_SEARCH

messages_routes = Blueprint("messages", __name__, url_prefix="/v1")

_FIELDS: Fields = {
    "model": (str, "string"),
    "max_tokens": (int, "int"),
    "messages": (list, "[]anthropic.MessageParam"),
    "stream": (bool, "bool"),
    "temperature": ((int, float), "float64"),
    "top_p": ((int, float), "float64"),
    "top_k": (int, "int"),
    "stop_sequences": (list, "[]string"),
    "tools": (list, "[]anthropic.Tool"),
    "tool_choice": (dict, "anthropic.ToolChoice"),
    "thinking": (dict, "anthropic.ThinkingConfig"),
    "metadata": (dict, "anthropic.Metadata"),
    "output_config": (dict, "anthropic.OutputConfig"),
}
#: Fields inside the request's objects, as Go decodes them: (struct, path, Python type, Go type).
_NESTED: tuple[tuple[str, str, type, str], ...] = (
    ("ThinkingConfig", "thinking.type", str, "string"),
    ("ThinkingConfig", "thinking.budget_tokens", int, "int"),
    ("OutputConfig", "output_config.effort", str, "string"),
    ("ToolChoice", "tool_choice.type", str, "string"),
    ("ToolChoice", "tool_choice.name", str, "string"),
    ("ToolChoice", "tool_choice.disable_parallel_tool_use", bool, "bool"),
    ("Metadata", "metadata.user_id", str, "string"),
)
_BLOCK_FIELDS: tuple[tuple[str, type, str], ...] = (
    *((key, str, "string") for key in ("type", "id", "name", "tool_use_id", "signature", "text", "thinking")),
    ("is_error", bool, "bool"),
    ("source", dict, "anthropic.ImageSource"),
    ("citations", list, "[]anthropic.Citation"),
)
_EFFORTS = ("high", "medium", "low", "max")


def _checked(data: dict[str, Any]) -> None:
    """Go's decoding errors below the top level: stop sequences, messages and their blocks, tools."""
    for stop in data.get("stop_sequences") or []:
        if not isinstance(stop, str):
            raise field_error(stop, "MessagesRequest", "stop_sequences", "string")
    for item in data.get("messages") or []:
        if not isinstance(item, dict):
            raise Invalid(
                f"json: cannot unmarshal {go_kind(item)} into Go value of type struct {{ Role string "
                '"json:\\"role\\""; Content json.RawMessage "json:\\"content\\"" }'
            )
        if item.get("role") is not None and not isinstance(item["role"], str):
            raise field_error(item["role"], "", "role", "string")  # an anonymous struct: `.role`
        if "content" not in item:
            raise Invalid("unexpected end of JSON input")
        blocks = item["content"]
        if blocks is not None and not isinstance(blocks, (str, list)):
            raise Invalid(f"json: cannot unmarshal {go_kind(blocks)} into Go value of type []anthropic.ContentBlock")
        for block in blocks if isinstance(blocks, list) else []:
            _check_block(block)
    for struct, key, wanted, go_type in _NESTED:
        parent, child = key.split(".")
        value = (data.get(parent) or {}).get(child)
        if value is not None and (not isinstance(value, wanted) or isinstance(value, bool) is not (wanted is bool)):
            raise field_error(value, struct, key, go_type)
    for tool in data.get("tools") or []:
        if not isinstance(tool, dict):
            raise field_error(tool, "MessagesRequest", "tools", "anthropic.Tool")
        for key in ("type", "name", "description"):
            if tool.get(key) is not None and not isinstance(tool[key], str):
                raise field_error(tool[key], "Tool", f"tools.{key}", "string")


def _check_block(block: Any) -> None:
    if not isinstance(block, dict):
        raise Invalid(f"json: cannot unmarshal {go_kind(block)} into Go value of type anthropic.ContentBlock")
    for key, kind, go_type in _BLOCK_FIELDS:
        if block.get(key) is not None and not isinstance(block[key], kind):
            raise field_error(block[key], "ContentBlock", key, go_type)
    for citation in block.get("citations") or []:
        if citation is not None and not isinstance(citation, dict):
            raise field_error(citation, "ContentBlock", "citations", "anthropic.Citation")
    given = block.get("input")
    if given is not None and not isinstance(given, dict):
        raise Invalid(f"json: cannot unmarshal {go_kind(given)} into Go value of type map[string]interface {{}}")


def _image(source: Any, refusal: str) -> int:
    if not isinstance(source, dict):
        raise Invalid(refusal)
    if source.get("type") != "base64":
        kind = source.get("type") if isinstance(source.get("type"), str) else ""
        raise Invalid(f"invalid image source type: {kind}. Only base64 images are supported.")
    try:
        return image_count([str(source.get("data") or "")], "")
    except BodyError as failure:
        raise Invalid(f"invalid base64 image data: {failure}") from None


def _tool_result(content: Any) -> tuple[str, int]:
    if isinstance(content, str):
        return content, 0
    text, images = "", 0
    for block in content if isinstance(content, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            text += block["text"]
        elif block.get("type") == "image":
            images += _image(block.get("source"), "invalid tool_result image source")
    return text, images


def _converted(item: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """One Anthropic message as native messages (`convertMessage`): a user turn's tool results come first."""
    role = str(item.get("role") or "").lower()
    blocks = item.get("content")
    blocks = [{"type": "text", "text": blocks or ""}] if isinstance(blocks, str) or blocks is None else blocks
    text, images, called, thinking, results = "", 0, False, "", []
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            text += block.get("text") or ""
        elif kind == "image":
            images += _image(block.get("source"), "invalid image source")
        elif kind in ("tool_use", "server_tool_use"):
            for key in ("id", "name") if kind == "tool_use" else ():
                if not block.get(key):
                    raise Invalid(f"tool_use block missing required '{key}' field")
            called = True
        elif kind == "tool_result":
            result, seen = _tool_result(block.get("content"))
            images += seen
            results.append({"role": "tool", "content": result})
        elif kind == "web_search_tool_result":
            results.append({"role": "tool", "content": ""})
        elif kind == "thinking":
            thinking = block["thinking"] if block.get("thinking") is not None else thinking
    own = [{"role": role, "content": text}] if text or images or called or thinking else []
    return (results + own if role == "user" else own + results), images


def _tools(declared: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    searching = any(str(tool.get("type") or "").startswith("web_search") for tool in declared)
    found = []
    for tool in declared:
        if str(tool.get("type") or "").startswith("web_search"):
            found.append(MESSAGES_WEB_SEARCH)
            continue
        if searching and tool.get("name") == "web_search":
            continue
        schema = tool.get("input_schema")
        if schema is not None and not isinstance(schema, dict):
            raise Invalid(
                f"invalid input_schema for tool {json.dumps(tool.get('name') or '')}: json: cannot unmarshal "
                f"{go_kind(schema)} into Go value of type api.ToolFunctionParameters"
            )
        function = {
            "name": tool.get("name") or "",
            "description": tool.get("description") or "",
            "parameters": schema or {},
        }
        found.append({"type": "function", "function": function})
    return tuple(found)


def _think(data: dict[str, Any]) -> bool | str | None:
    kind = (data.get("thinking") or {}).get("type")
    if kind in ("enabled", "disabled"):
        return bool(kind == "enabled")
    effort = str((data.get("output_config") or {}).get("effort") or "").strip().lower()
    effort = "high" if effort == "xhigh" else effort
    return effort if effort in _EFFORTS else None


def _request() -> tuple[ChatRequest, dict[str, Any]]:
    data = decoded("anthropic.MessagesRequest", _FIELDS)
    _checked(data)
    if not data.get("model"):
        raise Invalid("model is required")
    if (data.get("max_tokens") or 0) <= 0:
        raise Invalid("max_tokens is required and must be positive")
    if not data.get("messages"):
        raise Invalid("messages is required")
    native: list[dict[str, Any]] = []
    system = data.get("system")
    if isinstance(system, list):
        system = "".join(
            str(block.get("text") or "") for block in system if isinstance(block, dict) and block.get("type") == "text"
        )
    if isinstance(system, str) and system:
        native.append({"role": "system", "content": system})
    images = 0
    for item in data["messages"]:
        converted, seen = _converted(item)
        native += converted
        images += seen
    options: dict[str, Any] = {"num_predict": data["max_tokens"]}
    options |= {key: data[key] for key in ("temperature", "top_p", "top_k") if data.get(key) is not None}
    if data.get("stop_sequences"):
        options["stop"] = data["stop_sequences"]
    chat = ChatRequest(
        model=data["model"],
        messages=tuple(native),
        options=options,
        tools=_tools(data.get("tools") or []),
        think=_think(data),
        images=images,
        relax_thinking=True,
    )
    return chat, data


@messages_routes.route("/messages", methods=["POST"])
def create_message() -> Response:
    """A message (or its server-sent events); the model loads with the server's keep-alive."""
    stream = False
    try:
        chat, data = _request()
        stream = bool(data.get("stream"))
        started = answer(chat)
    except Invalid as invalid:
        return error(400, str(invalid), from_middleware=True)
    except Refused as refused:
        refusal = error(refused.status, str(refused))
        if stream:
            refusal.headers["Cache-Control"] = "no-cache"  # set by the middleware before the handler refused
        return refusal
    message_id = random_id("msg")
    if stream:
        estimate = estimate_input_tokens(data, request.get_data(as_text=True))
        converter = MessageEvents(message_id, chat.model, estimate)
        frames = (event for chunk in started.chunks for event in converter.process(chunk))
        return shapes.named_event_stream(frames, on_close=started.generation.close)
    return shapes.answer(message(message_id, started.whole()))
