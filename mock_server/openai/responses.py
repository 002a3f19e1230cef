"""`POST /v1/responses` (OpenAI's Responses API, Ollama 0.13.3 and later), translated onto chat as
Ollama's `ResponsesMiddleware` translates it (`openai/responses.go`, `FromResponsesRequest`).

Only the stateless flavour exists: `previous_response_id`, `conversation`, `store`, `tool_choice`
and `metadata` are not read. `instructions` become a system message, `max_output_tokens` is
`num_predict`, `reasoning.effort` is `think`, a `json_schema` text format is the `format`. The
built-in `web_search` tool is a function the model may call; the server would then search through
ollama.com, which a server with its cloud off cannot: 403 (`response.failed` when streaming).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from flask import Blueprint, Response

from ..native.bodies import BodyError, Fields, decode_json, go_kind
from ..native.common import Refused
from . import shapes
from .chat import ChatRequest, answer
from .middleware import IMAGE_PREFIXES, Invalid, decoded, field_error, think_from_effort
from .responses_events import ResponseEvents
from .responses_wire import Echo, draw, response
from .web_search import RESPONSES_WEB_SEARCH, search_call, search_error, search_query, searching_frames

responses_routes = Blueprint("responses", __name__, url_prefix="/v1")

_FIELDS: Fields = {
    "model": (str, "string"),
    "background": (bool, "bool"),
    "include": (list, "[]string"),
    "instructions": (str, "string"),
    "max_output_tokens": (int, "int"),
    "reasoning": (dict, "openai.ResponsesReasoning"),
    "temperature": ((int, float), "float64"),
    "text": (dict, "openai.ResponsesText"),
    "top_p": ((int, float), "float64"),
    "truncation": (str, "string"),
    "tools": (list, "[]openai.ResponsesTool"),
    "stream": (bool, "bool"),
}


def _strings(data: dict[str, Any], struct: str, prefix: str, keys: tuple[str, ...]) -> None:
    for key in keys:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise field_error(value, struct, f"{prefix}{key}", "string")


def _checked(data: dict[str, Any]) -> None:
    """Go's type errors in the nested structs (`reasoning`, `text.format`, `tools`)."""
    _strings(data.get("reasoning") or {}, "ResponsesReasoning", "reasoning.", ("effort", "generate_summary", "summary"))
    wanted = (data.get("text") or {}).get("format")
    if wanted is not None and not isinstance(wanted, dict):
        raise field_error(wanted, "ResponsesText", "text.format", "openai.ResponsesTextFormat")
    _strings(wanted or {}, "ResponsesTextFormat", "text.format.", ("type", "name"))
    strict = (wanted or {}).get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise field_error(strict, "ResponsesTextFormat", "text.format.strict", "bool")
    for included in data.get("include") or []:
        if not isinstance(included, str):
            raise field_error(included, "ResponsesRequest", "include", "string")
    _check_tools(data.get("tools") or [], "ResponsesRequest", "tools")


def _check_tools(tools: list[Any], struct: str, path: str) -> None:
    for tool in tools:
        if not isinstance(tool, dict):
            raise field_error(tool, struct, path, "openai.ResponsesTool")
        _strings(tool, "ResponsesTool", f"{path}.", ("type", "name", "description"))
        for key, kind, go_type in (
            ("strict", bool, "bool"),
            ("parameters", dict, "map[string]interface {}"),
            ("tools", list, "[]openai.ResponsesTool"),
        ):
            if tool.get(key) is not None and not isinstance(tool[key], kind):
                raise field_error(tool[key], "ResponsesTool", f"{path}.{key}", go_type)
        _check_tools(tool.get("tools") or [], "ResponsesTool", f"{path}.tools")


def _content(parts: Any, where: str, field: str) -> tuple[str, int]:
    """The text of Responses content (a string, or parts) and how many images it has; `where` is `input[i]: `."""
    if parts is None or isinstance(parts, str):
        return parts or "", 0
    if not isinstance(parts, list):
        raise Invalid(
            f"{where}{field} must be a string or array: json: cannot unmarshal {go_kind(parts)} into Go "
            "value of type []json.RawMessage"
        )
    text, images = "", 0
    for index, part in enumerate(parts):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text"):
            text += str(part.get("text") or "")
        elif kind == "input_image":
            images += _image(part.get("image_url") or "")
        elif kind == "input_file":
            raise Invalid("file inputs are not currently supported")
        else:
            raise Invalid(f"{where}{field}[{index}]: unknown content type: {kind or ''}")
    return text, images


def _image(url: Any) -> int:
    if not url:
        return 0  # no URL (a file_id): skipped
    url = str(url)
    if url.startswith(("http://", "https://")):
        raise Invalid("image URLs are not currently supported, please use base64 encoded data instead")
    prefix = next((prefix for prefix in IMAGE_PREFIXES if url.startswith(prefix)), None)
    try:
        if prefix is None:
            raise binascii.Error
        base64.b64decode(url[len(prefix) :], validate=True)
    except binascii.Error:
        raise Invalid("invalid image input") from None
    return 1


def _check_arguments(text: str) -> None:
    """Refuse a function call's arguments that are not a JSON object, as Ollama's parse does."""
    try:
        value = decode_json(text) if text else {}
    except BodyError as failure:
        raise Invalid(f"failed to parse function call arguments: {failure}") from None
    if not isinstance(value, dict):
        raise Invalid(
            f"failed to parse function call arguments: json: cannot unmarshal {go_kind(value)} into Go "
            "value of type map[string]interface {}"
        )


def _messages(data: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """The native messages `FromResponsesRequest` builds, and their images."""
    messages: list[dict[str, Any]] = []
    if data.get("instructions"):
        messages.append({"role": "system", "content": data["instructions"]})
    given = data.get("input")
    if isinstance(given, str) or given is None:
        return messages + ([{"role": "user", "content": given}] if given else []), 0
    if not isinstance(given, list):
        raise Invalid(
            "input must be a string or array: json: cannot unmarshal "
            f"{go_kind(given)} into Go value of type []json.RawMessage"
        )
    images, thinking = 0, ""
    for index, item in enumerate(given):
        if not isinstance(item, dict):
            raise Invalid(
                f"input[{index}]: json: cannot unmarshal {go_kind(item)} into Go value of type struct "
                '{ Type string "json:\\"type\\""; Role string "json:\\"role\\"" }'
            )
        kind = item.get("type") or ("message" if item.get("role") else "")
        if kind == "reasoning":
            thinking = str(item.get("encrypted_content") or "")
        elif kind == "message":
            text, seen = _content(item.get("content"), f"input[{index}]: ", "content")
            images += seen
            role = str(item.get("role") or "")
            if role == "assistant":
                thinking = ""  # the pending reasoning is this message's thinking
            messages.append({"role": role, "content": text})
        elif kind == "function_call":
            _check_arguments(str(item.get("arguments") or ""))
            if not (messages and messages[-1]["role"] == "assistant"):
                messages.append({"role": "assistant", "content": ""})
            thinking = ""
        elif kind == "function_call_output":
            text, seen = _content(item.get("output"), f"input[{index}]: ", "output")
            images += seen
            messages.append({"role": "tool", "content": text})
        elif kind != "web_search_call":
            missing = "input item missing required 'type' field"
            raise Invalid(f"input[{index}]: " + (f"unknown input item type: {json.dumps(kind)}" if kind else missing))
    if thinking:
        messages.append({"role": "assistant", "content": ""})
    return messages, images


def _expanded(tool: dict[str, Any]) -> list[dict[str, Any]]:
    """A declared tool as native tools: a namespace's members named `<namespace>.<member>`."""
    if tool.get("type") != "namespace":
        function = {
            "name": str(tool.get("name") or ""),
            "description": tool.get("description") or "",
            "parameters": tool.get("parameters") or {},
        }
        return [{"type": tool.get("type", ""), "function": function}]
    prefix = f"{tool['name']}." if tool.get("name") else ""
    members = [one for member in tool.get("tools") or [] for one in _expanded(member)]
    for one in members:
        if not one["function"]["name"].startswith(prefix):
            one["function"]["name"] = prefix + one["function"]["name"]
    return members


def _tools(data: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    """The tools the model gets: functions, namespaces expanded, `web_search` as Ollama's own function."""
    declared = data.get("tools") or []
    searching = any(tool.get("type") == "web_search" for tool in declared)
    found = []
    for tool in declared:
        if tool.get("type") == "web_search":
            found.append(RESPONSES_WEB_SEARCH)
            continue
        found += [one for one in _expanded(tool) if not (searching and one["function"]["name"] == "web_search")]
    return tuple(found)


def _request() -> tuple[ChatRequest, Echo, bool]:
    data = decoded("openai.ResponsesRequest", _FIELDS)
    _checked(data)
    messages, images = _messages(data)
    options: dict[str, Any] = {"temperature": 1.0 if data.get("temperature") is None else data["temperature"]}
    if data.get("top_p") is not None:
        options["top_p"] = data["top_p"]
    if data.get("max_output_tokens") is not None:
        options["num_predict"] = data["max_output_tokens"]
    think = think_from_effort(str((data.get("reasoning") or {}).get("effort") or ""))
    wanted = (data.get("text") or {}).get("format")
    schema = wanted.get("schema") if wanted and wanted.get("type") == "json_schema" else None
    reasoning = data.get("reasoning") or {}
    name = str(data.get("model") or "")
    chat = ChatRequest(
        model=name,
        messages=tuple(messages),
        options=options,
        tools=_tools(data),
        format=schema,
        think=think,
        images=images,
    )
    echo = Echo(
        model=name,
        instructions=str(data.get("instructions") or ""),
        tools=tuple(data.get("tools") or ()),
        text_format=wanted,
        effort=str(reasoning.get("effort") or ""),
        summary=str(reasoning.get("summary") or ""),
        temperature=data.get("temperature"),
        top_p=data.get("top_p"),
        truncation=data.get("truncation"),
        max_output_tokens=data.get("max_output_tokens"),
        background=bool(data.get("background")),
    )
    return chat, echo, bool(data.get("stream"))


@responses_routes.route("/responses", methods=["POST"])
def create_response() -> Response:
    """A response (or its server-sent events); the model loads with the server's keep-alive."""
    stream = False
    try:
        chat, echo, stream = _request()
        started = answer(chat)
    except Invalid as invalid:
        return shapes.error(400, str(invalid), from_middleware=True)
    except Refused as refused:
        refusal = shapes.error(refused.status, str(refused))
        if stream:
            refusal.headers["Cache-Control"] = "no-cache"  # set by the middleware before the handler refused
        return refusal
    response_id, item_id = f"resp_{draw()}", f"msg_{draw()}"
    searching = any(tool.get("type") == "web_search" for tool in echo.tools)
    if stream:
        converter = ResponseEvents(echo, response_id, item_id)
        frames = (
            searching_frames(converter, started.chunks)
            if searching
            else (event for chunk in started.chunks for event in converter.process(chunk))
        )
        return shapes.named_event_stream(frames, on_close=started.generation.close)
    whole = started.whole()
    search = search_call(whole) if searching else None
    if search is not None:
        return shapes.error(*search_error(search_query(search)))
    completed_at = started.generation.now().unix_seconds()
    return shapes.answer(response(echo, response_id, item_id, whole, completed_at))
