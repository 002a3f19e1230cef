"""The bytes of Ollama's /v1 answers: encoder framing, OpenAI's error shape, chunk and completion objects."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from flask import Response
from werkzeug.wsgi import ClosingIterator

from ..serving.encoding import go_json
from ..serving.responses import json_response

#: Ollama's /v1 writers use `json.NewEncoder`: HTML escaped, a trailing newline, no charset.
ENCODER_TYPE = "application/json"
_ERROR_TYPES = {400: "invalid_request_error", 404: "not_found_error"}
_ids = itertools.count()


def encoder_json(data: Any) -> bytes:
    """JSON as Go's `json.Encoder` writes it: what gin's `c.JSON` writes, and a newline."""
    return go_json(data) + b"\n"


def answer(data: Any, status: int = 200) -> Response:
    """A /v1 JSON answer."""
    return Response(encoder_json(data), status=status, content_type=ENCODER_TYPE)


def error(status: int, message: str, *, from_middleware: bool = False) -> Response:
    """OpenAI's error object; the middleware's own (decoding, validation) come from gin's `c.JSON`."""
    kind = _ERROR_TYPES.get(status, "api_error")
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return json_response(body, status) if from_middleware else answer(body, status)


def next_id(prefix: str) -> str:
    """`chatcmpl-417`: Ollama draws a number below 999 (ids are not unique)."""
    return f"{prefix}-{next(_ids) % 999}"


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """Token counts as OpenAI names them (Ollama's prompt_eval_count and eval_count)."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def openai_tool_calls(calls: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Ollama's tool calls in OpenAI's shape: arguments as a JSON string."""
    return [
        {
            "id": call["id"],
            "index": call["function"]["index"],
            "type": "function",
            "function": {
                "name": call["function"]["name"],
                "arguments": go_json(call["function"]["arguments"]).decode(),
            },
        }
        for call in calls
    ]


def events(chunks: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    """Server-sent events: `data: <json>` frames, then `data: [DONE]`."""
    for chunk in chunks:
        yield b"data: " + encoder_json(chunk).rstrip(b"\n") + b"\n\n"
    yield b"data: [DONE]\n\n"


def event_stream(chunks: Iterable[dict[str, Any]], on_close: Callable[[], None] | None = None) -> Response:
    """A `text/event-stream` answer of `chunks`; `on_close` runs when the server closes it (sent, cut or unread)."""
    body = events(chunks)
    return Response(ClosingIterator(body, on_close) if on_close else body, content_type="text/event-stream")
