"""Replies read back from recorded answers: what a server said to one request, in any generating API's
wire format, as the `then` of a rule that says it again (`ollama-contract proxy --record` writes them).

A streamed answer keeps its pieces (`chunks`, `thinking_chunks`: the replay streams the same ones);
an answer given whole keeps its text (a replay streamed after all goes word by word). Tool calls keep
their names and arguments (ids and indexes are the replaying server's), `done_reason` its reason
(`tool_calls` and `tool_use` are Ollama's `stop`; the Responses API says none), `eval_count` the
tokens the server counted, an error its status and message.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Ends of a load or an unload: no reply rule is asked for those (a request with nothing to answer).
_NOT_REPLIES = frozenset({"load", "unload"})


class NotRecordable(ValueError):
    """An answer no rule can say again (not the route's wire format, a load, an error inside a stream)."""


@dataclass
class _Said:
    """What the model said, piece by piece as it came."""

    content: list[str] = field(default_factory=list)
    thinking: list[str] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    done_reason: str | None = None
    eval_count: Any = None
    #: A Messages stream's tool call being written: its name, and its input's JSON so far.
    writing: tuple[str, str] | None = None

    def say(self, content: Any = None, thinking: Any = None) -> None:
        if isinstance(thinking, str) and thinking:
            self.thinking.append(thinking)
        if isinstance(content, str) and content:
            self.content.append(content)

    def call(self, name: Any, arguments: Any) -> None:
        if isinstance(arguments, str):  # /v1 writes them as a JSON string
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError:
                raise NotRecordable(f"tool call arguments that are not JSON: {arguments[:80]!r}") from None
        if not isinstance(name, str) or not name or not isinstance(arguments, dict):
            raise NotRecordable(f"a tool call without a name or object arguments: {name!r}")
        self.tool_calls.append({"name": name, "arguments": arguments})

    def then(self, streamed: bool) -> dict[str, Any]:
        if self.done_reason in _NOT_REPLIES:
            raise NotRecordable(f"a {self.done_reason}, not a reply")
        then: dict[str, Any] = {}
        if streamed:
            then |= {"chunks": self.content} if self.content else {}
            then |= {"thinking_chunks": self.thinking} if self.thinking else {}
        else:
            then |= {"content": "".join(self.content)} if self.content else {}
            then |= {"thinking": "".join(self.thinking)} if self.thinking else {}
        then |= {"tool_calls": self.tool_calls} if self.tool_calls else {}
        then |= {"done_reason": self.done_reason} if self.done_reason else {}
        counted = isinstance(self.eval_count, int) and not isinstance(self.eval_count, bool) and self.eval_count > 0
        return then | ({"eval_count": self.eval_count} if counted else {})


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _first_choice(document: Mapping[str, Any]) -> Mapping[str, Any]:
    choices = document.get("choices")
    return _object(choices[0]) if isinstance(choices, list) and choices else {}


def _generate(said: _Said, document: Mapping[str, Any]) -> None:
    said.say(document.get("response"), document.get("thinking"))
    _done(said, document)


def _done(said: _Said, document: Mapping[str, Any]) -> None:
    if document.get("done"):
        said.done_reason, said.eval_count = document.get("done_reason"), document.get("eval_count")


def _chat(said: _Said, document: Mapping[str, Any]) -> None:
    message = _object(document.get("message"))
    said.say(message.get("content"), message.get("thinking"))
    for call in message.get("tool_calls") or ():
        function = _object(_object(call).get("function"))
        said.call(function.get("name"), function.get("arguments"))
    _done(said, document)


def _finish(said: _Said, document: Mapping[str, Any], choice: Mapping[str, Any]) -> None:
    reason = choice.get("finish_reason")
    if isinstance(reason, str) and reason:
        said.done_reason = "stop" if reason == "tool_calls" else reason
    usage = _object(document.get("usage"))
    if "completion_tokens" in usage:
        said.eval_count = usage["completion_tokens"]


def _chat_completion(said: _Said, document: Mapping[str, Any]) -> None:
    choice = _first_choice(document)
    message = _object(choice.get("delta") or choice.get("message"))
    said.say(message.get("content"), message.get("reasoning"))
    for call in message.get("tool_calls") or ():
        function = _object(_object(call).get("function"))
        said.call(function.get("name"), function.get("arguments"))
    _finish(said, document, choice)


def _completion(said: _Said, document: Mapping[str, Any]) -> None:
    choice = _first_choice(document)
    said.say(choice.get("text"))
    _finish(said, document, choice)


def _output_item(said: _Said, item: Mapping[str, Any]) -> None:
    if item.get("type") == "reasoning":
        said.say(thinking="".join(str(_object(part).get("text") or "") for part in item.get("summary") or ()))
    elif item.get("type") == "function_call":
        said.call(item.get("name"), item.get("arguments"))
    elif item.get("type") == "message":
        said.say("".join(str(_object(part).get("text") or "") for part in item.get("content") or ()))


def _response(said: _Said, document: Mapping[str, Any]) -> None:
    """`/v1/responses`: the whole response object, or one of its stream's events."""
    kind = document.get("type")
    if kind == "response.failed":
        raise NotRecordable("a response that failed")
    if kind == "response.reasoning_summary_text.delta":
        said.say(thinking=document.get("delta"))
    elif kind == "response.output_text.delta":
        said.say(document.get("delta"))
    elif kind == "response.output_item.done" and _object(document.get("item")).get("type") == "function_call":
        _output_item(said, _object(document.get("item")))
    elif kind == "response.completed":
        said.eval_count = _object(_object(document.get("response")).get("usage")).get("output_tokens")
    elif kind is None and document.get("object") == "response":
        for item in document.get("output") or ():
            _output_item(said, _object(item))
        said.eval_count = _object(document.get("usage")).get("output_tokens")


#: Anthropic's stop reasons as Ollama's done reasons (`stop_sequence` says no more than "not those").
_DONE_REASONS = {"end_turn": "stop", "tool_use": "stop", "max_tokens": "length"}


def _message(said: _Said, document: Mapping[str, Any]) -> None:
    """`/v1/messages`: the whole message, or one of its stream's events."""
    kind = document.get("type")
    block = _object(document.get("content_block") or document.get("delta"))
    if kind == "content_block_start" and block.get("type") == "tool_use":
        said.writing = (str(block.get("name") or ""), "")
    elif kind == "content_block_delta" and block.get("type") == "input_json_delta" and said.writing:
        said.writing = (said.writing[0], said.writing[1] + str(block.get("partial_json") or ""))
    elif kind == "content_block_delta":
        said.say(block.get("text"), block.get("thinking"))
    elif kind == "content_block_stop" and said.writing:
        said.call(*said.writing)
        said.writing = None
    elif kind in ("message", "message_delta"):
        for part in document.get("content") or ():
            part = _object(part)
            said.say(part.get("text"), part.get("thinking"))
            if part.get("type") == "tool_use":
                said.call(part.get("name"), part.get("input"))
        reason = _object(document.get("delta")).get("stop_reason") or document.get("stop_reason")
        said.done_reason = _DONE_REASONS.get(str(reason))
        said.eval_count = _object(document.get("usage")).get("output_tokens")


#: How each recorded route's answer documents (an NDJSON line, an SSE event, the whole JSON) are read.
READERS: dict[str, Callable[[_Said, Mapping[str, Any]], None]] = {
    "/api/generate": _generate,
    "/api/chat": _chat,
    "/v1/chat/completions": _chat_completion,
    "/v1/completions": _completion,
    "/v1/responses": _response,
    "/v1/messages": _message,
}


def _documents(media: str, body: bytes) -> Iterator[Any]:
    """The JSON documents of an answer: NDJSON lines, SSE `data:` events (not `[DONE]`), or the whole body."""
    if media == "application/x-ndjson":
        parts = body.split(b"\n")
    elif media == "text/event-stream":
        parts = [
            line.removeprefix(b"data:").strip()
            for event in body.replace(b"\r\n", b"\n").split(b"\n\n")
            for line in event.split(b"\n")
            if line.startswith(b"data:")
        ]
        parts = [part for part in parts if part != b"[DONE]"]
    else:
        parts = [body]
    for part in parts:
        if part.strip():
            try:
                yield json.loads(part)
            except (ValueError, RecursionError):
                raise NotRecordable(f"not JSON: {part[:80]!r}") from None


def error_message(body: bytes) -> str:
    """The error text of an error answer: Ollama's `{"error": "..."}`, OpenAI's `{"error": {"message"}}`."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        document = None
    found = _object(document).get("error")
    if isinstance(found, Mapping):
        found = found.get("message")
    if not isinstance(found, str):
        raise NotRecordable(f"an error answer without an error text: {body[:80]!r}")
    return found


def recorded_then(path: str, status: int, media: str, body: bytes) -> dict[str, Any]:
    """The `then` of a rule that answers as `body` did (`path` one of READERS); NotRecordable when none can."""
    if status >= 400:
        return {"error": {"status": status, "message": error_message(body)}}
    if status != 200:
        raise NotRecordable(f"status {status}")
    said = _Said()
    for document in _documents(media, body):
        if not isinstance(document, Mapping) or document.get("error") is not None:
            raise NotRecordable(f"not an answer of {path}: {json.dumps(document)[:80]}")
        READERS[path](said, document)
    return said.then(streamed=media in ("application/x-ndjson", "text/event-stream"))
