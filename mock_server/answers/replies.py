"""Scripted replies: rules that say what the model answers when a request matches.

A rule has a `when` (every condition given must hold) and a `then` (what the model says, or the error
the server answers), and may be used up after `times` matches. Rules are tried in order; the first
that matches answers; when none does, the default answerer (`compose`) does. They come from a world's
`replies`, the control API (`/_mock/replies`) and the test handle (`MockOllama.reply`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ollama_contract_kit.openapi import validator_for
from ollama_contract_kit.openapi.names import parse_model_name

from .compose import Ask, Reply, compose, tool_call

#: Route families a rule may name, by the paths they cover (a rule may also name one path).
ROUTE_FAMILIES: dict[str, tuple[str, ...]] = {
    "generate": ("/api/generate", "/v1/completions"),
    "chat": ("/api/chat", "/v1/chat/completions", "/v1/responses", "/v1/messages"),
    "embed": ("/api/embed", "/api/embeddings", "/v1/embeddings"),
}


class ReplyError(ValueError):
    """A reply rule is not valid; the message names where and why."""


class ScriptedFailure(Exception):
    """A rule answers an error: the status and the error text the server sends (each API in its own shape)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class When:
    """What a request must be for a rule to answer it; None means any."""

    route: str | None = None
    model: str | None = None
    contains: str | None = None
    matches: str | None = None
    after_tool: bool | None = None
    tools: bool | str | None = None
    format: bool | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def holds_for(self, ask: Ask) -> bool:
        """True when `ask` meets every condition."""
        return (
            (self.route is None or route_matches(self.route, ask.route))
            and (self.model is None or same_model(self.model, ask.model))
            and (self.contains is None or self.contains in ask.user_text)
            and (self.matches is None or re.search(self.matches, ask.user_text) is not None)
            and (self.after_tool is None or self.after_tool == ask.after_tool)
            and _tools_hold(self.tools, ask)
            and (self.format is None or self.format == (ask.format is not None))
            and all(ask.headers.get(name.lower()) == value for name, value in self.headers.items())
        )


@dataclass(frozen=True)
class Then:
    """What the model says (or the error the server answers), and how it streams."""

    content: str = ""
    thinking: str = ""
    tool_calls: tuple[Mapping[str, Any], ...] = ()
    done_reason: str | None = None
    error: tuple[int, str] | None = None
    latency_ms: float = 0.0
    chunks: int | None = None
    tokens_per_second: float | None = None

    def reply_to(self, ask: Ask) -> Reply:
        """The reply for `ask` (tool calls get ids and indexes as the server writes them)."""
        if self.error is not None:
            raise ScriptedFailure(*self.error)
        calls = tuple(
            tool_call(ask, str(call["name"]), dict(call.get("arguments") or {}), index)
            for index, call in enumerate(self.tool_calls)
        )
        return Reply(
            content=self.content,
            thinking=self.thinking if ask.think else "",  # a model thinks only where it can and is let
            tool_calls=calls,
            done_reason=self.done_reason,
            delay_seconds=self.latency_ms / 1000,
            chunks=self.chunks,
            tokens_per_second=self.tokens_per_second,
        )


@dataclass(frozen=True)
class ReplyRule:
    """One rule: when a request matches, then this reply; `times` left (None: for ever)."""

    when: When
    then: Then
    times: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The rule as the control API and a world's `replies` write it."""
        when = {key: value for key, value in vars(self.when).items() if value is not None and value != {}}
        then: dict[str, Any] = {}
        for key, value in vars(self.then).items():
            if key == "error" and value is not None:
                then["error"] = {"status": value[0], "message": value[1]}
            elif key == "tool_calls" and value:
                then["tool_calls"] = [dict(call) for call in value]
            elif value not in (None, "", 0.0, ()):
                then[key] = value
        rule: dict[str, Any] = {"when": when, "then": then}
        return rule | ({"times": self.times} if self.times is not None else {})


def route_matches(route: str, path: str) -> bool:
    """True when `path` is the route, or one of the family's (`chat`, `generate`, `embed`, `native`, `openai`)."""
    if route == "native":
        return path.startswith("/api/")
    if route == "openai":
        return path.startswith("/v1/")
    return path in ROUTE_FAMILIES.get(route, (route,))


def same_model(wanted: str, asked: str) -> bool:
    """True when two names mean the same model, as Ollama matches names."""
    first, second = parse_model_name(wanted), parse_model_name(asked)
    return first is not None and second is not None and first.key == second.key


def _tools_hold(wanted: bool | str | None, ask: Ask) -> bool:
    if wanted is None:
        return True
    names = [str((tool.get("function") or {}).get("name") or "") for tool in ask.tools]
    if isinstance(wanted, bool):
        return wanted == bool(ask.tools)
    return wanted in names


def rule_from_json(data: Any, where: str = "reply") -> ReplyRule:
    """A rule from its JSON form, checked against the contract's `ReplyRule` schema; ReplyError names the field."""
    problems = validator_for("control", "ReplyRule").problems(data)
    if problems:
        first = problems[0]
        raise ReplyError(f"{where}{first.path.removeprefix('$')}: {first.message}")
    when_data, then_data = data.get("when") or {}, data["then"]
    if "matches" in when_data:
        try:
            re.compile(when_data["matches"])
        except re.error as error:
            raise ReplyError(f"{where}.when.matches: not a regular expression: {error}") from None
    if "model" in when_data and parse_model_name(when_data["model"]) is None:
        raise ReplyError(f"{where}.when.model: {when_data['model']!r} is not a valid Ollama model name")
    failure = then_data.get("error")
    when = When(**{key: value for key, value in when_data.items() if key != "headers"})
    when = replace(when, headers={name.lower(): value for name, value in (when_data.get("headers") or {}).items()})
    then = Then(
        content=then_data.get("content", ""),
        thinking=then_data.get("thinking", ""),
        tool_calls=tuple(dict(call) for call in then_data.get("tool_calls", ())),
        done_reason=then_data.get("done_reason"),
        error=(failure["status"], failure["message"]) if failure else None,
        latency_ms=float(then_data.get("latency_ms", 0)),
        chunks=then_data.get("chunks"),
        tokens_per_second=then_data.get("tokens_per_second"),
    )
    return ReplyRule(when=when, then=then, times=data.get("times"))


def rules_from_json(entries: Sequence[Any], where: str = "$.replies") -> tuple[ReplyRule, ...]:
    """Rules from a JSON list; ReplyError names the first bad one by its index."""
    return tuple(rule_from_json(entry, f"{where}[{index}]") for index, entry in enumerate(entries))


class ReplyBook:
    """The rules in force, shared by every request thread; the world's rules come back on reset."""

    def __init__(self, initial: tuple[ReplyRule, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._initial = initial
        self._rules = list(initial)

    def replace(self, rules: tuple[ReplyRule, ...]) -> None:
        """Make `rules` the world's rules, and the rules in force."""
        with self._lock:
            self._initial = rules
            self._rules = list(rules)

    def add(self, rule: ReplyRule) -> None:
        """Add a rule after the others (first match wins)."""
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def reset(self) -> None:
        """Back to the world's rules."""
        with self._lock:
            self._rules = list(self._initial)

    def listed(self) -> list[ReplyRule]:
        """The rules in force, in order."""
        with self._lock:
            return list(self._rules)

    def take(self, ask: Ask, *, named_route_only: bool = False) -> ReplyRule | None:
        """The first rule `ask` matches, counting down (and dropping) one with `times`; with
        `named_route_only`, only rules that name the request's route (embeddings: no text answer)."""
        with self._lock:
            for index, rule in enumerate(self._rules):
                if named_route_only and rule.when.route is None:
                    continue
                if rule.when.holds_for(ask):
                    if rule.times is not None:
                        if rule.times > 1:
                            self._rules[index] = replace(rule, times=rule.times - 1)
                        else:
                            del self._rules[index]
                    return rule
            return None


def answer(ask: Ask, book: ReplyBook) -> Reply:
    """The reply to `ask`: the first scripted rule it matches, else the default answer (ScriptedFailure
    when the rule answers an error). Every generating route asks here, so one rule answers them all."""
    rule = book.take(ask)
    return rule.then.reply_to(ask) if rule is not None else compose(ask)
