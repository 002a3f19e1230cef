"""Judging traffic as it passes (`ollama-contract proxy`): each answer by verify's rules, and the
lifecycle the traffic shows (a loaded model must be listed, an unloaded one must leave `/api/ps`).

Nothing here sends a request: only what the app asked and the server answered is judged.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ollama_contract_kit.openapi.durations import FOREVER_SECONDS, KeepAliveError, parse_keep_alive
from ollama_contract_kit.openapi.names import parse_model_name
from ollama_contract_kit.openapi.releases import Version, has
from ollama_contract_kit.openapi.timestamps import parse_timestamp

from .answers import AnswerBody, declared_statuses
from .rules import DEFAULT_EXPIRY_GRACE_SECONDS, content_type_problem, ps_problems, server_time, status_problem

#: Routes whose answers say a model was used, and so must be listed by the next `/api/ps`.
_USING = {"/api/generate", "/api/chat", "/api/embed", "/api/embeddings"}
_VERDICTS_KEPT = 256
#: How far `expires_at` may be from the answer's time plus the keep-alive asked for.
EXPIRY_TOLERANCE_SECONDS = 5.0


#: Control characters other than tab and line feed: shown escaped (XML reports cannot hold them).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def printable(text: str) -> str:
    """`text` safe for any console or report: lone surrogates and control characters backslash-escaped."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return _CONTROL.sub(lambda found: f"\\x{ord(found.group()):02x}", text)


@dataclass(frozen=True)
class Exchange:
    """One request the app sent and the answer the server gave, as they passed.

    `request_body` is empty when the body was too large to keep; `cut` says why the answer did not
    arrive whole (the upstream broke off), None when it did.
    """

    method: str
    path: str
    request_body: bytes
    status: int
    headers: dict[str, str]
    answer: AnswerBody
    started: float  # monotonic seconds
    finished: float
    cut: str | None = None


@dataclass(frozen=True)
class Violation:
    """One broken rule: whose mistake (`server` or `app`), on which request, which rule, and the evidence."""

    side: str
    method: str
    path: str
    rule: str
    evidence: str

    def line(self) -> str:
        """One line for the console and the reports (any odd character escaped)."""
        return printable(f"[{self.side}] {self.method} {self.path}: {self.rule}: {self.evidence}")


@dataclass
class _Expected:
    model: str
    since: float
    answered_at: datetime | None
    keep_alive: float | None


@dataclass
class Tally:
    """What was judged: exchanges, violations, and how often each rule was checked."""

    exchanges: int = 0
    violations: list[Violation] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    #: `[proxy]` lines: answers the upstream broke off or never gave, answers too large to judge.
    faults: list[str] = field(default_factory=list)
    not_judged: list[str] = field(default_factory=list)


def model_key(name: str) -> str:
    """A model name's identity, as Ollama matches names (`llama3.2` is `registry.ollama.ai/library/llama3.2:latest`)."""
    parsed = parse_model_name(name.strip())
    return parsed.key if parsed is not None else name.strip().lower()


class TrafficJudge:
    """Judges exchanges one by one (thread-safe); `judge` returns the violations each one shows."""

    def __init__(self, version: Version | None, grace_seconds: float = DEFAULT_EXPIRY_GRACE_SECONDS) -> None:
        self.version = version
        self.grace_seconds = grace_seconds
        self.tally = Tally()
        self._lock = threading.RLock()  # _count takes it too, from inside the lifecycle's hold
        self._expected: dict[str, _Expected] = {}
        #: Verdicts of small answers by digest (and Date): an app polling `/api/ps` gets the same bytes.
        self._verdicts: OrderedDict[tuple[Any, ...], tuple[list[str], list[tuple[str, str]]]] = OrderedDict()
        self._unloaded: dict[str, tuple[str, float]] = {}

    def judge(self, exchange: Exchange) -> list[Violation]:
        """Every rule `exchange` breaks, the app's and the server's; the lifecycle state moves on."""
        return self.judge_use(exchange) + self.judge_answer(exchange)

    def judge_use(self, exchange: Exchange) -> list[Violation]:
        """The app's request and the lifecycle (before the app has the answer, so its next request sees it)."""
        found = self._request_mistakes(exchange)
        with self._lock:
            if exchange.cut is None:
                found += self._lifecycle(exchange)
            self.tally.exchanges += 1
            self.tally.violations += found
        return found

    def judge_answer(self, exchange: Exchange) -> list[Violation]:
        """The answer's rules (for a large answer: once its body is settled, after the app has it)."""
        found = self._answer_problems(exchange)
        with self._lock:
            self.tally.violations += found
        return found

    def note(self, line: str, fault: bool) -> None:
        """Record a `[proxy]` line: an upstream fault (`fault`), or an answer passed on without judging."""
        with self._lock:
            (self.tally.faults if fault else self.tally.not_judged).append(printable(line))

    # -- the app's side ---------------------------------------------------------------------------

    def _request_mistakes(self, exchange: Exchange) -> list[Violation]:
        data = _json_object(exchange.request_body)
        if data is None or "keep_alive" not in data or not exchange.path.startswith("/api/"):
            return []
        self._count("keep_alive is one Ollama accepts")
        try:
            parse_keep_alive(data["keep_alive"])
        except KeepAliveError as refused:
            evidence = f'keep_alive {data["keep_alive"]!r} is refused by Ollama ({refused}); send -1 or "-1m"'
            return [Violation("app", exchange.method, exchange.path, "keep_alive is one Ollama accepts", evidence)]
        return []

    # -- the server's side ------------------------------------------------------------------------

    def _answer_problems(self, exchange: Exchange) -> list[Violation]:
        if exchange.method == "HEAD" or exchange.status in (204, 301, 307):
            return []
        digest = exchange.answer.digest if exchange.cut is None else None
        headers = exchange.headers
        key = (
            exchange.method,
            exchange.path,
            exchange.status,
            headers.get("content-type"),
            digest,
            headers.get("date"),
        )
        verdict = self._verdicts.get(key) if digest is not None else None
        if verdict is None:
            verdict = self._answer_verdict(exchange)
            if digest is not None:
                self._verdicts[key] = verdict
                if len(self._verdicts) > _VERDICTS_KEPT:
                    self._verdicts.popitem(last=False)
        counted, problems = verdict
        for rule in counted:
            self._count(rule)
        return [Violation("server", exchange.method, exchange.path, rule, evidence) for rule, evidence in problems]

    def _answer_verdict(self, exchange: Exchange) -> tuple[list[str], list[tuple[str, str]]]:
        """The rules an answer was judged by, and what it broke (a function of the answer and its Date)."""
        answer, status = exchange.answer, exchange.status
        counted: list[str] = []
        problems: list[tuple[str, str]] = []
        content_type = exchange.headers.get("content-type")
        media = (content_type or "").partition(";")[0].strip().lower()
        empty = answer.size == 0 and content_type is None  # Ollama's AbortWithStatus: no body, no type
        start = (answer.whole or b"{").lstrip()[:1]
        router_page = status in (404, 405) and media == "text/plain" and start not in (b"{", b"[")
        declared = declared_statuses(exchange.method, exchange.path)
        if declared is not None:
            counted.append(rule := "a status the contract declares for the route")
            problem = status_problem(exchange.method, exchange.path, status, declared, router_page, empty, self.version)
            problems += [(rule, problem)] if problem is not None else []
        if exchange.path.startswith("/api/") and media != "application/x-ndjson" and not empty:
            counted.append(rule := "content type as Ollama's")
            problem = content_type_problem(status, content_type, answer.whole or b"{")
            problems += [(rule, problem)] if problem is not None else []
        if answer.schema is not None and answer.not_judged is None:
            counted.append(rule := f"answer matches the contract's schema for {status}")
            problems += [(rule, problem) for problem in answer.problems]
        if exchange.method == "GET" and exchange.path == "/api/ps" and status == 200 and exchange.cut is None:
            counted.append(rule := "/api/ps rules (names, sizes, order, expiry)")
            body = answer.final if isinstance(answer.final, dict) else None
            now = server_time(exchange.headers.get("date"))
            problems += [
                (rule, problem)
                for problem in ps_problems(body, now=now, grace_seconds=self.grace_seconds, version=self.version)
            ]
        return counted, problems

    # -- the lifecycle ----------------------------------------------------------------------------

    def _lifecycle(self, exchange: Exchange) -> list[Violation]:
        if exchange.status != 200:
            return []
        if exchange.path in _USING and exchange.method == "POST":
            return self._note_use(exchange)
        if exchange.method == "GET" and exchange.path == "/api/ps" and (self._expected or self._unloaded):
            body = exchange.answer.final
            models = body.get("models") if isinstance(body, dict) else None
            if isinstance(models, list):
                return self._check_listing(exchange, [model for model in models if isinstance(model, dict)])
        return []

    def _note_use(self, exchange: Exchange) -> list[Violation]:
        request = _json_object(exchange.request_body) or {}
        name = request.get("model")
        if not isinstance(name, str) or not name:
            return []
        try:
            keep_alive = parse_keep_alive(request.get("keep_alive"))
        except KeepAliveError:
            return []
        key = model_key(name)
        answer = exchange.answer.final if isinstance(exchange.answer.final, dict) else {}
        found = self._reason_problem(exchange, request, answer, keep_alive)
        if keep_alive == 0:
            self._expected.pop(key, None)
            self._unloaded[key] = (name, exchange.finished)
            return found
        for other in [other for other in self._expected if other != key]:
            del self._expected[other]  # loading another model may evict it: judge only the latest
        self._unloaded.pop(key, None)
        answered_at = _timestamp(answer.get("created_at"))
        self._expected[key] = _Expected(name, exchange.finished, answered_at, keep_alive)
        return found

    def _reason_problem(
        self, exchange: Exchange, request: dict[str, Any], answer: dict[str, Any], keep_alive: float | None
    ) -> list[Violation]:
        """A load or unload (nothing to answer) says so in `done_reason`, from the release that does."""
        nothing_asked = not request.get("prompt") and not request.get("messages")
        if exchange.path not in ("/api/generate", "/api/chat") or not nothing_asked or not answer:
            return []  # (an empty `answer`: too large to read before the app has it; a load's answer is small)
        rule = "a load or unload answer says so (done_reason)"
        self._count(rule)
        wanted = "unload" if keep_alive == 0 and has(self.version, "unload_reason") else "load"
        if answer.get("done_reason") == wanted and answer.get("done") is True:
            return []
        evidence = f"expected done true and done_reason {wanted!r}, got {json.dumps(answer)[:200]}"
        return [Violation("server", exchange.method, exchange.path, rule, evidence)]

    def _check_listing(self, exchange: Exchange, models: list[dict[str, Any]]) -> list[Violation]:
        listed = {model_key(str(model.get("name", ""))): model for model in models}
        found: list[Violation] = []
        for key, expected in list(self._expected.items()):
            if exchange.started < expected.since:
                continue  # this listing was asked for before the model's answer came
            del self._expected[key]
            rule = "a model just used is listed by the next /api/ps"
            self._count(rule)
            entry = listed.get(key)
            if entry is None:
                found.append(
                    Violation(
                        "server", "GET", "/api/ps", rule, f"{expected.model} was used, but /api/ps does not list it"
                    )
                )
                continue
            problem = self._expiry_problem(expected, entry)
            if problem is not None:
                self._count("expires_at matches the keep-alive asked for")
                found.append(
                    Violation("server", "GET", "/api/ps", "expires_at matches the keep-alive asked for", problem)
                )
        for key, (name, since) in list(self._unloaded.items()):
            if exchange.started < since:
                continue
            if key not in listed:
                del self._unloaded[key]
                self._count("an unloaded model leaves /api/ps")
            elif exchange.started - since > self.grace_seconds:
                del self._unloaded[key]
                self._count("an unloaded model leaves /api/ps")
                late = exchange.started - since
                found.append(
                    Violation(
                        "server",
                        "GET",
                        "/api/ps",
                        "an unloaded model leaves /api/ps",
                        f"{name} is still listed {late:.1f} s after its unload (grace {self.grace_seconds:g} s)",
                    )
                )
        return found

    def _expiry_problem(self, expected: _Expected, entry: dict[str, Any]) -> str | None:
        if expected.keep_alive is None or expected.answered_at is None:
            return None
        actual = _timestamp(entry.get("expires_at"))
        if actual is None:
            return None
        if expected.keep_alive >= FOREVER_SECONDS:
            if actual.year - expected.answered_at.year >= 200:
                return None
            return f"{expected.model} was asked to stay forever, but expires_at is {entry.get('expires_at')}"
        wanted = expected.answered_at + timedelta(seconds=expected.keep_alive)
        if abs((actual - wanted).total_seconds()) <= EXPIRY_TOLERANCE_SECONDS:
            return None
        return (
            f"{expected.model}: expires_at {entry.get('expires_at')} should be the answer's time "
            f"{expected.answered_at.isoformat()} plus keep_alive {expected.keep_alive:g} s "
            f"(±{EXPIRY_TOLERANCE_SECONDS:g} s)"
        )

    def _count(self, rule: str) -> None:
        with self._lock:
            self.tally.checked[rule] += 1


def _json_object(raw: bytes) -> dict[str, Any] | None:
    """A request's JSON object as Ollama reads it: Go's decoder takes invalid UTF-8 as U+FFFD."""
    try:
        value = json.loads(raw.decode("utf-8", "replace")) if raw.strip() else None
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _timestamp(value: Any) -> datetime | None:
    try:
        return parse_timestamp(str(value)).astimezone(timezone.utc)
    except ValueError:
        return None
