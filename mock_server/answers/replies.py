"""Scripted replies: rules that say what the model answers when a request matches.

A rule has a `when` (every condition given must hold) and a `then` (what the model says, or the error
the server answers), and may be used up after `times` matches. Rules are tried in order; the first
that matches answers; when none does, the default answerer (`compose`) does, or, in strict replay,
the request is refused. They come from a world's `replies` (a recording made by `ollama-contract proxy
--record` is one), the control API (`/_mock/replies`) and the test handle (`MockOllama.reply`).
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

#: What a strict replay answers a generating request no rule matches: a client error, so the OpenAI and
#: Anthropic SDKs do not retry it (they retry 408, 409, 429 and 5xx), and not 404, which apps read as
#: "the model is not installed" (some pull it then).
UNSCRIPTED_STATUS = 400

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
    fingerprint: str | None = None

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
            and (self.fingerprint is None or self.fingerprint == ask.fingerprint)
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
    #: How many pieces the content streams in, or the pieces themselves (then they make the content).
    chunks: int | tuple[str, ...] | None = None
    tokens_per_second: float | None = None
    #: The pieces the thinking streams in (then they make the thinking).
    thinking_chunks: tuple[str, ...] | None = None
    #: The tokens the answer reports (None: its pieces counted).
    eval_count: int | None = None

    def reply_to(self, ask: Ask) -> Reply:
        """The reply for `ask` (tool calls get ids and indexes as the server writes them)."""
        if self.error is not None:
            raise ScriptedFailure(*self.error)
        calls = tuple(
            tool_call(ask, str(call["name"]), dict(call.get("arguments") or {}), index)
            for index, call in enumerate(self.tool_calls)
        )
        thinks = ask.think  # a model thinks only where it can and is let
        return Reply(
            content="".join(self.chunks) if isinstance(self.chunks, tuple) else self.content,
            thinking=("".join(self.thinking_chunks or ()) or self.thinking) if thinks else "",
            tool_calls=calls,
            done_reason=self.done_reason,
            delay_seconds=self.latency_ms / 1000,
            chunks=self.chunks,
            tokens_per_second=self.tokens_per_second,
            thinking_chunks=self.thinking_chunks if thinks else None,
            eval_count=self.eval_count,
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
            elif isinstance(value, tuple) and value:
                then[key] = list(value)
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
    for pieces, whole in (("chunks", "content"), ("thinking_chunks", "thinking")):
        if isinstance(then_data.get(pieces), list) and then_data.get(whole, "".join(then_data[pieces])) != "".join(
            then_data[pieces]
        ):
            raise ReplyError(f"{where}.then.{whole}: is not the pieces of then.{pieces} joined (give one or the other)")
    failure = then_data.get("error")
    chunks = then_data.get("chunks")
    when = When(**{key: value for key, value in when_data.items() if key != "headers"})
    when = replace(when, headers={name.lower(): value for name, value in (when_data.get("headers") or {}).items()})
    then = Then(
        content=then_data.get("content", ""),
        thinking=then_data.get("thinking", ""),
        tool_calls=tuple(dict(call) for call in then_data.get("tool_calls", ())),
        done_reason=then_data.get("done_reason"),
        error=(failure["status"], failure["message"]) if failure else None,
        latency_ms=float(then_data.get("latency_ms", 0)),
        chunks=tuple(chunks) if isinstance(chunks, list) else chunks,
        tokens_per_second=then_data.get("tokens_per_second"),
        thinking_chunks=tuple(then_data["thinking_chunks"]) if "thinking_chunks" in then_data else None,
        eval_count=then_data.get("eval_count"),
    )
    return ReplyRule(when=when, then=then, times=data.get("times"))


def rules_from_json(entries: Sequence[Any], where: str = "$.replies") -> tuple[ReplyRule, ...]:
    """Rules from a JSON list; ReplyError names the first bad one by its index."""
    return tuple(rule_from_json(entry, f"{where}[{index}]") for index, entry in enumerate(entries))


class ReplyBook:
    """The rules in force, shared by every request thread; the world's rules come back on reset.
    `strict`: a generating request no rule matches is refused (strict replay) instead of answered."""

    def __init__(self, initial: tuple[ReplyRule, ...] = (), *, strict: bool = False) -> None:
        self._lock = threading.Lock()
        self._initial = initial
        self._rules = list(initial)
        self.strict = strict

    def replace(self, rules: tuple[ReplyRule, ...], *, strict: bool = False) -> None:
        """Make `rules` the world's rules, and the rules in force; `strict` as the world says."""
        with self._lock:
            self._initial = rules
            self._rules = list(rules)
            self.strict = strict

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
    when the rule answers an error, or when none matches in strict replay). Every generating route asks
    here, so one rule answers them all."""
    rule = book.take(ask)
    if rule is not None:
        return rule.then.reply_to(ask)
    if book.strict:
        raise ScriptedFailure(UNSCRIPTED_STATUS, unscripted_message(ask))
    return compose(ask)


def unscripted_message(ask: Ask) -> str:
    """Why strict replay refuses `ask`, and what to do about it."""
    return (
        f"ollama-mock strict replay: no recorded reply matches this request to {ask.route} for model {ask.model!r} "
        f"(fingerprint {ask.fingerprint}); record it with 'ollama-contract proxy --record', add a reply rule for "
        "it, or serve without --strict-replies and the world's strict_replies"
    )
