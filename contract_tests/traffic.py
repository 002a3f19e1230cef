"""Judging traffic as it passes (`ollama-contract proxy`): each answer by verify's rules, and the
lifecycle the traffic shows (a loaded model must be listed, an unloaded one must leave `/api/ps`).

Nothing here sends a request: only what the app asked and the server answered is judged.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cache, lru_cache
from typing import Any

from ollama_contract_kit.openapi import load_document
from ollama_contract_kit.openapi.durations import FOREVER_SECONDS, KeepAliveError, parse_keep_alive
from ollama_contract_kit.openapi.names import parse_model_name
from ollama_contract_kit.openapi.releases import Version, has
from ollama_contract_kit.openapi.timestamps import parse_timestamp
from ollama_contract_kit.openapi.validation import validator_at

from .rules import DEFAULT_EXPIRY_GRACE_SECONDS, content_type_problem, ps_problems, server_time

#: Routes whose answers say a model was used, and so must be listed by the next `/api/ps`.
_USING = {"/api/generate", "/api/chat", "/api/embed", "/api/embeddings"}
#: How far `expires_at` may be from the answer's time plus the keep-alive asked for.
EXPIRY_TOLERANCE_SECONDS = 5.0


@dataclass(frozen=True)
class Exchange:
    """One request the app sent and the answer the server gave, as they passed."""

    method: str
    path: str
    request_body: bytes
    status: int
    headers: dict[str, str]
    body: bytes
    started: float  # monotonic seconds
    finished: float


@dataclass(frozen=True)
class Violation:
    """One broken rule: whose mistake (`server` or `app`), on which request, which rule, and the evidence."""

    side: str
    method: str
    path: str
    rule: str
    evidence: str

    def line(self) -> str:
        """One line for the console."""
        return f"[{self.side}] {self.method} {self.path}: {self.rule}: {self.evidence}"


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


def model_key(name: str) -> str:
    """A model name's identity, as Ollama matches names (`llama3.2` is `registry.ollama.ai/library/llama3.2:latest`)."""
    parsed = parse_model_name(name.strip())
    return parsed.key if parsed is not None else name.strip().lower()


#: The contract's documents of the routes an app calls: Ollama's native API and its /v1 layer.
_DOCUMENTS = ("ollama", "openai")


@cache
def _operations() -> list[tuple[re.Pattern[str], str, str, str]]:
    """(path pattern, method, document, JSON pointer of the operation) for every operation of the contract."""
    found = []
    for document in _DOCUMENTS:
        for template, item in load_document(document)["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(template)) + "$")
            pointer = "/paths/" + template.replace("~", "~0").replace("/", "~1")
            found += [
                (pattern, method.upper(), document, f"{pointer}/{method}") for method in item if method != "parameters"
            ]
    return found


def _response_schema(method: str, path: str, status: int, media: str) -> tuple[str, str] | None:
    """The document and JSON pointer of the schema the contract gives this answer, if it gives one."""
    for pattern, operation_method, document, pointer in _operations():
        if operation_method == method and pattern.match(path):
            operation: Any = load_document(document)
            for part in pointer.split("/")[1:]:
                operation = operation[part.replace("~1", "/").replace("~0", "~")]
            content = operation.get("responses", {}).get(str(status), {}).get("content", {})
            if media in content and "schema" in content[media]:
                return document, f"{pointer}/responses/{status}/content/{media.replace('/', '~1')}/schema"
            return None
    return None


class TrafficJudge:
    """Judges exchanges one by one (thread-safe); `judge` returns the violations each one shows."""

    def __init__(self, version: Version | None, grace_seconds: float = DEFAULT_EXPIRY_GRACE_SECONDS) -> None:
        self.version = version
        self.grace_seconds = grace_seconds
        self.tally = Tally()
        self._lock = threading.RLock()  # _count takes it too, from inside the lifecycle's hold
        self._expected: dict[str, _Expected] = {}
        self._unloaded: dict[str, tuple[str, float]] = {}

    def judge(self, exchange: Exchange) -> list[Violation]:
        """Every rule `exchange` breaks, the app's and the server's; the lifecycle state moves on."""
        found = self._request_mistakes(exchange) + self._answer_problems(exchange)
        with self._lock:
            found += self._lifecycle(exchange)
            self.tally.exchanges += 1
            self.tally.violations += found
        return found

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
        native = exchange.path.startswith("/api/")
        problems: list[tuple[str, str]] = []
        media = exchange.headers.get("content-type", "").partition(";")[0].strip().lower()
        if native and media != "application/x-ndjson" and (exchange.body or exchange.status >= 400):
            rule = "content type as Ollama's"
            self._count(rule)
            problem = content_type_problem(exchange.status, exchange.headers.get("content-type"), exchange.body)
            if problem is not None:
                problems.append((rule, problem))
        # JSON and NDJSON bodies are judged whole; an SSE stream's events are not JSON documents.
        json_media = media in ("application/json", "application/x-ndjson")
        schema = _response_schema(exchange.method, exchange.path, exchange.status, media) if json_media else None
        if schema is not None:
            rule = f"answer matches the contract's schema for {exchange.status}"
            self._count(rule)
            problems += [(rule, problem) for problem in _schema_problems(*schema, exchange.body, media)]
        if exchange.method == "GET" and exchange.path == "/api/ps" and exchange.status == 200:
            rule = "/api/ps rules (names, sizes, order, expiry)"
            self._count(rule)
            body = _json_object(exchange.body)
            now = server_time(exchange.headers.get("date"))
            for problem in ps_problems(body, now=now, grace_seconds=self.grace_seconds, version=self.version):
                problems.append((rule, problem))
        return [Violation("server", exchange.method, exchange.path, rule, evidence) for rule, evidence in problems]

    # -- the lifecycle ----------------------------------------------------------------------------

    def _lifecycle(self, exchange: Exchange) -> list[Violation]:
        if exchange.status != 200:
            return []
        if exchange.path in _USING and exchange.method == "POST":
            return self._note_use(exchange)
        if exchange.method == "GET" and exchange.path == "/api/ps":
            body = _json_object(exchange.body)
            models = body.get("models") if body else None
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
        answer = _last_json_line(exchange.body) or {}
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
        if exchange.path not in ("/api/generate", "/api/chat") or not nothing_asked:
            return []
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
    try:
        value = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _last_json_line(raw: bytes) -> dict[str, Any] | None:
    lines = [line for line in raw.splitlines() if line.strip()]
    return _json_object(lines[-1]) if lines else None


def _timestamp(value: Any) -> datetime | None:
    try:
        return parse_timestamp(str(value)).astimezone(timezone.utc)
    except ValueError:
        return None


@cache
def _validator(document: str, pointer: str) -> Any:
    return validator_at(document, pointer)


@lru_cache(maxsize=256)
def _schema_problems(document: str, pointer: str, body: bytes, media: str) -> list[str]:
    """The schema's problems with a JSON answer, or with an NDJSON stream read as an array (as the contract does).

    Cached: an app polling `/api/ps` gets the same bytes again and again."""
    try:
        if media == "application/x-ndjson":
            value: Any = [json.loads(line) for line in body.splitlines() if line.strip()]
        else:
            value = json.loads(body)
    except (ValueError, RecursionError):
        return [f"not JSON: {body[:120]!r}"]
    return [str(problem) for problem in _validator(document, pointer).problems(value)]
