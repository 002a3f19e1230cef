"""The /v1 routes, translated onto the native ones as Ollama's middleware does (loads show in `/api/ps`)."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response

from ollama_contract_kit.openapi.names import parse_model_name
from ollama_contract_kit.openapi.releases import has

from ..answers.compose import Ask, Reply
from ..answers.conversation import read_conversation
from ..answers.transcript import Transcript, count_prompt_tokens, transcribe
from ..native.bodies import go_kind as _go_kind
from ..native.common import Refused, state
from ..native.embeddings import NOT_AN_EMBEDDING_MODEL, embedding, tokens
from ..native.inference import (
    InvalidFormat,
    ask_for,
    check_capabilities,
    fitted_prompt,
    format_value,
    schedule,
    scripted_failure,
    scripted_or_default,
)
from ..simulation.generation import Generation
from ..simulation.options import OptionError, read_options
from ..world.models import InstalledModel
from . import shapes
from .middleware import EFFORTS as _EFFORTS
from .middleware import IMAGE_PREFIXES as _IMAGE_PREFIXES
from .middleware import Invalid as _Invalid
from .middleware import decoded
from .middleware import installed as _installed

openai_routes = Blueprint("openai", __name__, url_prefix="/v1")


def _guarded(handler: Any) -> Response:
    try:
        result: Response = handler()
        return result
    except _Invalid as invalid:
        return shapes.error(400, str(invalid), from_middleware=True)
    except Refused as refused:
        return shapes.error(refused.status, str(refused))


# -- models ------------------------------------------------------------------------------------------


def _model_object(model: InstalledModel, shown_id: str) -> dict[str, Any]:
    namespace = model.parsed_name.namespace
    return {"id": shown_id, "object": "model", "created": model.modified_at.unix_seconds(), "owned_by": namespace}


@openai_routes.route("/models", methods=["GET"])
def list_models() -> Response:
    """The installed models (`data` is null when there are none, as Ollama's nil slice)."""
    models = [_model_object(model, model.display_name) for model in state().world.installed()]
    return shapes.answer({"object": "list", "data": models or None})


@openai_routes.route("/models/<model>", methods=["GET"])
def retrieve_model(model: str) -> Response:
    """One installed model, its id as asked."""

    def handle() -> Response:
        parsed = parse_model_name(model)
        shown = parsed.display_shortest() if parsed else model
        return shapes.answer(_model_object(_installed(model, f"model '{shown}' not found"), model))

    return _guarded(handle)


# -- chat completions --------------------------------------------------------------------------------


def _message_text(message: Any) -> tuple[str, int]:
    """The text of a message and how many images it carries; _Invalid for parts Ollama refuses."""
    if not isinstance(message, dict):
        raise _Invalid("invalid message format")
    role = message.get("role")
    if role is not None and not isinstance(role, str):
        raise _Invalid(
            f"json: cannot unmarshal {_go_kind(role)} into Go struct field Message.messages.role of type string"
        )
    content = message.get("content")
    if content is None or isinstance(content, str):
        return content or "", 0
    if not isinstance(content, list):
        raise _Invalid("invalid message format")
    texts, images = [], 0
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            texts.append(str(part.get("text") or ""))
        elif kind == "image_url":
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            if not isinstance(url, str):
                raise _Invalid("invalid message format")
            if url.startswith(("http://", "https://")):
                raise _Invalid("image URLs are not currently supported, please use base64 encoded data instead")
            if not url.startswith(_IMAGE_PREFIXES):
                raise _Invalid("invalid image input")
            images += 1
        elif kind != "input_audio":
            raise _Invalid("invalid message format")
    return " ".join(texts), images


def _think(data: dict[str, Any]) -> Any:
    """The think value of `reasoning.effort`, else of `reasoning_effort` (Go's `*Reasoning` and `*string`)."""
    reasoning, effort = data.get("reasoning"), data.get("reasoning_effort")
    where = "ChatCompletionRequest.reasoning_effort"
    if reasoning is not None:
        if not isinstance(reasoning, dict):
            raise _Invalid(
                f"json: cannot unmarshal {_go_kind(reasoning)} into Go struct field "
                "ChatCompletionRequest.reasoning of type openai.Reasoning"
            )
        effort, where = reasoning.get("effort"), "Reasoning.reasoning.effort"
    if effort is not None and not isinstance(effort, str):
        raise _Invalid(f"json: cannot unmarshal {_go_kind(effort)} into Go struct field {where} of type string")
    if not effort:
        return None
    if effort not in _EFFORTS:
        choices = '"minimal", "low", "medium", "high", "xhigh", "ultra", "max", or "none"'
        raise _Invalid(f"invalid reasoning value: {json.dumps(effort, ensure_ascii=False)} (must be {choices})")
    return _EFFORTS[effort]


def _response_format(data: dict[str, Any]) -> Any:
    wanted = data.get("response_format")
    if not isinstance(wanted, dict):
        return None
    if wanted.get("type") == "json_object":
        return "json"
    schema = wanted.get("json_schema")
    if wanted.get("type") == "json_schema" and isinstance(schema, dict):
        return schema.get("schema") or {}
    return None


def _chat_ask() -> tuple[Ask, InstalledModel, dict[str, Any]]:
    data = decoded(
        "openai.ChatCompletionRequest",
        {
            "model": (str, "string"),
            "messages": (list, "[]openai.Message"),
            "stream": (bool, "bool"),
            "tools": (list, "api.Tools"),
            "max_tokens": (int, "int"),
        },  # fmt: skip
    )
    messages = data.get("messages") or []
    if not messages:
        raise _Invalid("[] is too short - 'messages'")
    read = [_message_text(message) for message in messages]
    think = _think(data)
    name = str(data.get("model") or "")
    model = _installed(name, f"model '{name}' not found")
    tools = tuple(tool for tool in data.get("tools") or () if isinstance(tool, dict))
    check_capabilities(model, name, "chat", think=think, tools=tools, suffix=None)
    conversation = read_conversation(
        (str(message.get("role") or ""), text, message.get("tool_calls"))
        for message, (text, _) in zip(messages, read, strict=True)
    )
    ask = ask_for(
        model, name, conversation, think, sum(images for _, images in read),
        format=_response_format(data), tools=tools, tool_choice=_tool_choice(data.get("tool_choice")),
    )  # fmt: skip
    return replace(ask, call_ids=True), model, data  # the /v1 layer always gave its tool calls ids


def _tool_choice(value: Any) -> str | None:
    """The tool `tool_choice` requires (a function's name), "required" for any, None for the model's choice."""
    if value == "required":
        return "required"
    function = value.get("function") if isinstance(value, dict) else None
    name = function.get("name") if isinstance(function, dict) else None
    return name if isinstance(name, str) and name else None


def _generation(model: InstalledModel, options: dict[str, Any]) -> Generation:
    """A runner for a /v1 request: the server's keep-alive (the layer cannot set one), the request's options."""
    return schedule(model, read_options_or_refuse(model, options), None)


def read_options_or_refuse(model: InstalledModel, options: dict[str, Any]) -> Any:
    """The options the middleware built, over the model's parameters (a wrong type is Ollama's 500)."""
    try:
        return read_options(model.parameters, options)
    except OptionError as wrong:
        raise Refused(500, str(wrong)) from None


def _stops(value: Any, *, strict: bool) -> list[str]:
    """`stop` as a list: a string is one; chat drops non-strings, completions refuses them (400)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and (not strict or all(isinstance(item, str) for item in value)):
        return [item for item in value if isinstance(item, str)]
    if strict:
        raise _Invalid(f"invalid type for 'stop' field: {_go_type_name(value)}")
    return []


def _go_type_name(value: Any) -> str:
    return {dict: "map[string]interface {}", list: "[]interface {}", bool: "bool", str: "string"}.get(
        type(value), "float64"
    )


def _middleware_options(data: dict[str, Any], *, strict_stop: bool) -> dict[str, Any]:
    """The native options the /v1 middleware sets: `max_tokens` is num_predict (`max_completion_tokens` is
    not read), `stop`, and temperature and top_p 1.0 unless given."""
    options: dict[str, Any] = {}
    if data.get("max_tokens") is not None:
        options["num_predict"] = data["max_tokens"]
    stops = _stops(data.get("stop"), strict=strict_stop)
    if stops:
        options["stop"] = stops
    options["temperature"] = data["temperature"] if data.get("temperature") is not None else 1.0
    if data.get("seed") is not None:
        options["seed"] = data["seed"]
    options["top_p"] = data["top_p"] if data.get("top_p") is not None else 1.0
    return options


def _chunk(base: dict[str, Any], created: int, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    frame = base | {"created": created}
    return frame | {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _chat_stream(
    base: dict[str, Any],
    generation: Generation,
    transcript: Transcript,
    prompt_tokens: int,
    *,
    with_usage: bool,
    role_once: bool,
) -> Iterator[dict[str, Any]]:
    first, calls_sent = True, False
    for token, moment in generation.run(transcript, prompt_tokens):
        delta: dict[str, Any] = {"role": "assistant"} if first or not role_once else {}
        first = False
        if token.kind == "thinking":
            delta |= {"content": "", "reasoning": token.text}
        elif token.call is not None:
            delta |= {"content": "", "tool_calls": shapes.openai_tool_calls([token.call])}
            calls_sent = True
        else:
            delta["content"] = token.text
        yield _chunk(base, moment.unix_seconds(), delta, None)
    done = generation.now().unix_seconds()
    if first:  # nothing was generated: the stream still opens with the role
        yield _chunk(base, done, {"role": "assistant", "content": ""}, None)
    reason = "tool_calls" if calls_sent and transcript.done_reason == "stop" else transcript.done_reason
    yield _chunk(base, done, {}, reason)
    if with_usage:
        yield base | {"created": done, "choices": [], "usage": shapes.usage(prompt_tokens, transcript.eval_count)}


def _include_usage(data: dict[str, Any]) -> bool:
    options = data.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


@openai_routes.route("/chat/completions", methods=["POST"])
def chat_completions() -> Response:
    """A chat completion (or SSE chunks): the model loads with the server's keep-alive, as on Ollama."""

    def handle() -> Response:
        ask, model, data = _chat_ask()
        generation = _generation(model, _middleware_options(data, strict_stop=False))
        try:
            try:
                ask = replace(ask, format=format_value(ask.format))
            except InvalidFormat as invalid:
                raise Refused(500, str(invalid)) from None
            messages = [message for message in data["messages"] if isinstance(message, dict)]
            texts = [_message_text(message)[0] for message in messages]
            prompt_tokens = count_prompt_tokens(texts, len(messages))
            prompt_tokens = fitted_prompt(prompt_tokens, generation, shift=True)
            predict = generation.options.predict
            transcript = transcribe(
                scripted_or_default(ask), predict.num_predict, predict.stop, structured=ask.format is not None,
                context=generation.context,
            )  # fmt: skip
        except Exception:
            generation.close()
            raise
        base = {"id": shapes.next_id("chatcmpl"), "object": "chat.completion.chunk", "created": 0,
                "model": ask.model, "system_fingerprint": "fp_ollama"}  # fmt: skip
        if data.get("stream"):
            role_once = has(state().world.release, "openai_role_once")
            frames = _chat_stream(
                base, generation, transcript, prompt_tokens, with_usage=_include_usage(data), role_once=role_once
            )
            return shapes.event_stream(frames, on_close=generation.close)
        created = generation.complete(transcript, prompt_tokens).unix_seconds()
        message: dict[str, Any] = {"role": "assistant", "content": transcript.text("content")}
        if transcript.text("thinking"):
            message["reasoning"] = transcript.text("thinking")
        calls = shapes.openai_tool_calls(transcript.tool_calls)
        if calls:
            message["tool_calls"] = calls
        reason = "tool_calls" if calls and transcript.done_reason == "stop" else transcript.done_reason
        completion = base | {"object": "chat.completion", "created": created}
        completion["choices"] = [{"index": 0, "message": message, "finish_reason": reason}]
        completion["usage"] = shapes.usage(prompt_tokens, transcript.eval_count)
        return shapes.answer(completion)

    return _guarded(handle)


# -- completions -------------------------------------------------------------------------------------


@openai_routes.route("/completions", methods=["POST"])
def completions() -> Response:
    """A text completion; an empty prompt only loads the model (`finish_reason: "load"`)."""

    def handle() -> Response:
        data = decoded(
            "openai.CompletionRequest",
            {"model": (str, "string"), "prompt": (str, "string"), "stream": (bool, "bool"), "max_tokens": (int, "int")},
        )
        name = str(data.get("model") or "")
        model = _installed(name, f"model '{name}' not found")
        check_capabilities(model, name, "generate", think=None, tools=None, suffix=data.get("suffix"))
        generation = _generation(model, _middleware_options(data, strict_stop=True))
        prompt = str(data.get("prompt") or "")
        try:
            prompt_tokens = fitted_prompt(count_prompt_tokens([prompt]), generation, shift=True) if prompt else 0
            predict = generation.options.predict
            asked = ask_for(model, name, read_conversation([("user", prompt, None)]), False, 0)
            reply = scripted_or_default(asked) if prompt else Reply(content="")
            transcript = transcribe(
                reply, predict.num_predict, predict.stop, structured=False, context=generation.context
            )
        except Exception:
            generation.close()
            raise
        identity = shapes.next_id("cmpl")
        finish = transcript.done_reason if prompt else "load"

        def frame(created: int, text: str, reason: str | None) -> dict[str, Any]:
            chunk = {"id": identity, "object": "text_completion", "created": created,
                     "choices": [{"text": text, "index": 0, "finish_reason": reason}], "model": name,
                     "system_fingerprint": "fp_ollama"}  # fmt: skip
            return chunk | (
                {"usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}} if with_usage else {}
            )

        counted = transcript.eval_count if prompt else 0
        if not data.get("stream"):
            created = generation.complete(transcript, prompt_tokens).unix_seconds()
            return shapes.answer(
                {
                    "id": identity,
                    "object": "text_completion",
                    "created": created,
                    "model": name,
                    "system_fingerprint": "fp_ollama",
                    "choices": [{"text": transcript.text("content"), "index": 0, "finish_reason": finish}],
                    "usage": shapes.usage(prompt_tokens, counted),
                }  # fmt: skip
            )
        with_usage = _include_usage(data)

        def frames() -> Iterator[dict[str, Any]]:
            for token, moment in generation.run(transcript, prompt_tokens):
                if token.kind == "content":
                    yield frame(moment.unix_seconds(), token.text, None)
            done = generation.now().unix_seconds()
            yield frame(done, "", finish)
            if with_usage:
                yield {"id": identity, "object": "text_completion", "created": done, "choices": [], "model": name,
                       "system_fingerprint": "fp_ollama", "usage": shapes.usage(prompt_tokens, counted)}  # fmt: skip

        return shapes.event_stream(frames(), on_close=generation.close)

    return _guarded(handle)


# -- embeddings --------------------------------------------------------------------------------------


def _base64_floats(vector: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")


@openai_routes.route("/embeddings", methods=["POST"])
def embeddings() -> Response:
    """Embeddings in OpenAI's list shape, floats or base64; the model loads as with /api/embed."""

    def handle() -> Response:
        data = decoded("openai.EmbedRequest", {"model": (str, "string"), "dimensions": (int, "int")})
        inputs = data.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not inputs or not isinstance(inputs, list) or not all(isinstance(item, str) for item in inputs):
            raise _Invalid("invalid input")
        encoding = data.get("encoding_format")
        encoding = "float" if encoding is None or encoding == "" else encoding
        if not isinstance(encoding, str):
            kind = _go_kind(encoding)
            raise _Invalid(
                f"json: cannot unmarshal {kind} into Go struct field EmbedRequest.encoding_format of type string"
            )
        if encoding.lower() not in ("float", "base64"):
            raise _Invalid(f"Invalid value for 'encoding_format' = {encoding}. Supported values: ['float', 'base64'].")
        name = str(data.get("model") or "")
        model = _installed(name, f'model "{name}" not found, try pulling it first')
        generation = _generation(model, {})
        try:
            scripted_failure(name, inputs[0])
            if not model.can("embedding"):
                raise Refused(501, NOT_AN_EMBEDDING_MODEL)
            dimensions = int(data.get("dimensions") or 0)
            vectors = [embedding(model, text, dimensions) for text in inputs]
            generation.read(sum(tokens(text) for text in inputs))
        finally:
            generation.close()
        items = [
            {
                "object": "embedding",
                "embedding": _base64_floats(vector) if encoding.lower() == "base64" else vector,
                "index": index,
            }  # fmt: skip
            for index, vector in enumerate(vectors)
        ]
        counted = sum(tokens(text) for text in inputs)
        return shapes.answer(
            {
                "object": "list",
                "data": items,
                "model": name,
                "usage": {"prompt_tokens": counted, "total_tokens": counted},
            }  # fmt: skip
        )

    return _guarded(handle)
