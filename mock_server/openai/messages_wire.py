"""The bytes of Ollama's `/v1/messages` answers (`anthropic/anthropic.go`): the message, its server-sent
events, and Anthropic's error shape.

Everything is a Go struct, keys in field order. The message id is `msg_` and 24 hex digits (crypto
random), tool-use ids are Ollama's `call_…` (not `toolu_…`), thinking has no `signature`, and an
answer with nothing in it has `"content": null`. Streams have no `ping` and no `[DONE]`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from flask import Response

from ..serving.encoding import go_json
from ..serving.responses import json_response
from .shapes import answer

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}
_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens"}


def random_id(prefix: str) -> str:
    """`msg_…` or `req_…`: 12 random bytes in hex, as Ollama's `generateID`."""
    return f"{prefix}_{secrets.token_hex(12)}"


def error(status: int, message: str, *, from_middleware: bool = False) -> Response:
    """Anthropic's error object (always with a `request_id`); the middleware's own come from gin's `c.JSON`."""
    body = {
        "type": "error",
        "error": {"type": _ERROR_TYPES.get(status, "api_error"), "message": message},
        "request_id": random_id("req"),
    }
    return json_response(body, status) if from_middleware else answer(body, status)


def stop_reason(done_reason: str, called: bool) -> str:
    """`mapStopReason`: tool_use after tool calls, end_turn for stop, max_tokens for length, else stop_sequence."""
    if called:
        return "tool_use"
    return _STOP_REASONS.get(done_reason, "stop_sequence" if done_reason else "")


def tool_use(call: Mapping[str, Any]) -> dict[str, Any]:
    """A tool call as a `tool_use` block (its input in the model's key order)."""
    return {
        "type": "tool_use",
        "id": call.get("id", ""),
        "name": call["function"]["name"],
        "input": call["function"]["arguments"],
    }


def _usage(chunk: Mapping[str, Any], input_tokens: int | None = None) -> dict[str, int]:
    prompt = chunk.get("prompt_eval_count", 0) if input_tokens is None else input_tokens
    return {"input_tokens": prompt, "output_tokens": chunk.get("eval_count", 0)}


def message(message_id: str, whole: Mapping[str, Any]) -> dict[str, Any]:
    """The whole answer (`ToMessagesResponse`): thinking, text, then one `tool_use` block a call."""
    said = whole["message"]
    content: list[dict[str, Any]] = []
    if said.get("thinking"):
        content.append({"type": "thinking", "thinking": said["thinking"]})
    if said.get("content"):
        content.append({"type": "text", "text": said["content"]})
    calls = said.get("tool_calls") or []
    content += [tool_use(call) for call in calls]
    body: dict[str, Any] = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": whole["model"],
        "content": content or None,
    }
    reason = stop_reason(str(whole.get("done_reason") or ""), bool(calls))
    return body | ({"stop_reason": reason} if reason else {}) | {"usage": _usage(whole)}


class MessageEvents:
    """Turns native chat chunks into the Messages stream's events, as Ollama's `StreamConverter` does."""

    def __init__(self, message_id: str, model: str, estimated_input_tokens: int) -> None:
        self.message_id, self.model, self.estimate = message_id, model, estimated_input_tokens
        self.started = False
        self.index = 0
        self.thinking, self.thinking_done, self.text = False, False, False
        self.calls_sent: set[str] = set()

    def process(self, chunk: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """The events one native chunk gives."""
        said = chunk.get("message") or {}
        events: list[tuple[str, Any]] = []
        if not self.started:
            self.started = True
            start = {
                "id": self.message_id,
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [],
                "usage": _usage({}, chunk.get("prompt_eval_count") or self.estimate),
            }
            events.append(("message_start", {"type": "message_start", "message": start}))
        if said.get("thinking") and not self.thinking_done:
            events += self._stop_text()
            events += self._start({"type": "thinking", "thinking": ""}, self.thinking)
            self.thinking = True
            events.append(self._delta({"type": "thinking_delta", "thinking": said["thinking"]}))
        if said.get("content"):
            events += self._stop_thinking()
            events += self._start({"type": "text", "text": ""}, self.text)
            self.text = True
            events.append(self._delta({"type": "text_delta", "text": said["content"]}))
        for call in said.get("tool_calls") or []:
            events += self._call(call)
        if chunk.get("done"):
            if self.text or (self.thinking and not self.thinking_done):
                events.append(self._stop())
            reason = stop_reason(str(chunk.get("done_reason") or ""), bool(self.calls_sent))
            delta = {
                "type": "message_delta",
                "delta": {"stop_reason": reason} if reason else {},
                "usage": _usage(chunk),
            }
            events += [("message_delta", delta), ("message_stop", {"type": "message_stop"})]
        return events

    def _start(self, block: dict[str, Any], started: bool) -> list[tuple[str, Any]]:
        if started:
            return []
        return [("content_block_start", {"type": "content_block_start", "index": self.index, "content_block": block})]

    def _delta(self, delta: dict[str, Any]) -> tuple[str, Any]:
        return "content_block_delta", {"type": "content_block_delta", "index": self.index, "delta": delta}

    def _stop(self) -> tuple[str, Any]:
        return "content_block_stop", {"type": "content_block_stop", "index": self.index}

    def _stop_text(self) -> list[tuple[str, Any]]:
        if not self.text:
            return []
        self.text = False
        self.index += 1
        return [("content_block_stop", {"type": "content_block_stop", "index": self.index - 1})]

    def _stop_thinking(self) -> list[tuple[str, Any]]:
        if not self.thinking or self.thinking_done:
            return []
        self.thinking_done = True
        self.index += 1
        return [("content_block_stop", {"type": "content_block_stop", "index": self.index - 1})]

    def _call(self, call: Mapping[str, Any]) -> list[tuple[str, Any]]:
        identity = str(call.get("id", ""))
        if identity in self.calls_sent:
            return []
        events = self._stop_thinking() + self._stop_text()
        block = tool_use(call) | {"input": {}}
        events += self._start(block, False)
        events.append(
            self._delta({"type": "input_json_delta", "partial_json": go_json(call["function"]["arguments"]).decode()})
        )
        events.append(self._stop())
        self.calls_sent.add(identity)
        self.index += 1
        return events
