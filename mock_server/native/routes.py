"""Ollama's routes: health, version, tags, ps, and the generate/chat load-unload lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, request

from ..serving.responses import error_response, json_response, raw_json_response
from ..state import MockState
from ..world.models import InstalledModel
from ..world.names import parse_model_name
from .bodies import BodyError, decode_request
from .completion import chat_chunks, generate_chunks, merge_chunks, ndjson_lines
from .wire import created_at, tags_entry

ollama_routes = Blueprint("ollama", __name__)


def _state() -> MockState:
    state: MockState = current_app.extensions["ollama_mock"]
    return state


@ollama_routes.route("/", methods=["HEAD", "GET"])
def running() -> Response:
    """`Ollama is running`."""
    return Response(b"Ollama is running", content_type="text/plain; charset=utf-8")


@ollama_routes.route("/api/version", methods=["HEAD", "GET"])
def version() -> Response:
    """The version the world declares."""
    return json_response({"version": _state().world.version})


@ollama_routes.route("/api/tags", methods=["HEAD", "GET"])
def tags() -> Response:
    """The installed models, newest first."""
    return json_response({"models": [tags_entry(model) for model in _state().world.installed()]})


@ollama_routes.route("/api/ps", methods=["GET"])
def ps() -> Response:
    """The running models, latest expiry first."""
    return raw_json_response(_state().ps_body())


@dataclass(frozen=True)
class _Endpoint:
    """What differs between /api/generate and /api/chat."""

    verb: str
    input_field: str
    struct: str
    fields: dict[str, tuple[type, str]]
    missing_model: tuple[int, str]
    empty_answer: dict[str, Any]
    text: Callable[[dict[str, Any]], str]
    chunks: Callable[[str, str, str], list[dict[str, Any]]]


def _last_message(data: dict[str, Any]) -> str:
    messages = data.get("messages") or []
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    return str(last.get("content") or "")


_GENERATE = _Endpoint(
    verb="generate",
    input_field="prompt",
    struct="GenerateRequest",
    fields={"model": (str, "string"), "prompt": (str, "string"), "stream": (bool, "bool")},
    missing_model=(404, "model '' not found"),
    empty_answer={"response": ""},
    text=lambda data: str(data.get("prompt") or ""),
    chunks=generate_chunks,
)
_CHAT = _Endpoint(
    verb="chat",
    input_field="messages",
    struct="ChatRequest",
    fields={"model": (str, "string"), "messages": (list, "[]api.Message"), "stream": (bool, "bool")},
    missing_model=(400, "model is required"),
    empty_answer={"message": {"role": "assistant", "content": ""}},
    text=_last_message,
    chunks=chat_chunks,
)


def _installed_or_error(name: str, endpoint: _Endpoint) -> InstalledModel | Response:
    if not name.strip():
        return error_response(*endpoint.missing_model)
    if parse_model_name(name) is None:
        return error_response(400, "invalid model name")
    model = _state().world.find(name)
    if model is None:
        return error_response(404, f"model '{name}' not found")
    return model


def _serve(endpoint: _Endpoint) -> Response:
    """Load when there is nothing to answer, unload with keep_alive 0, else answer deterministically."""
    try:
        data = decode_request(request.get_data(), endpoint.struct, endpoint.fields)
    except BodyError as error:
        return error_response(400, str(error))
    name = data.get("model") or ""
    model = _installed_or_error(name, endpoint)
    if isinstance(model, Response):
        return model
    world = _state().world
    now = created_at(_state().clock.now())
    text = endpoint.text(data)
    has_input = bool(data.get(endpoint.input_field))
    if not has_input and data["keep_alive"] == 0:
        world.unload(model)
        return json_response(
            {"model": name, "created_at": now, **endpoint.empty_answer, "done": True, "done_reason": "unload"}
        )
    if "completion" not in model.capabilities:
        return error_response(400, f'"{name}" does not support {endpoint.verb}')
    world.load(model, data["keep_alive"])
    if not has_input:
        return json_response(
            {"model": name, "created_at": now, **endpoint.empty_answer, "done": True, "done_reason": "load"}
        )
    chunks = endpoint.chunks(name, text, now)
    if data["keep_alive"] == 0:
        world.unload(model)
    if data.get("stream") is False:
        return json_response(merge_chunks(chunks))
    return Response(ndjson_lines(chunks), content_type="application/x-ndjson")


@ollama_routes.route("/api/generate", methods=["POST"])
def generate() -> Response:
    """Load with an empty prompt, unload with keep_alive 0, else a deterministic completion."""
    return _serve(_GENERATE)


@ollama_routes.route("/api/chat", methods=["POST"])
def chat() -> Response:
    """Load with no messages, unload with keep_alive 0, else a deterministic chat answer."""
    return _serve(_CHAT)
