"""The objects of generate and chat answers, keys in Go's order: one per token as it is generated, then the
final one with the reason, the context and the timings; merged into one for `stream: false`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from ..answers.compose import Ask
from ..answers.transcript import Transcript
from ..serving.encoding import go_json
from ..simulation.generation import Generation
from .wire import created_at


def context_tokens(ask: Ask, transcript: Transcript, prompt_tokens: int) -> list[int]:
    """The `context` of a generate answer: the prompt's tokens and the answer's but the last (as Ollama's)."""
    count = max(1, prompt_tokens + len(transcript.tokens) - 1)
    seed = hashlib.sha256(f"{ask.model}\0{ask.text}".encode()).digest()
    return [256 + (seed[index % len(seed)] * 131 + index * 7919) % 32000 for index in range(count)]


def generate_chunks(
    generation: Generation, ask: Ask, transcript: Transcript, prompt_tokens: int, *, raw: bool = False
) -> Iterator[dict[str, Any]]:
    """The objects of a generate answer as the tokens come (tool calls are not generate's)."""
    for token, moment in generation.run(transcript, prompt_tokens):
        if token.kind == "tool_call":
            continue
        chunk: dict[str, Any] = {"model": ask.model, "created_at": created_at(moment), "response": ""}
        if token.kind == "thinking":
            chunk["thinking"] = token.text
        else:
            chunk["response"] = token.text
        yield chunk | {"done": False}
    final: dict[str, Any] = {
        "model": ask.model,
        "created_at": created_at(generation.now()),
        "response": "",
        "done": True,
        "done_reason": transcript.done_reason,
    }
    if not raw:  # a raw prompt has no template, and Ollama sends no context for it
        final["context"] = context_tokens(ask, transcript, prompt_tokens)
    yield final | generation.metrics(prompt_tokens, transcript.eval_count)


def chat_chunks(
    generation: Generation, ask: Ask, transcript: Transcript, prompt_tokens: int
) -> Iterator[dict[str, Any]]:
    """The objects of a chat answer as the tokens come; each tool call arrives in a chunk of its own."""
    for token, moment in generation.run(transcript, prompt_tokens):
        message: dict[str, Any] = {"role": "assistant", "content": token.text if token.kind == "content" else ""}
        if token.kind == "thinking":
            message["thinking"] = token.text
        if token.call is not None:
            message["tool_calls"] = [dict(token.call)]
        yield {"model": ask.model, "created_at": created_at(moment), "message": message, "done": False}
    yield {
        "model": ask.model,
        "created_at": created_at(generation.now()),
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": transcript.done_reason,
    } | generation.metrics(prompt_tokens, transcript.eval_count)


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


def ndjson_lines(chunks: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """Stream the chunks, one compact JSON object per line."""
    for chunk in chunks:
        yield go_json(chunk) + b"\n"
