"""The default answerer: a short, deterministic reply to every request, in text, thinking, JSON or tool calls.

The rules, in order:
- a request with tools whose last message is not a tool result calls the first tool, with arguments
  that satisfy its parameters schema;
- `format: "json"` answers `{"answer": "<the sentence>"}`; a schema `format` a value valid against it;
- otherwise the sentence `Mock answer from <model> to: <the first eight words>`, with `(I see N images.)`
  for a vision model given images;
- a thinking model (or `think` asked of one) first thinks `The user wrote: ... A short answer will do.`
The same request always gets the same reply.
"""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .structured import example_for


@dataclass(frozen=True)
class Ask:
    """What a request asks of the model, once validated."""

    model: str  # the name as the request gave it (answers echo it verbatim)
    text: str  # the prompt, or the last message
    think: bool = False
    format: Any = None  # None, "json", or a JSON Schema object
    tools: tuple[Mapping[str, Any], ...] = ()
    after_tool: bool = False  # the last message is a tool's result: answer it in words
    images: int = 0
    sees_images: bool = False
    call_ids: bool = True  # tool calls carry an id (Ollama 0.12.10 and later)


@dataclass(frozen=True)
class Reply:
    """The model's whole answer, before `num_predict` or `stop` end it."""

    content: str
    thinking: str = ""
    tool_calls: tuple[dict[str, Any], ...] = field(default=())


def _echo(text: str) -> str:
    words = text.split()
    return " ".join(words[:8]) + ("…" if len(words) > 8 else "")


def call_id(seed: str) -> str:
    """A tool-call id as Ollama writes them (`call_` and eight lower-case letters and digits), from `seed`."""
    alphabet = string.ascii_lowercase + string.digits
    digest = hashlib.sha256(seed.encode()).digest()
    return "call_" + "".join(alphabet[byte % len(alphabet)] for byte in digest[:8])


def tool_call(ask: Ask, name: str, arguments: Mapping[str, Any], index: int = 0) -> dict[str, Any]:
    """A native tool call (`{"id", "function": {"index", "name", "arguments"}}`; no id before 0.12.10)."""
    call = {"function": {"index": index, "name": name, "arguments": dict(arguments)}}
    return {"id": call_id(f"{ask.model}\0{ask.text}\0{name}\0{index}"), **call} if ask.call_ids else call


def _first_tool_call(ask: Ask) -> dict[str, Any]:
    function = ask.tools[0].get("function")
    function = function if isinstance(function, Mapping) else {}
    arguments = example_for(function.get("parameters") or {"type": "object"})
    return tool_call(ask, str(function.get("name") or "tool"), arguments if isinstance(arguments, dict) else {})


def compose(ask: Ask) -> Reply:
    """The deterministic answer to `ask`: the same request always gets the same reply."""
    echo = _echo(ask.text)
    sentence = f"Mock answer from {ask.model} to: {echo}" if echo else f"Mock answer from {ask.model}."
    if ask.images and ask.sees_images:
        sentence += f" (I see {ask.images} image{'s' if ask.images > 1 else ''}.)"
    thinking = f"The user wrote: {echo or 'nothing'}. A short answer will do." if ask.think else ""
    if ask.tools and not ask.after_tool:
        return Reply(content="", thinking=thinking, tool_calls=(_first_tool_call(ask),))
    if ask.format == "json":
        content = json.dumps({"answer": sentence}, ensure_ascii=False)
    elif isinstance(ask.format, dict):
        content = json.dumps(example_for(ask.format), ensure_ascii=False)
    else:
        content = sentence
    return Reply(content=content, thinking=thinking)
