"""Ollama's routes: health, version, tags, ps, and the generate/chat load-unload lifecycle."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from .bodies import BodyError, decode_request
from .completion import chat_chunks, generate_chunks, merge_chunks, ndjson_lines
from .models import InstalledModel
from .names import parse_model_name
from .responses import error_response, json_response, raw_json_response
from .state import MockState
from .wire import created_at, tags_entry

ollama_routes = Blueprint("ollama", __name__)

_GENERATE_FIELDS: dict[str, tuple[type, str]] = {
    "model": (str, "string"),
    "prompt": (str, "string"),
    "stream": (bool, "bool"),
}
_CHAT_FIELDS: dict[str, tuple[type, str]] = {
    "model": (str, "string"),
    "messages": (list, "[]api.Message"),
    "stream": (bool, "bool"),
}
#: Real Ollama routes the mock does not emulate: routed (so wrong methods give 405) but answered 501.
UNEMULATED_ROUTES = (
    ("/api/status", ("GET",)),
    ("/api/show", ("POST",)),
    ("/api/embed", ("POST",)),
    ("/api/embeddings", ("POST",)),
    ("/api/pull", ("POST",)),
    ("/api/push", ("POST",)),
    ("/api/create", ("POST",)),
    ("/api/copy", ("POST",)),
    ("/api/delete", ("DELETE",)),
)


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


def _installed_or_error(name: str, missing_is: int) -> InstalledModel | Response:
    if not name.strip():
        return (
            error_response(404, "model '' not found") if missing_is == 404 else error_response(400, "model is required")
        )
    if parse_model_name(name) is None:
        return error_response(400, "invalid model name")
    model = _state().world.find(name)
    if model is None:
        return error_response(404, f"model '{name}' not found")
    return model


def _answer(request_data: dict[str, Any], model: InstalledModel, chunks: list[dict[str, Any]]) -> Response:
    state = _state()
    if request_data["keep_alive"] == 0:
        state.world.unload(model)
    if request_data.get("stream") is False:
        return json_response(merge_chunks(chunks))
    return Response(ndjson_lines(chunks), content_type="application/x-ndjson")


def _lifecycle(
    request_data: dict[str, Any], model: InstalledModel, empty_answer: dict[str, Any], verb: str
) -> Response | None:
    """Handle load/unload-only requests and the capability check; None means: go on and answer."""
    state = _state()
    name = request_data["model"]
    if empty_answer and request_data["keep_alive"] == 0:
        state.world.unload(model)
        return json_response(empty_answer | {"done_reason": "unload"})
    if "completion" not in model.capabilities:
        return error_response(400, f'"{name}" does not support {verb}')
    state.world.load(model, request_data["keep_alive"])
    if empty_answer:
        return json_response(empty_answer | {"done_reason": "load"})
    return None


@ollama_routes.route("/api/generate", methods=["POST"])
def generate() -> Response:
    """Load with an empty prompt, unload with keep_alive 0, else a deterministic completion."""
    try:
        data = decode_request(request.get_data(), "GenerateRequest", _GENERATE_FIELDS)
    except BodyError as error:
        return error_response(400, str(error))
    name = data.get("model") or ""
    model = _installed_or_error(name, missing_is=404)
    if isinstance(model, Response):
        return model
    now = created_at(_state().clock.now())
    prompt = data.get("prompt") or ""
    empty_answer = {} if prompt else {"model": name, "created_at": now, "response": "", "done": True}
    early = _lifecycle(data, model, empty_answer, "generate")
    if early is not None:
        return early
    return _answer(data, model, generate_chunks(name, prompt, now))


@ollama_routes.route("/api/chat", methods=["POST"])
def chat() -> Response:
    """Load with no messages, unload with keep_alive 0, else a deterministic chat answer."""
    try:
        data = decode_request(request.get_data(), "ChatRequest", _CHAT_FIELDS)
    except BodyError as error:
        return error_response(400, str(error))
    name = data.get("model") or ""
    model = _installed_or_error(name, missing_is=400)
    if isinstance(model, Response):
        return model
    now = created_at(_state().clock.now())
    messages = data.get("messages") or []
    empty_answer = (
        {}
        if messages
        else {"model": name, "created_at": now, "message": {"role": "assistant", "content": ""}, "done": True}
    )
    early = _lifecycle(data, model, empty_answer, "chat")
    if early is not None:
        return early
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    content = str(last.get("content") or "")
    return _answer(data, model, chat_chunks(name, content, now))


def unemulated(path: str) -> Response:
    """501 for real Ollama routes outside the mock's scope."""
    return error_response(501, f"ollama-mock does not emulate {request.method} {path}")


for _path, _methods in UNEMULATED_ROUTES:
    ollama_routes.add_url_rule(
        _path,
        endpoint=f"unemulated{_path.replace('/', '_')}",
        view_func=lambda p=_path: unemulated(p),
        methods=list(_methods),
    )
