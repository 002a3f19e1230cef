"""What a conversation says about the answer it wants: the user's last words, the tools called, every text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Conversation:
    """The facts of a list of messages that decide the default answer and match scripted rules."""

    #: The last message's text, whoever wrote it (what the default answer echoes).
    last_text: str
    #: The last text of the user's (what rules match on).
    user_text: str
    #: True when the last message is a tool's result.
    after_tool: bool
    #: The tools the assistant called in it, by name.
    called: tuple[str, ...]
    #: Every message's text, in order.
    texts: tuple[str, ...]


def read_conversation(messages: Iterable[tuple[str, str, Any]]) -> Conversation:
    """The facts of `(role, text, tool_calls)` messages, oldest first."""
    roles, texts, called = [], [], []
    user_text = ""
    for role, text, calls in messages:
        role = role.lower()
        roles.append(role)
        texts.append(text)
        if role == "user":
            user_text = text
        for call in calls if isinstance(calls, list) else ():
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping) and isinstance(function.get("name"), str):
                called.append(function["name"])
    return Conversation(
        last_text=texts[-1] if texts else "",
        user_text=user_text,
        after_tool=bool(roles) and roles[-1] == "tool",
        called=tuple(called),
        texts=tuple(texts),
    )
