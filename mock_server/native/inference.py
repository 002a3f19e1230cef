"""`/api/generate` and `/api/chat`: load, unload, or answer, with Ollama's checks of format, think, tools and images.

Every answer goes through the scheduler (`simulation.Generation`): the model loads or reloads as its
options require, the answer streams token by token on the mock's clock, and `num_predict` and `stop`
end it as they end a real one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.wsgi import ClosingIterator

from ollama_contract_kit.openapi.releases import has

from ..answers.compose import Ask, Reply
from ..answers.conversation import Conversation, read_conversation
from ..answers.fingerprint import request_fingerprint
from ..answers.replies import ScriptedFailure, answer
from ..answers.transcript import count_prompt_tokens, transcribe
from ..serving.responses import error_response, json_response
from ..simulation.generation import Generation
from ..simulation.options import OptionError, Options, read_options
from ..simulation.scheduler import ServerBusy
from ..world.models import InstalledModel
from .bodies import BodyError, Fields, image_count
from .chunks import chat_chunks, generate_chunks, merge_chunks, ndjson_lines
from .common import Refused, body, installed_model, state
from .wire import created_at

_THINK_LEVELS = ("high", "medium", "low", "max")
_THINK_CHOICES = '("high", "medium", "low", "max", true, or false)'
#: What llama-server answers (and Ollama relays as its error text) when a model without vision gets images.
NO_VISION_GENERATE = (
    '{"error":{"code":400,"message":"Multimodal data provided, but model does not support multimodal requests.",'
    '"type":"invalid_request_error"}}'
)
NO_VISION_CHAT = (
    '{"error":{"code":500,"message":"image input is not supported - hint: if this is unexpected, you may need to '
    'provide the mmproj","type":"server_error"}}'
)
#: The runner's refusal of a prompt longer than the context when context shift is off (`llm/llama_server.go`).
PROMPT_TOO_LONG = (
    "the prompt is longer than the context length currently available to the model; shorten the prompt, "
    "adjust the context length in settings, or use a model with a longer context length"
)
#: Tokens a runner keeps at the start of a prompt it truncates (`num_keep` 4, plus the BOS token).
_KEPT_TOKENS = 5

inference_routes = Blueprint("inference", __name__)


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
    no_vision: tuple[int, str]


_SHARED_FIELDS: Fields = {
    "model": (str, "string"),
    "stream": (bool, "bool"),
    "top_logprobs": (int, "int"),
    "options": (dict, "map[string]interface {}"),
    "truncate": (bool, "bool"),
    "shift": (bool, "bool"),
}
GENERATE = Endpoint(
    verb="generate",
    input_field="prompt",
    struct="GenerateRequest",
    fields={
        **_SHARED_FIELDS,
        "prompt": (str, "string"),
        "suffix": (str, "string"),
        "system": (str, "string"),
        "template": (str, "string"),
        "raw": (bool, "bool"),
        "context": (list, "[]int"),
    },  # fmt: skip
    missing_model=(404, "model '' not found"),
    empty_answer={"response": ""},
    no_vision=(400, NO_VISION_GENERATE),
)
CHAT = Endpoint(
    verb="chat",
    input_field="messages",
    struct="ChatRequest",
    fields={**_SHARED_FIELDS, "messages": (list, "[]api.Message"), "tools": (list, "api.Tools")},
    missing_model=(400, "model is required"),
    empty_answer={"message": {"role": "assistant", "content": ""}},
    no_vision=(500, NO_VISION_CHAT),
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
    model = installed_model(
        str(data.get("model") or ""), unnamed=endpoint.missing_model, not_found=f"model '{data.get('model')}' not found"
    )
    if data.get("raw") and (data.get("template") or data.get("system") or data.get("context")):
        raise Refused(400, "raw mode does not support template, system, or context")
    return data, model, think, images


def ask_for(
    model: InstalledModel, name: str, conversation: Conversation, think: Any, images: int, **wanted: Any
) -> Ask:
    """The Ask of the request being served, what its conversation says and what it `wanted` (format, tools):
    thinking models think unless told not to, as Ollama's defaults (and as the release the mock speaks for:
    nothing thinks before thinking existed). Its route, headers and fingerprint are the request's own."""
    release = state().world.release
    thinks = (model.can("thinking") if think is None else bool(think)) and has(release, "thinking")
    return Ask(
        model=name,
        text=conversation.last_text,
        think=thinks,
        images=images,
        sees_images=model.can("vision"),
        call_ids=has(release, "tool_call_ids"),
        after_tool=conversation.after_tool,
        user_text=conversation.user_text,
        texts=conversation.texts,
        called=conversation.called,
        route=request.path,
        headers=_request_headers(),
        fingerprint=request_fingerprint(request.path, request.get_data()),
        **wanted,
    )


def request_options(model: InstalledModel, data: dict[str, Any]) -> Options:
    """The request's options over the model's parameters (OptionError for a wrong type), and its context shift."""
    options = read_options(model.parameters, data.get("options"))
    shift = data.get("shift")
    return (
        replace(options, runner=replace(options.runner, context_shift=shift is not False))
        if shift is not None
        else options
    )


def schedule(model: InstalledModel, options: Options, keep_alive: float | None) -> Generation:
    """Hand the request a runner (Refused(503) when the queue is full)."""
    try:
        return Generation(state().scheduler, model, options, keep_alive)
    except ServerBusy as busy:
        raise Refused(503, str(busy)) from None


def schedule_request(model: InstalledModel, data: dict[str, Any]) -> Generation:
    """Hand a native request a runner for its options and keep-alive; Refused with Ollama's 500 for an
    option of the wrong type, 503 when the queue is full."""
    try:
        options = request_options(model, data)
    except OptionError as wrong:
        raise Refused(500, str(wrong)) from None
    return schedule(model, options, data["keep_alive"])


def fitted_prompt(tokens: int, generation: Generation, shift: bool) -> int:
    """The prompt's tokens once it fits the context: truncated as the runner does, or Refused(400) without shift."""
    context = generation.context
    if tokens <= context - 1:
        return tokens
    if not shift:
        raise Refused(400, PROMPT_TOO_LONG)
    return context - max((context - _KEPT_TOKENS) // 2, 1)


def _conversation(endpoint: Endpoint, data: dict[str, Any]) -> Conversation:
    """A generate's system and prompt, or a chat's messages, as a conversation."""
    if endpoint is GENERATE:
        system = str(data.get("system") or "")
        return read_conversation([("system", system, None), ("user", str(data.get("prompt") or ""), None)])
    return read_conversation(
        (str(m.get("role") or ""), str(m.get("content") or ""), m.get("tool_calls")) for m in _messages(data)
    )


def _request_headers() -> dict[str, str]:
    """The request's headers, names in lower case (what scripted rules match on)."""
    return {name.lower(): value for name, value in request.headers.items()}


def scripted_failure(model: str, text: str) -> None:
    """Refused when a scripted rule naming this (embedding) route answers an error; other rules are left."""
    ask = Ask(model=model, text=text, user_text=text, route=request.path, headers=_request_headers())
    rule = state().replies.take(ask, named_route_only=True)
    if rule is not None and rule.then.error is not None:
        raise Refused(*rule.then.error)


def scripted_or_default(ask: Ask) -> Reply:
    """The reply to `ask` from the scripted rules, else the default answerer; Refused for a scripted error."""
    try:
        return answer(ask, state().replies)
    except ScriptedFailure as failure:
        raise Refused(failure.status, str(failure)) from None


def serve(endpoint: Endpoint) -> Response:
    """Load when there is nothing to answer, unload with keep_alive 0, else answer on the scheduler's runner."""
    try:
        data, model, think, images = _validated(endpoint)
        name = str(data["model"])
        has_input = bool(data.get(endpoint.input_field))
        # Before 0.3.11 a keep_alive 0 request without input went the load's way (checks included).
        unloading = not has_input and data["keep_alive"] == 0 and has(state().world.release, "unload_reason")
        if not unloading:
            check_capabilities(
                model,
                name,
                endpoint.verb,
                think=think,
                tools=endpoint is CHAT and data.get("tools"),
                suffix=data.get("suffix"),
            )
        options = request_options(model, data)
    except Refused as refused:
        return refused.response()
    except OptionError as wrong:
        return error_response(500, str(wrong))
    mock = state()
    if unloading:
        mock.scheduler.unload(model)
        return json_response(_finished(endpoint, name, created_at(mock.clock.instant()), "unload"))
    try:
        generation = schedule(model, options, data["keep_alive"])
    except Refused as refused:
        return refused.response()
    if not has_input:  # a load (before 0.3.11 a keep_alive 0 one too: its runner expires as it closes)
        generation.close()
        return json_response(_finished(endpoint, name, created_at(generation.now()), "load"))
    try:
        return _answer(endpoint, data, model, think, images, generation)
    except Refused as refused:
        generation.close()
        return refused.response()


def _finished(endpoint: Endpoint, name: str, when: str, reason: str) -> dict[str, Any]:
    """The answer of a load or an unload; a chat one sent done_reason before done until 0.12.0."""
    fields = {"model": name, "created_at": when, **endpoint.empty_answer}
    if endpoint is CHAT and not has(state().world.release, "chat_done_reason_last"):
        return {**fields, "done_reason": reason, "done": True}
    return {**fields, "done": True, "done_reason": reason}


def _answer(
    endpoint: Endpoint, data: dict[str, Any], model: InstalledModel, think: Any, images: int, generation: Generation
) -> Response:
    try:
        wanted_format = format_value(data.get("format"))
    except InvalidFormat as invalid:
        raise Refused(500, str(invalid)) from None
    if images and not model.can("vision"):
        raise Refused(*endpoint.no_vision)
    conversation = _conversation(endpoint, data)
    ask = ask_for(
        model, str(data["model"]), conversation, think, images,
        format=wanted_format,
        tools=tuple(tool for tool in data.get("tools") or () if isinstance(tool, dict)) if endpoint is CHAT else (),
    )  # fmt: skip
    chat_messages = len(_messages(data)) if endpoint is CHAT else 0
    prompt_tokens = fitted_prompt(
        count_prompt_tokens(conversation.texts, chat_messages), generation, generation.options.runner.context_shift
    )
    predict = generation.options.predict
    transcript = transcribe(
        scripted_or_default(ask),
        predict.num_predict,
        predict.stop,
        structured=wanted_format is not None,
        context=generation.context,
    )
    if endpoint is GENERATE:
        chunks = generate_chunks(generation, ask, transcript, prompt_tokens, raw=bool(data.get("raw")))
    else:
        chunks = chat_chunks(generation, ask, transcript, prompt_tokens)
    if data.get("stream") is False:
        try:
            return json_response(merge_chunks(list(chunks)))
        finally:
            generation.close()
    # The runner is handed back when the server closes the answer: sent, cut, or never read.
    return Response(ClosingIterator(ndjson_lines(chunks), generation.close), content_type="application/x-ndjson")


@inference_routes.route("/api/generate", methods=["POST"])
def generate() -> Response:
    """Load with an empty prompt, unload with keep_alive 0, else a deterministic completion."""
    return serve(GENERATE)


@inference_routes.route("/api/chat", methods=["POST"])
def chat() -> Response:
    """Load with no messages, unload with keep_alive 0, else a deterministic chat answer (or tool calls)."""
    return serve(CHAT)
