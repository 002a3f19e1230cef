"""`/api/generate` and `/api/chat`: load, unload, or answer, with Ollama's checks of format, think, tools and images."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response

from ollama_contract_kit.openapi.releases import has

from ..serving.responses import error_response, json_response
from ..world.models import InstalledModel
from .bodies import BodyError, Fields, image_count
from .common import Refused, body, installed_model, state
from .completion import Ask, chat_chunks, compose, generate_chunks, merge_chunks, ndjson_lines
from .wire import created_at

inference_routes = Blueprint("inference", __name__)

_THINK_LEVELS = ("high", "medium", "low", "max")
_THINK_CHOICES = '("high", "medium", "low", "max", true, or false)'


class InvalidFormat(Exception):
    """`format` is neither "json" nor a schema: Ollama says so only after the model is scheduled (500)."""


def think_value(value: Any) -> bool | str | None:
    """The request's `think` (`true`, `false`, a level, or None for unset), or Refused(400) with Ollama's text."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        if value in _THINK_LEVELS:
            return value
        raise Refused(400, f'invalid think value: "{value}" (must be {_THINK_CHOICES[1:-1]})')
    raise Refused(400, f"think must be a boolean or string {_THINK_CHOICES}")


def format_value(value: Any) -> Any:
    """None, "json" or a JSON Schema object; InvalidFormat for anything else."""
    if value is None or value == "":
        return None
    if value == "json" or isinstance(value, dict):
        return value
    raw = json.dumps(value, separators=(",", ":"))
    quoted = json.dumps(raw)  # Go's %q of the raw bytes: quotes and backslashes escaped
    raise InvalidFormat(f'invalid format: {quoted}; expected "json" or a valid JSON Schema object')


def full_name(model: InstalledModel) -> str:
    """The name Ollama uses in capability errors: `registry.ollama.ai/library/llama3.2:latest`."""
    name = model.parsed_name
    return f"{name.host}/{name.namespace}/{name.model}:{name.tag}"


@dataclass(frozen=True)
class Endpoint:
    """What differs between /api/generate and /api/chat."""

    verb: str
    input_field: str
    struct: str
    fields: Fields
    missing_model: tuple[int, str]
    empty_answer: dict[str, Any]
    chunks: Callable[..., list[dict[str, Any]]]


GENERATE = Endpoint(
    verb="generate",
    input_field="prompt",
    struct="GenerateRequest",
    fields={
        "model": (str, "string"),
        "prompt": (str, "string"),
        "suffix": (str, "string"),
        "system": (str, "string"),
        "template": (str, "string"),
        "stream": (bool, "bool"),
        "raw": (bool, "bool"),
        "context": (list, "[]int"),
        "top_logprobs": (int, "int"),
        "options": (dict, "map[string]interface {}"),
    },  # fmt: skip
    missing_model=(404, "model '' not found"),
    empty_answer={"response": ""},
    chunks=generate_chunks,
)
CHAT = Endpoint(
    verb="chat",
    input_field="messages",
    struct="ChatRequest",
    fields={
        "model": (str, "string"),
        "messages": (list, "[]api.Message"),
        "stream": (bool, "bool"),
        "tools": (list, "api.Tools"),
        "top_logprobs": (int, "int"),
        "options": (dict, "map[string]interface {}"),
    },  # fmt: skip
    missing_model=(400, "model is required"),
    empty_answer={"message": {"role": "assistant", "content": ""}},
    chunks=chat_chunks,
)


def _messages(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [message for message in data.get("messages") or [] if isinstance(message, dict)]


def _images(endpoint: Endpoint, data: dict[str, Any]) -> int:
    if endpoint is GENERATE:
        try:
            return image_count(data.get("images"), "GenerateRequest.images")
        except BodyError as error:
            raise Refused(400, str(error)) from None
    return sum(len(m.get("images") or ()) for m in _messages(data))  # checked with the messages


def _model(endpoint: Endpoint, name: str) -> InstalledModel:
    return installed_model(name, unnamed=endpoint.missing_model, not_found=f"model '{name}' not found")


def check_capabilities(model: InstalledModel, name: str, verb: str, *, think: Any, tools: Any, suffix: Any) -> None:
    """Refused(400) with Ollama's text when the model lacks what the request needs."""
    if not model.can("completion"):
        raise Refused(400, f'"{name}" does not support {verb}')
    if suffix and not model.can("insert"):
        raise Refused(400, f"{full_name(model)} does not support insert")
    if tools and not model.can("tools"):
        raise Refused(400, f"{full_name(model)} does not support tools")
    if think not in (None, False) and not model.can("thinking"):
        raise Refused(400, f'"{name}" does not support thinking')


def _validated(endpoint: Endpoint) -> tuple[dict[str, Any], InstalledModel, bool | str | None, int]:
    data = body(endpoint.struct, endpoint.fields, keep_alive=True)
    top = data.get("top_logprobs")
    if top is not None and not 0 <= top <= 20:
        raise Refused(400, "top_logprobs must be between 0 and 20")
    # Before thinking existed, `think` was a field the decoder ignored.
    think = think_value(data.get("think")) if has(state().world.release, "thinking") else None
    images = _images(endpoint, data)
    model = _model(endpoint, str(data.get("model") or ""))
    if data.get("raw") and (data.get("template") or data.get("system") or data.get("context")):
        raise Refused(400, "raw mode does not support template, system, or context")
    return data, model, think, images


def ask_for(model: InstalledModel, name: str, text: str, think: Any, images: int, **wanted: Any) -> Ask:
    """The Ask of a request: thinking models think unless told not to, as Ollama's defaults (and as the
    release the mock speaks for: nothing thinks before thinking existed)."""
    release = state().world.release
    thinks = (model.can("thinking") if think is None else bool(think)) and has(release, "thinking")
    return Ask(
        model=name,
        text=text,
        think=thinks,
        images=images,
        sees_images=model.can("vision"),
        call_ids=has(release, "tool_call_ids"),
        **wanted,
    )


def serve(endpoint: Endpoint) -> Response:
    """Load when there is nothing to answer, unload with keep_alive 0, else answer deterministically."""
    try:
        data, model, think, images = _validated(endpoint)
        name = str(data["model"])
        has_input = bool(data.get(endpoint.input_field))
        unloading = not has_input and data["keep_alive"] == 0
        if not unloading:
            check_capabilities(
                model, name, endpoint.verb, think=think, tools=data.get("tools"), suffix=data.get("suffix")
            )
    except Refused as refused:
        return refused.response()
    world = state().world
    now = created_at(state().clock.now())
    done = {"model": name, "created_at": now, **endpoint.empty_answer, "done": True}
    reasons = has(world.release, "load_unload_reasons")  # older releases said neither
    if unloading:
        world.unload(model)
        return json_response({**done, "done_reason": "unload"} if reasons else done)
    world.load(model, data["keep_alive"])
    if not has_input:
        return json_response({**done, "done_reason": "load"} if reasons else done)
    try:
        wanted_format = format_value(data.get("format"))
    except InvalidFormat as invalid:
        return error_response(500, str(invalid))
    messages = _messages(data)
    last = messages[-1] if messages else {}
    text = str(data.get("prompt") or "") if endpoint is GENERATE else str(last.get("content") or "")
    ask = ask_for(
        model, name, text, think, images,
        format=wanted_format,
        tools=tuple(tool for tool in data.get("tools") or () if isinstance(tool, dict)),
        after_tool=str(last.get("role") or "").lower() == "tool",
    )  # fmt: skip
    chunks = endpoint.chunks(ask, compose(ask), now)
    if data["keep_alive"] == 0:
        world.unload(model)
    if data.get("stream") is False:
        return json_response(merge_chunks(chunks))
    return Response(ndjson_lines(chunks), content_type="application/x-ndjson")


@inference_routes.route("/api/generate", methods=["POST"])
def generate() -> Response:
    """Load with an empty prompt, unload with keep_alive 0, else a deterministic completion."""
    return serve(GENERATE)


@inference_routes.route("/api/chat", methods=["POST"])
def chat() -> Response:
    """Load with no messages, unload with keep_alive 0, else a deterministic chat answer (or tool calls)."""
    return serve(CHAT)
