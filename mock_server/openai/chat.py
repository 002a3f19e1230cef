"""A /v1 request once its middleware has translated it into Ollama's chat request, answered as ChatHandler does.

The Responses, Messages and transcription routes hand `answer` what their middleware hands
ChatHandler. It checks the model and what the request needs of it, schedules a runner (with the
server's keep-alive: a /v1 request cannot set one), asks the answerer for the reply, and gives
back the native chat chunks, paced on the mock's clock; each route writes them in its own format.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..answers.conversation import read_conversation
from ..answers.transcript import count_prompt_tokens, transcribe
from ..native.chunks import chat_chunks, merge_chunks
from ..native.common import Refused, installed_model
from ..native.inference import (
    NO_VISION_CHAT,
    InvalidFormat,
    ask_for,
    check_capabilities,
    fitted_prompt,
    format_value,
    schedule,
    scripted_or_default,
)
from ..native.wire import created_at
from ..simulation.generation import Generation
from .routes import read_options_or_refuse

#: What llama-server answers (and Ollama relays) when a model that cannot hear is given audio.
NO_AUDIO = (
    '{"error":{"code":500,"message":"audio input is not supported - hint: if this is unexpected, you may need to '
    'provide the mmproj","type":"server_error"}}'
)


@dataclass(frozen=True)
class ChatRequest:
    """Ollama's chat request as a /v1 middleware builds it."""

    model: str  # as the client named it (answers echo it)
    messages: tuple[Mapping[str, Any], ...]  # each with `role` and `content` (text), as translated
    options: Mapping[str, Any] = field(default_factory=dict)
    tools: tuple[Mapping[str, Any], ...] = ()  # native tools: {"type", "function": {"name", ...}}
    format: Any = None  # None, "json" or a JSON Schema
    think: bool | str | None = None
    images: int = 0
    audio: int = 0
    relax_thinking: bool = False  # /v1/messages: a model that cannot think ignores `thinking`


@dataclass
class ChatAnswer:
    """The answer in Ollama's native chat chunks, and the runner that produces them (close it when done)."""

    generation: Generation
    chunks: Iterator[dict[str, Any]]

    def whole(self) -> dict[str, Any]:
        """The answer as `stream: false` gives it (one chunk); the runner is handed back."""
        try:
            return merge_chunks(list(self.chunks))
        finally:
            self.generation.close()


def answer(chat: ChatRequest) -> ChatAnswer:
    """Schedule the model and start answering `chat`: Refused with ChatHandler's status and text when it cannot."""
    model = installed_model(chat.model, unnamed=(400, "model is required"), not_found=f"model '{chat.model}' not found")
    think = chat.think
    if chat.relax_thinking and think not in (None, False) and not model.can("thinking"):
        think = None  # ChatHandler's `relax_thinking`: tools like Claude Code always ask for thinking
    check_capabilities(model, chat.model, "chat", think=think, tools=chat.tools, suffix=None)
    generation = schedule(model, read_options_or_refuse(model, dict(chat.options)), None)
    if not chat.messages:  # nothing to answer: ChatHandler's load answer
        done = {
            "model": chat.model,
            "created_at": created_at(generation.now()),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "load",
        }
        return ChatAnswer(generation, iter([done]))
    try:
        return ChatAnswer(generation, _generated(chat, model, think, generation))
    except Exception:
        generation.close()
        raise


def _generated(chat: ChatRequest, model: Any, think: Any, generation: Generation) -> Iterator[dict[str, Any]]:
    try:
        wanted_format = format_value(chat.format)
    except InvalidFormat as invalid:
        raise Refused(500, str(invalid)) from None
    if chat.audio and not model.can("audio"):
        raise Refused(500, NO_AUDIO)
    if chat.images and not model.can("vision"):
        raise Refused(500, NO_VISION_CHAT)
    conversation = read_conversation(
        (str(message.get("role") or ""), str(message.get("content") or ""), message.get("tool_calls"))
        for message in chat.messages
    )
    ask = ask_for(
        model, chat.model, conversation, think, chat.images, format=wanted_format, tools=chat.tools
    )  # fmt: skip
    prompt_tokens = fitted_prompt(count_prompt_tokens(conversation.texts, len(chat.messages)), generation, shift=True)
    predict = generation.options.predict
    reply = scripted_or_default(ask)  # the one place a /v1 request translated onto chat gets its reply
    transcript = transcribe(
        reply, predict.num_predict, predict.stop, structured=wanted_format is not None, context=generation.context
    )
    return chat_chunks(generation, ask, transcript, prompt_tokens)
