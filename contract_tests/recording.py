"""`ollama-contract proxy --record FILE`: what the upstream answered, written as a world the mock replays.

When the proxy starts, the world is recorded with read-only requests, as `ollama-mock record` does
(`/api/tags`, `/api/show` of each model, `/api/ps`, `/api/version`). Each complete answer of a
generating route becomes a reply rule matching the same request (its route and fingerprint). On stop,
`/api/ps` is read once more for the footprints of the models loaded meanwhile, and the file is written
whole or not at all. Nothing secret is written: no header, request bodies only as fingerprints, and
every text (answers, the world) with the configured secrets and the app's secret header values masked.

The same request answered alike every time is one rule; answered differently, one rule per answer
in order, each but the last with the `times` it was given (the last answers for ever).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ollama_contract_kit.client import OllamaClient
from ollama_contract_kit.client.errors import OllamaClientError
from ollama_contract_kit.commandline.headers import is_secret_header, mask_text
from ollama_contract_kit.mock_server.answers.fingerprint import request_fingerprint
from ollama_contract_kit.mock_server.answers.recorded import READERS, NotRecordable, recorded_then
from ollama_contract_kit.mock_server.world.fixtures import FixtureError, build_world_document
from ollama_contract_kit.mock_server.world.record import loaded_footprint, snapshot, write_fixture

from .forwarding import JUDGED_REQUEST_BYTES
from .traffic import Exchange, model_key
from .upstream import CONNECT_TIMEOUT

#: An answer larger than this is passed on but not recorded (the proxy says so on stop).
RECORDED_BYTES = 16 * 1024 * 1024
#: Seconds each read of the upstream's world may take.
WORLD_TIMEOUT = 30.0
_SHOWN_SKIPS = 5


class RecordingError(Exception):
    """The upstream's world could not be recorded; the message says why."""


@dataclass
class _Request:
    """The answers one distinct request got, in order."""

    route: str
    answers: list[dict[str, Any]] = field(default_factory=list)


class Recorder:
    """The world recorded at the start, and the answers recorded since (thread-safe)."""

    def __init__(self, path: Path, upstream: str, headers: dict[str, str]) -> None:
        self.path = path
        self.upstream = upstream
        self.headers = headers
        self.world: dict[str, Any] = {}
        self.skipped: list[str] = []
        self._requests: dict[str, _Request] = {}
        self._secrets: set[tuple[str, str]] = {(name, value) for name, value in headers.items() if value}
        self._lock = threading.Lock()

    def start(self) -> None:
        """Record the upstream's world (RecordingError when it cannot be)."""
        try:
            with OllamaClient(self.upstream, headers=self.headers, timeout=WORLD_TIMEOUT) as client:
                self.world = snapshot(client).document
        except (OllamaClientError, FixtureError) as error:
            raise RecordingError(f"cannot record the upstream's world for --record: {error}") from None

    def tap(self, method: str, path: str, headers: Sequence[tuple[bytes, bytes]]) -> Tap | None:
        """A tap for the answer to this request when it is one to record (the app's secrets noted either way)."""
        for name, value in headers:
            if is_secret_header(name.decode("latin-1")) and value:
                with self._lock:
                    self._secrets.add((name.decode("latin-1"), value.decode("utf-8", "replace")))
        return Tap(self) if method == "POST" and path in READERS else None

    def add(self, exchange: Exchange, body: bytes) -> None:
        """Turn one complete exchange into the next answer of its request."""
        where = f"{exchange.method} {exchange.path}"
        if not exchange.request_body:
            kept = JUDGED_REQUEST_BYTES // (1024 * 1024)
            return self.skip(f"{where}: its request body was not kept (none, or over {kept} MiB)")
        if "content-encoding" in exchange.headers:
            return self.skip(f"{where}: a compressed answer")
        media = (exchange.headers.get("content-type") or "").partition(";")[0].strip().lower()
        try:
            then = recorded_then(exchange.path, exchange.status, media, body)
        except NotRecordable as why:
            return self.skip(f"{where}: {why}")
        fingerprint = request_fingerprint(exchange.path, exchange.request_body)
        with self._lock:
            self._requests.setdefault(fingerprint, _Request(exchange.path)).answers.append(then)

    def skip(self, line: str) -> None:
        """Note an answer that was not recorded, and why."""
        with self._lock:
            self.skipped.append(line)

    def rules(self) -> list[dict[str, Any]]:
        """The reply rules: per request in the order first seen, its answers in order, repeats folded into `times`."""
        rules = []
        with self._lock:
            requests = list(self._requests.items())
        for fingerprint, request in requests:
            answers = [self._masked_then(then) for then in request.answers]
            runs: list[tuple[dict[str, Any], int]] = []
            for then in answers:
                if runs and runs[-1][0] == then:
                    runs[-1] = (then, runs[-1][1] + 1)
                else:
                    runs.append((then, 1))
            for index, (then, count) in enumerate(runs):
                rule = {"when": {"route": request.route, "fingerprint": fingerprint}, "then": then}
                rules.append(rule | ({"times": count} if index < len(runs) - 1 else {}))
        return rules

    def write(self) -> str:
        """Write the world and its replies to the file (whole or not at all); one line saying what was written.
        FixtureError or OSError when it cannot be."""
        document = self._masked(self.world)  # a model made meanwhile may tell a secret in its system prompt
        self._add_footprints(document)
        rules = self.rules()
        document["replies"] = rules
        build_world_document(document, str(self.path))  # what is written is a world the mock serves
        write_fixture(document, self.path)
        with self._lock:
            answered, distinct = sum(len(request.answers) for request in self._requests.values()), len(self._requests)
        return (
            f"recorded {answered} answers to {distinct} distinct requests ({len(rules)} reply rules) "
            f"and {len(document['models'])} models to {self.path}"
        )

    def _add_footprints(self, document: dict[str, Any]) -> None:
        """The footprints `/api/ps` shows now, for the models that were not loaded at the start (best effort)."""
        try:
            with OllamaClient(self.upstream, headers=self.headers, timeout=CONNECT_TIMEOUT) as client:
                listed = client.ps()["models"]
        except OllamaClientError as error:
            self.skip(f"GET /api/ps on stop: {error} (footprints of models loaded meanwhile are estimated)")
            return
        models = {model_key(str(entry["name"])): entry for entry in document.get("models", [])}
        for item in listed:
            entry = models.get(model_key(str(item.get("name", ""))))
            if entry is not None and "loaded" not in entry:
                entry["loaded"] = loaded_footprint(item)

    def mask(self, text: str) -> str:
        """`text` with every secret seen (configured, or sent by the app) masked."""
        with self._lock:
            secrets = sorted(self._secrets, key=lambda pair: -len(pair[1]))  # longest first: none half-masked
        for name, value in secrets:
            text = mask_text(text, {name: value})
        return text

    def _masked_then(self, then: dict[str, Any]) -> dict[str, Any]:
        masked = {}
        for key, value in then.items():
            if key in ("chunks", "thinking_chunks"):
                pieces = [self.mask(piece) for piece in value]
                whole = "".join(pieces)
                masked[key] = pieces if self.mask(whole) == whole else [self.mask(whole)]  # a secret across pieces
            else:
                masked[key] = self._masked(value)
        return masked

    def _masked(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, list):
            return [self._masked(item) for item in value]
        if isinstance(value, dict):
            return {self.mask(key): self._masked(item) for key, item in value.items()}
        return value

    def skipped_lines(self) -> list[str]:
        """What was not recorded, at most a few lines, masked."""
        with self._lock:
            skipped = list(self.skipped)
        lines = [self.mask(line) for line in skipped]
        if len(lines) > _SHOWN_SKIPS:
            lines = [*lines[:_SHOWN_SKIPS], f"and {len(lines) - _SHOWN_SKIPS} more"]
        return lines


class Tap:
    """One answer as it passes, kept (up to RECORDED_BYTES) for the recorder."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._parts: list[bytes] = []
        self._size = 0

    def feed(self, piece: bytes) -> None:
        """The next piece of the answer."""
        self._size += len(piece)
        if self._size <= RECORDED_BYTES:
            self._parts.append(piece)
        else:
            self._parts = []

    def finish(self, exchange: Exchange) -> None:
        """The exchange is complete: record it (a cut answer, or one too large, is not)."""
        where = f"{exchange.method} {exchange.path}"
        if exchange.cut is not None:
            self.recorder.skip(f"{where}: the answer was cut ({exchange.cut})")
        elif self._size > RECORDED_BYTES:
            self.recorder.skip(f"{where}: an answer over {RECORDED_BYTES // (1024 * 1024)} MiB")
        else:
            self.recorder.add(exchange, b"".join(self._parts))
