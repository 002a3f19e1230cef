"""Short, deterministic answers in Ollama's generate and chat shapes: text, thinking, JSON, tool calls."""

from __future__ import annotations

import hashlib
import json
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..serving.encoding import go_json
from .structured import example_for

_NANOSECONDS_PER_TOKEN = 25_000_000
_JSON_PIECE = 12  # characters of a JSON answer per streamed chunk


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
    """The model's whole answer."""

    content: str
    thinking: str = ""
    tool_calls: tuple[dict[str, Any], ...] = field(default=())
    prompt_tokens: int = 1


def _echo(text: str) -> str:
    words = text.split()
    return " ".join(words[:8]) + ("…" if len(words) > 8 else "")


def _call_id(seed: str) -> str:
    alphabet = string.ascii_lowercase + string.digits
    digest = hashlib.sha256(seed.encode()).digest()
    return "call_" + "".join(alphabet[byte % len(alphabet)] for byte in digest[:8])


def _tool_call(ask: Ask) -> dict[str, Any]:
    function = ask.tools[0].get("function") if isinstance(ask.tools[0].get("function"), Mapping) else {}
    assert isinstance(function, Mapping)
    name = str(function.get("name") or "tool")
    call = {"function": {"index": 0, "name": name, "arguments": example_for(function.get("parameters") or {})}}
    return {"id": _call_id(f"{ask.model}\0{ask.text}\0{name}"), **call} if ask.call_ids else call


def compose(ask: Ask) -> Reply:
    """The deterministic answer to `ask`: the same request always gets the same reply."""
    echo = _echo(ask.text)
    sentence = f"Mock answer from {ask.model} to: {echo}" if echo else f"Mock answer from {ask.model}."
    if ask.images and ask.sees_images:
        sentence += f" (I see {ask.images} image{'s' if ask.images > 1 else ''}.)"
    thinking = f"The user wrote: {echo or 'nothing'}. A short answer will do." if ask.think else ""
    tokens = max(1, len(ask.text.split()))
    if ask.tools and not ask.after_tool:
        return Reply(content="", thinking=thinking, tool_calls=(_tool_call(ask),), prompt_tokens=tokens)
    if ask.format == "json":
        content = json.dumps({"answer": sentence}, ensure_ascii=False)
    elif isinstance(ask.format, dict):
        content = json.dumps(example_for(ask.format), ensure_ascii=False)
    else:
        content = sentence
    return Reply(content=content, thinking=thinking, prompt_tokens=tokens)


def pieces(text: str, structured: bool = False) -> list[str]:
    """How a text streams: word by word (a space after each but the last), or fixed-size pieces of JSON."""
    if not text:
        return []
    if structured:
        return [text[start : start + _JSON_PIECE] for start in range(0, len(text), _JSON_PIECE)]
    parts = text.split(" ")
    return [part + (" " if index < len(parts) - 1 else "") for index, part in enumerate(parts)]


def metrics(reply: Reply, generated: int) -> dict[str, Any]:
    """The final object's timings and counts, in Go's key order."""
    return {
        "total_duration": (generated + reply.prompt_tokens) * _NANOSECONDS_PER_TOKEN + 1_000_000,
        "load_duration": 1_000_000,
        "prompt_eval_count": reply.prompt_tokens,
        "prompt_eval_duration": reply.prompt_tokens * _NANOSECONDS_PER_TOKEN,
        "eval_count": max(1, generated),
        "eval_duration": max(1, generated) * _NANOSECONDS_PER_TOKEN,
    }


def _deltas(reply: Reply, structured: bool) -> list[tuple[str, str]]:
    """(kind, text) in streaming order: thinking first, then content."""
    return [("thinking", piece) for piece in pieces(reply.thinking)] + [
        ("content", piece) for piece in pieces(reply.content, structured)
    ]


def generate_chunks(ask: Ask, reply: Reply, created_at: str) -> list[dict[str, Any]]:
    """The objects of a generate answer; the last one carries done, the reason, the context and the metrics."""
    deltas = _deltas(reply, ask.format is not None)
    chunks: list[dict[str, Any]] = []
    for kind, text in deltas:
        chunk: dict[str, Any] = {"model": ask.model, "created_at": created_at, "response": ""}
        if kind == "thinking":
            chunk["thinking"] = text
        else:
            chunk["response"] = text
        chunks.append(chunk | {"done": False})
    final = {"model": ask.model, "created_at": created_at, "response": "", "done": True, "done_reason": "stop"}
    final["context"] = list(range(1, len(deltas) + 2))
    chunks.append(final | metrics(reply, len(deltas)))
    return chunks


def chat_chunks(ask: Ask, reply: Reply, created_at: str) -> list[dict[str, Any]]:
    """The objects of a chat answer; tool calls arrive in a chunk of their own before the final one."""
    deltas = _deltas(reply, ask.format is not None)
    chunks: list[dict[str, Any]] = []
    for kind, text in deltas:
        message: dict[str, Any] = {"role": "assistant", "content": text if kind == "content" else ""}
        if kind == "thinking":
            message["thinking"] = text
        chunks.append({"model": ask.model, "created_at": created_at, "message": message, "done": False})
    if reply.tool_calls:
        message = {"role": "assistant", "content": "", "tool_calls": list(reply.tool_calls)}  # its own chunk
        chunks.append({"model": ask.model, "created_at": created_at, "message": message, "done": False})
    final = {
        "model": ask.model,
        "created_at": created_at,
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
    }
    chunks.append(final | metrics(reply, len(deltas) + len(reply.tool_calls)))
    return chunks


def _with_after(data: dict[str, Any], anchor: str, key: str, value: Any) -> dict[str, Any]:
    """`data` with `key` placed right after `anchor` (Go's struct order)."""
    items = [item for item in data.items() if item[0] != key]
    position = [name for name, _ in items].index(anchor) + 1
    return dict(items[:position] + [(key, value)] + items[position:])


def merge_chunks(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The single object of a `stream: false` answer: all text in one, tool calls gathered, final fields kept."""
    merged = dict(chunks[-1])
    if "response" in merged:
        merged["response"] = "".join(chunk["response"] for chunk in chunks)
        thinking = "".join(chunk.get("thinking", "") for chunk in chunks)
        return _with_after(merged, "response", "thinking", thinking) if thinking else merged
    message: dict[str, Any] = {"role": "assistant", "content": "".join(c["message"]["content"] for c in chunks)}
    thinking = "".join(chunk["message"].get("thinking", "") for chunk in chunks)
    if thinking:
        message["thinking"] = thinking
    calls = [call for chunk in chunks for call in chunk["message"].get("tool_calls", [])]
    if calls:
        message["tool_calls"] = calls
    merged["message"] = message
    return merged


def ndjson_lines(chunks: list[dict[str, Any]]) -> Iterator[bytes]:
    """Stream the chunks, one compact JSON object per line."""
    for chunk in chunks:
        yield go_json(chunk) + b"\n"
