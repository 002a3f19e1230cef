"""Short, deterministic answers in Ollama's generate and chat shapes, streamed or not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..serving.encoding import go_json

_NANOSECONDS_PER_WORD = 25_000_000


def answer_words(model: str, text: str) -> list[str]:
    """The answer's chunks: the same prompt to the same model always gives the same words."""
    words = text.split()
    echo = " ".join(words[:8]) + ("…" if len(words) > 8 else "")
    sentence = f"Mock answer from {model} to: {echo}" if echo else f"Mock answer from {model}."
    parts = sentence.split(" ")
    return [part + (" " if index < len(parts) - 1 else "") for index, part in enumerate(parts)]


def _metrics(prompt: str, words: list[str]) -> dict[str, Any]:
    prompt_tokens = max(1, len(prompt.split()))
    return {
        "total_duration": (len(words) + prompt_tokens) * _NANOSECONDS_PER_WORD + 1_000_000,
        "load_duration": 1_000_000,
        "prompt_eval_count": prompt_tokens,
        "prompt_eval_duration": prompt_tokens * _NANOSECONDS_PER_WORD,
        "eval_count": len(words),
        "eval_duration": len(words) * _NANOSECONDS_PER_WORD,
    }


def generate_chunks(model: str, prompt: str, created_at: str) -> list[dict[str, Any]]:
    """The objects of a generate answer; the last one carries done, the reason and the metrics."""
    words = answer_words(model, prompt)
    chunks: list[dict[str, Any]] = [
        {"model": model, "created_at": created_at, "response": word, "done": False} for word in words
    ]
    final = {"model": model, "created_at": created_at, "response": "", "done": True, "done_reason": "stop"}
    final["context"] = list(range(1, len(words) + 1))
    chunks.append(final | _metrics(prompt, words))
    return chunks


def chat_chunks(model: str, last_message: str, created_at: str) -> list[dict[str, Any]]:
    """The objects of a chat answer."""
    words = answer_words(model, last_message)
    chunks: list[dict[str, Any]] = [
        {"model": model, "created_at": created_at, "message": {"role": "assistant", "content": word}, "done": False}
        for word in words
    ]
    final = {
        "model": model,
        "created_at": created_at,
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
    }
    chunks.append(final | _metrics(last_message, words))
    return chunks


def merge_chunks(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The single object of a `stream: false` answer: all text in one, the final fields kept."""
    merged = dict(chunks[-1])
    if "response" in merged:
        merged["response"] = "".join(chunk["response"] for chunk in chunks)
    else:
        merged["message"] = {"role": "assistant", "content": "".join(c["message"]["content"] for c in chunks)}
    return merged


def ndjson_lines(chunks: list[dict[str, Any]]) -> Iterator[bytes]:
    """Stream the chunks, one compact JSON object per line."""
    for chunk in chunks:
        yield go_json(chunk) + b"\n"
