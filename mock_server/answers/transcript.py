"""How a reply comes out of the model: token by token, until it ends, hits `num_predict`, or meets a `stop` text.

The mock's tokens are words (each with the space after it), pieces of 12 characters of a JSON answer,
a tool call's JSON in such pieces, or the pieces a (recorded) reply names, one token each. As on
Ollama (llama-server), `num_predict` ends the answer after that many tokens with `done_reason:
"length"` (-1 or 0: at most ten times the context), and a `stop` text ends it where the text begins,
without the stop text, with `done_reason: "stop"`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .compose import Reply

_JSON_PIECE = 12  # characters of a JSON answer (or a tool call) per token


@dataclass(frozen=True)
class Token:
    """One token the model emits: thinking, content, or a whole tool call (which counts `cost` tokens)."""

    kind: str  # "thinking", "content" or "tool_call"
    text: str = ""
    call: Mapping[str, Any] | None = None
    cost: int = 1


@dataclass(frozen=True)
class Transcript:
    """The tokens the model emitted, why it stopped, and how fast (None: the mock's pace)."""

    tokens: tuple[Token, ...]
    done_reason: str  # "stop" or "length" (or what a scripted reply says)
    delay_seconds: float = 0.0
    tokens_per_second: float | None = None
    #: The count a (recorded) reply says it took, reported instead of the tokens counted.
    reported_count: int | None = None

    @property
    def eval_count(self) -> int:
        """Tokens generated (at least one: the end of the answer is a token too), or the count the reply says."""
        return self.reported_count or max(1, sum(token.cost for token in self.tokens))

    def text(self, kind: str) -> str:
        """All the text of one kind (`content` or `thinking`)."""
        return "".join(token.text for token in self.tokens if token.kind == kind)

    @property
    def tool_calls(self) -> list[Mapping[str, Any]]:
        """The tool calls that were completed."""
        return [token.call for token in self.tokens if token.call is not None]


def pieces(text: str, structured: bool = False) -> list[str]:
    """How a text streams: word by word (a space after each but the last), or fixed-size pieces of JSON."""
    if not text:
        return []
    if structured:
        return [text[start : start + _JSON_PIECE] for start in range(0, len(text), _JSON_PIECE)]
    parts = text.split(" ")
    return [part + (" " if index < len(parts) - 1 else "") for index, part in enumerate(parts)]


def count_prompt_tokens(texts: Iterable[str], messages: int = 0) -> int:
    """The tokens of a prompt: the start token, a token a word, and four a chat message for its role markers."""
    return 1 + sum(len(text.split()) for text in texts) + 4 * messages


def _cut_at_stop(parts: Sequence[str], stops: Iterable[str]) -> tuple[list[str], bool]:
    """The pieces before the first stop text (the piece it starts in cut short), and whether one was met."""
    text = "".join(parts)
    found = [index for index in (text.find(stop) for stop in stops if stop) if index >= 0]
    if not found:
        return list(parts), False
    end, kept, position = min(found), [], 0
    for part in parts:
        if position >= end:
            break
        kept.append(part[: end - position])
        position += len(part)
    return [part for part in kept if part], True


def _in_chunks(text: str, chunks: int) -> list[str]:
    """`text` in `chunks` pieces of about the same length (fewer when it is shorter)."""
    size = max(1, -(-len(text) // chunks))
    return [text[start : start + size] for start in range(0, len(text), size)]


def _cost(part: str, *, chunked: bool) -> int:
    """Tokens a piece counts for: one a word, one a piece of a word-by-word or JSON answer."""
    return max(1, len(part.split())) if chunked else 1


def _content_pieces(reply: Reply, structured: bool) -> list[str]:
    """The content's pieces: the explicit ones, `chunks` of about the same length, or the model's own."""
    if isinstance(reply.chunks, tuple):
        return list(reply.chunks)
    return _in_chunks(reply.content, reply.chunks) if reply.chunks else pieces(reply.content, structured)


def transcribe(reply: Reply, num_predict: int, stops: Sequence[str], *, structured: bool, context: int) -> Transcript:
    """The tokens of `reply` as the model emits them under `num_predict` and `stops` (`context` bounds -1).
    Explicit pieces (recorded ones) count one token each."""
    thought = list(reply.thinking_chunks) if reply.thinking_chunks is not None else pieces(reply.thinking)
    thinking, stopped = _cut_at_stop(thought, stops)
    content: list[str] = []
    calls: list[Token] = []
    if not stopped:
        content, stopped = _cut_at_stop(_content_pieces(reply, structured), stops)
    if not stopped:
        calls = [
            Token("tool_call", call=call, cost=len(pieces(json.dumps(call), structured=True)))
            for call in reply.tool_calls
        ]
    tokens = [Token("thinking", part) for part in thinking]
    by_words = isinstance(reply.chunks, int)
    tokens += [Token("content", part, cost=_cost(part, chunked=by_words)) for part in content] + calls
    budget = num_predict if num_predict > 0 else 10 * context
    kept: list[Token] = []
    spent = 0
    ended = "stop"
    for token in tokens:
        if spent + token.cost > budget:
            ended = "length"
            break
        kept.append(token)
        spent += token.cost
    else:
        ended = "length" if spent >= budget else "stop"
    reason = reply.done_reason if reply.done_reason and ended == "stop" else ended
    reported = reply.eval_count if len(kept) == len(tokens) else None  # num_predict ended it sooner: counted
    return Transcript(tuple(kept), reason, reply.delay_seconds, reply.tokens_per_second, reported)
