"""An answer's body judged against the contract as it passes: JSON whole (up to a size), NDJSON line by line.

Memory stays bounded whatever the answer's size: an NDJSON stream keeps one line at a time, a JSON
answer is kept whole only up to JUDGED_JSON_BYTES (above it, it is not judged, and the proxy says so);
verdicts of small bodies are cached by a digest of their bytes, never the bodies themselves.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from functools import cache
from typing import Any

from ollama_contract_kit.openapi import load_document
from ollama_contract_kit.openapi.validation import SchemaValidator, validator_at

#: A JSON answer larger than this is passed on but not judged (an NDJSON stream has no limit but its lines').
JUDGED_JSON_BYTES = 64 * 1024 * 1024
#: One NDJSON line larger than this is not judged (the rest of the stream still is).
JUDGED_LINE_BYTES = 16 * 1024 * 1024
#: A JSON body larger than this is judged off the serving loop (`settle`, in a worker thread), after the app has it.
JUDGED_INLINE_BYTES = 256 * 1024
#: A JSON body up to this size is parsed on the loop at once (the lifecycle reads `/api/ps` and generate answers).
PARSED_INLINE_BYTES = 1024 * 1024
#: The first lines of an NDJSON stream, up to this many bytes, are judged off the loop once it ends; later ones at once.
DEFERRED_LINE_BYTES = 1024 * 1024
#: Bodies up to this size have their verdict cached by digest (an app polling `/api/ps` gets the same bytes).
CACHED_BODY_BYTES = 64 * 1024
_CACHE_ENTRIES = 512
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


@cache
def operation_of(method: str, path: str) -> tuple[str, str, dict[str, Any]] | None:
    """The contract's operation for a request: (document, JSON pointer, the operation), if it has one."""
    for pattern, operation_method, document, pointer in _operations():
        if operation_method == method and pattern.match(path):
            operation: Any = load_document(document)
            for part in pointer.split("/")[1:]:
                operation = operation[part.replace("~1", "/").replace("~0", "~")]
            return document, pointer, operation
    return None


def declared_statuses(method: str, path: str) -> set[str] | None:
    """The statuses the contract declares for a request (`default` included), None for a route it does not know."""
    operation = operation_of(method, path)
    return None if operation is None else set(operation[2].get("responses", {}))


def response_schema(method: str, path: str, status: int, media: str) -> tuple[str, str] | None:
    """The document and JSON pointer of the schema the contract gives this answer, if it gives one."""
    operation = operation_of(method, path)
    if operation is None:
        return None
    document, pointer, found = operation
    content = found.get("responses", {}).get(str(status), {}).get("content", {})
    if media in content and "schema" in content[media]:
        return document, f"{pointer}/responses/{status}/content/{media.replace('/', '~1')}/schema"
    return None


@cache
def _validator(document: str, pointer: str) -> SchemaValidator:
    return validator_at(document, pointer)


class _VerdictCache:
    """Problems of small bodies by (schema, digest of the bytes): bounded, thread-safe."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple[str, str, bytes], list[str]] = OrderedDict()
        self._lock = threading.Lock()

    def problems(self, document: str, pointer: str, raw: bytes, value: Any) -> list[str]:
        if len(raw) > CACHED_BODY_BYTES:
            return _problems(document, pointer, value)
        key = (document, pointer, _digest(raw))
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        found = _problems(document, pointer, value)
        with self._lock:
            self._entries[key] = found
            if len(self._entries) > _CACHE_ENTRIES:
                self._entries.popitem(last=False)
        return found


_VERDICTS = _VerdictCache()


def _problems(document: str, pointer: str, value: Any) -> list[str]:
    """The contract's problems with a value. jsonschema-rs (about 100 times faster) clears a valid value
    first; anything it refuses, and any value holding an integral float (`4096.0`, which JSON Schema takes
    for an integer and Go's decoder, so the contract, does not), is judged by jsonschema itself."""
    fast = _fast_validator(document, pointer)
    if fast is not None and not _holds_integral_float(value) and fast.is_valid(value):
        return []
    return [str(problem) for problem in _validator(document, pointer).problems(value)]


@cache
def _fast_validator(document: str, pointer: str) -> Any:
    try:
        import jsonschema_rs
    except ImportError:
        return None
    try:
        return jsonschema_rs.validator_for(_validator(document, pointer).schema, validate_formats=True)
    except Exception:  # a schema it cannot compile: jsonschema alone judges those values
        return None


def _holds_integral_float(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float):
            if item.is_integer():
                return True
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def _digest(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=16).digest()


def parse_json(raw: bytes) -> tuple[Any, str | None]:
    """The JSON value of `raw`, or why it is not JSON (lone surrogates and odd bytes are JSON's business only)."""
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError) as error:
        return None, f"not JSON ({type(error).__name__}): {raw[:120]!r}"


class AnswerBody:
    """Collects what judging needs of one answer's body, chunk by chunk, in bounded memory.

    A JSON body (or any other that is not NDJSON) is kept whole up to `limit` and judged at its end;
    an NDJSON stream's lines are judged as they complete, and only the last one is kept. `final` is
    the parsed body, or the stream's last line (what the lifecycle reads).
    """

    def __init__(self, schema: tuple[str, str] | None, media: str, limit: int = JUDGED_JSON_BYTES) -> None:
        self.schema = schema
        self.ndjson = media == "application/x-ndjson"
        self.json = media == "application/json"
        self.limit = limit
        self.size = 0
        self._problems: list[str] = []
        self.not_judged: str | None = None
        self._final: Any = None
        self._unsettled = False  # a small JSON body: parsed and judged when first asked (often never: cached)
        #: A digest of a whole small body (its verdicts are cached by it), None for others.
        self.digest: bytes | None = None
        #: A large JSON body waits for `settle()` to be judged.
        self.pending = False
        self._parsed: tuple[Any, str | None] | None = None
        self._parts: list[bytes] = []
        self._kept = 0
        self._lines = 0
        self._partial = bytearray()
        self._skipping_line = False
        self._waiting: list[tuple[int, bytes, Any]] = []
        self._waiting_bytes = 0

    def feed(self, chunk: bytes) -> None:
        """Take the next piece of the body."""
        self.size += len(chunk)
        if self.ndjson:
            self._feed_lines(chunk)
        elif self._kept + len(chunk) <= self.limit and self.not_judged is None:
            self._parts.append(chunk)
            self._kept += len(chunk)
        elif self.not_judged is None:
            self._parts, self._kept = [], 0
            self.not_judged = f"a body over {self.limit // (1024 * 1024)} MiB is passed on but not judged"

    @property
    def whole(self) -> bytes | None:
        """The whole body, when it was kept (not NDJSON, not over the limit)."""
        if self.ndjson or self.not_judged is not None:
            return None
        if len(self._parts) > 1:
            self._parts = [b"".join(self._parts)]
        return self._parts[0] if self._parts else b""

    def finish(self, complete: bool) -> None:
        """The body ended (`complete` False: cut short, so an unfinished last part is not judged)."""
        if self.ndjson:
            if complete and self._partial.strip() and not self._skipping_line:
                self._judge_line(bytes(self._partial))
            self._partial.clear()
            self.pending = bool(self._waiting)
            return
        raw = self.whole
        if not complete or raw is None:
            return
        if len(raw) <= CACHED_BODY_BYTES:
            self.digest = _digest(raw)
        if self.json and raw.strip():
            self.pending = len(raw) > JUDGED_INLINE_BYTES
            self._unsettled = not self.pending
            if self.pending and len(raw) <= PARSED_INLINE_BYTES:  # the lifecycle reads it before the app has it
                self._parsed = parse_json(raw)
                self._final = self._parsed[0]

    @property
    def final(self) -> Any:
        """The parsed body, or an NDJSON stream's last line (None when not JSON, or too large to hold)."""
        if self._unsettled:
            self.settle()
        return self._final

    @property
    def problems(self) -> list[str]:
        """The contract's problems with the body (or its lines), each one line."""
        if self._unsettled:
            self.settle()
        return self._problems

    @property
    def held_bytes(self) -> int:
        """Bytes held until `settle()` judges them."""
        return self._waiting_bytes if self.ndjson else self.size

    def settle(self) -> None:
        """Judge what waits: a whole JSON body or a stream's first lines (in a worker thread; the loop serves on)."""
        self.pending = self._unsettled = False
        if self.ndjson:
            document, pointer = self.schema or ("", "")
            for number, line, value in self._waiting:
                found = _VERDICTS.problems(document, pointer + "/items", line, value)
                self._problems += [f"line {number}: {problem}" for problem in found]
            self._waiting, self._waiting_bytes = [], 0
            self._problems.sort(key=lambda problem: int(problem.split(":", 1)[0].removeprefix("line ")))
            return
        raw = self.whole or b""
        value, problem = self._parsed if self._parsed is not None else parse_json(raw)
        self._final = value
        if self.schema is not None:
            self._problems += [problem] if problem is not None else _VERDICTS.problems(*self.schema, raw, value)

    def _feed_lines(self, chunk: bytes) -> None:
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            if self._skipping_line:
                self._skipping_line = False
            elif self._partial:
                self._partial += chunk[start:end]
                self._judge_line(bytes(self._partial))
                self._partial.clear()
            elif chunk[start:end].strip():
                self._judge_line(chunk[start:end])
            start = end + 1
        rest = chunk[start:]
        if self._skipping_line or not rest:
            return
        if len(self._partial) + len(rest) <= JUDGED_LINE_BYTES:
            self._partial += rest
            return
        self._partial.clear()
        self._skipping_line = True
        self.not_judged = f"an NDJSON line over {JUDGED_LINE_BYTES // (1024 * 1024)} MiB was passed on but not judged"

    def _judge_line(self, line: bytes) -> None:
        if not line.strip():
            return
        self._lines += 1
        value, problem = parse_json(line)
        self._final = value
        if self.schema is None:
            return
        document, pointer = self.schema
        if problem is not None:
            self._problems.append(f"line {self._lines}: {problem}")
            return
        if self._waiting_bytes + len(line) <= DEFERRED_LINE_BYTES:  # judged by `settle()`, off the loop
            self._waiting.append((self._lines, line, value))
            self._waiting_bytes += len(line)
            return
        found = _VERDICTS.problems(document, pointer + "/items", line, value)
        self._problems += [f"line {self._lines}: {problem}" for problem in found]
