"""The differential judgement: every way a server's answer differs from a reference answer to the same request.

The reference is usually a real Ollama's answer (a capture), the other the mock's or a server under
test. Compared: the status; the headers (names and values; `Date` and `Content-Length` excepted);
JSON bodies at every level (key order, presence, type, exact value, numbers as written, Go's
compact and escaped style, timestamps in Go's format); NDJSON and SSE framing and every chunk.
Values that legitimately differ between two runs (generated text, durations, token ids, ids, times)
are named in a `Volatility` and compared by their form only. No pytest here: `verify` and the proxy
can use the same judgement.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .captures import Answer
from .volatility import Volatility, judge_problem, timestamp_problem
from .wire_json import WrittenFloat, difference_in_style, parse_json, path_pattern, type_name

#: Headers whose values belong to the moment or the body's length, never compared.
UNCOMPARED_HEADERS = frozenset({"date", "content-length"})
_EXCERPT = 120


@dataclass(frozen=True)
class Difference:
    """One way an answer differs: which exchange, where (`status`, a header, a JSON path), what, and both sides."""

    exchange: str
    where: str
    what: str
    expected: str
    actual: str

    def line(self) -> str:
        """One line naming everything, for a report or an assertion message."""
        return f"{self.exchange}: {self.where}: {self.what}: expected {self.expected}, got {self.actual}"


def compare(
    expected: Answer, actual: Answer, *, exchange: str, volatility: Volatility | None = None
) -> list[Difference]:
    """Every difference of `actual` from `expected` (empty when they agree beyond the volatile values)."""
    judge = _Comparison(exchange, volatility or Volatility())
    if expected.status != actual.status:
        judge.add("status", "status", str(expected.status), str(actual.status))
    judge.headers(expected, actual)
    if expected.status != actual.status:
        if expected.body != actual.body:
            judge.add("body", "body", _excerpt(expected.body), _excerpt(actual.body))
        return judge.found
    judge.body(expected, actual)
    return judge.found


def _excerpt(value: Any) -> str:
    """A short form of a body (its text, quoted) or a JSON value (as JSON)."""
    if isinstance(value, bytes):
        text = repr(value.decode("utf-8", "replace"))
    else:
        text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def _media_type(answer: Answer) -> str:
    return (answer.header("Content-Type") or "").split(";")[0].strip().lower()


class _Comparison:
    """The differences found so far in one exchange."""

    def __init__(self, exchange: str, volatility: Volatility) -> None:
        self.exchange = exchange
        self.volatility = volatility
        self.found: list[Difference] = []

    def add(self, where: str, what: str, expected: str, actual: str) -> None:
        self.found.append(Difference(self.exchange, where, what, expected, actual))

    def headers(self, expected: Answer, actual: Answer) -> None:
        wanted = _header_values(expected)
        given = _header_values(actual)
        for name, values in wanted.items():
            if name not in given:
                self.add(f"header {name}", "missing header", repr(", ".join(values)), "none")
            elif given[name] != values:
                self.add(f"header {name}", "header value", repr(", ".join(values)), repr(", ".join(given[name])))
        for name, values in given.items():
            if name not in wanted:
                self.add(f"header {name}", "unexpected header", "none", repr(", ".join(values)))

    def body(self, expected: Answer, actual: Answer) -> None:
        media = _media_type(expected)
        if media == "application/x-ndjson":
            self.stream(_ndjson_documents(expected.body), self.ndjson_framing(actual.body), "line")
        elif media == "text/event-stream":
            self.stream(_sse_documents(expected.body), self.sse_framing(actual.body), "event")
        elif media == "application/json" and expected.body:
            self.document("$", expected.body, actual.body)
        elif expected.body != actual.body:
            self.add("body", "body", _excerpt(expected.body), _excerpt(actual.body))

    # -- framing ---------------------------------------------------------------------------------

    def ndjson_framing(self, body: bytes) -> list[bytes]:
        if body and not body.endswith(b"\n"):
            self.add("framing", "NDJSON framing", "every line ending in \\n", "a last line without \\n")
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if any(not line.strip() for line in lines):
            self.add("framing", "NDJSON framing", "one JSON object a line", "an empty line")
        return [line for line in lines if line.strip()]

    def sse_framing(self, body: bytes) -> list[bytes]:
        if body and not body.endswith(b"\n\n"):
            self.add("framing", "SSE framing", "every event ending in a blank line", _excerpt(body[-20:]))
        events = [event for event in body.split(b"\n\n") if event]
        documents = []
        for number, event in enumerate(events, 1):
            if not event.startswith(b"data: "):
                self.add(f"event {number}", "SSE framing", "'data: ...'", _excerpt(event))
                continue
            documents.append(event.removeprefix(b"data: "))
        if not documents or documents[-1] != b"[DONE]":
            self.add("framing", "SSE framing", "a last event 'data: [DONE]'", _excerpt(events[-1] if events else b""))
        return [document for document in documents if document != b"[DONE]"]

    # -- streams and documents -------------------------------------------------------------------

    def stream(self, expected: list[bytes], actual: list[bytes], unit: str) -> None:
        """First with first, last with last, every chunk between with the expected chunk between."""
        if not actual:
            self.add("body", "stream", f"{len(expected)} chunks", "none")
            return
        if len(expected) > 1 and len(actual) == 1:
            self.add("body", "stream", f"chunks before the last ({len(expected) - 1})", "only the last")
        seen: dict[tuple[str, str], int] = {}
        for index, chunk in enumerate(actual):
            reference = _reference_index(index, len(actual), len(expected))
            before = len(self.found)
            self.document(f"{unit} {index + 1}: $", expected[reference], chunk)
            self.found[before:] = _first_of_each(self.found[before:], seen)
        self.per_chunk_times(expected, actual)

    def per_chunk_times(self, expected: list[bytes], actual: list[bytes]) -> None:
        def times(lines: list[bytes]) -> list[Any]:
            values = [_parsed(line) for line in lines]
            return [value.get("created_at") if isinstance(value, dict) else None for value in values]

        wanted, given = times(expected), times(actual)
        if len(set(map(str, wanted))) > 1 and len(given) > 1 and len(set(map(str, given))) == 1:
            self.add(
                "$.created_at", "a time of its own in every chunk", "distinct times", f"{_excerpt(given[0])} in all"
            )

    def document(self, root: str, expected: bytes, actual: bytes) -> None:
        try:
            wanted = parse_json(expected)
        except ValueError:
            if expected != actual:
                self.add(root, "body", _excerpt(expected), _excerpt(actual))
            return
        try:
            given = parse_json(actual)
        except ValueError:
            self.add(root, "not JSON", _excerpt(expected), _excerpt(actual))
            return
        style = difference_in_style(expected, actual)
        if style:
            self.add(root, "JSON style", *style)
        wanted_end, given_end = _trailing_space(expected), _trailing_space(actual)
        if wanted_end != given_end:  # gin's c.JSON writes none, json.Encoder a newline
            self.add(root, "after the JSON", repr(wanted_end.decode()), repr(given_end.decode()))
        self.value(root, wanted, given)

    def value(self, where: str, expected: Any, actual: Any) -> None:
        pattern = path_pattern(where)
        judge = self.volatility.values.get(pattern)
        if judge is not None:
            problem = judge_problem(judge, expected, actual)
            if problem:
                self.add(where, f"{judge.value} form", problem, _excerpt(actual))
            return
        if type_name(expected) != type_name(actual):
            self.add(
                where, "type", f"{type_name(expected)} {_excerpt(expected)}", f"{type_name(actual)} {_excerpt(actual)}"
            )
        elif isinstance(expected, dict):
            self.object(where, expected, actual)
        elif isinstance(expected, list):
            self.array(where, pattern, expected, actual)
        elif isinstance(expected, WrittenFloat) and expected.text != actual.text:
            self.add(where, "number", expected.text, actual.text)
        elif expected != actual:
            problem = timestamp_problem(expected, actual) if isinstance(expected, str) else None
            if problem:
                self.add(where, "timestamp", problem, _excerpt(actual))
            else:
                self.add(where, "value", _excerpt(expected), _excerpt(actual))

    def object(self, where: str, expected: dict[str, Any], actual: dict[str, Any]) -> None:
        for key in expected:
            if key not in actual:
                self.add(_child(where, key), "missing key", _excerpt(expected[key]), "absent")
        for key in actual:
            if key not in expected:
                self.add(_child(where, key), "unexpected key", "absent", _excerpt(actual[key]))
        wanted_order = [key for key in expected if key in actual]
        given_order = [key for key in actual if key in expected]
        if wanted_order != given_order:
            self.add(where, "key order", ",".join(wanted_order), ",".join(given_order))
        for key in wanted_order:
            self.value(_child(where, key), expected[key], actual[key])

    def array(self, where: str, pattern: str, expected: list[Any], actual: list[Any]) -> None:
        if len(expected) != len(actual):
            self.add(where, "length", str(len(expected)), str(len(actual)))
        key = self.volatility.unordered.get(pattern)
        if key is not None:
            by_key = {str(item.get(key)): item for item in actual if isinstance(item, dict)}
            for index, item in enumerate(expected):
                name = str(item.get(key)) if isinstance(item, dict) else ""
                if name in by_key:
                    self.value(f"{where}[{index}]", item, by_key[name])
                else:
                    self.add(f"{where}[{index}]", f"missing item ({key} {name!r})", _excerpt(item), "absent")
            return
        for index, (wanted, given) in enumerate(zip(expected, actual, strict=False)):
            self.value(f"{where}[{index}]", wanted, given)


def _trailing_space(document: bytes) -> bytes:
    return document[len(document.rstrip()) :]


def _parsed(document: bytes) -> Any:
    try:
        return parse_json(document)
    except ValueError:
        return None


def _child(where: str, key: str) -> str:
    plain = key.replace("_", "").isalnum() and not key[:1].isdigit()
    return f"{where}.{key}" if plain else f"{where}[{key!r}]"


def _header_values(answer: Answer) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in answer.headers:
        if name.lower() not in UNCOMPARED_HEADERS:
            values.setdefault(name.lower(), []).append(value)
    return values


def _ndjson_documents(body: bytes) -> list[bytes]:
    return [line for line in body.split(b"\n") if line.strip()]


def _sse_documents(body: bytes) -> list[bytes]:
    events = [event.removeprefix(b"data: ") for event in body.split(b"\n\n") if event.startswith(b"data: ")]
    return [event for event in events if event != b"[DONE]"]


def _reference_index(index: int, actual_count: int, expected_count: int) -> int:
    """The expected chunk an actual one is judged by: first by first, last by last, between by between."""
    if index == actual_count - 1:
        return expected_count - 1
    return min(index, max(expected_count - 2, 0))


def _first_of_each(found: list[Difference], seen: dict[tuple[str, str], int]) -> list[Difference]:
    """Drop a chunk's differences already reported for an earlier chunk (same path pattern, same kind)."""
    kept = []
    for difference in found:
        key = (path_pattern(difference.where.split(": ", 1)[-1]), difference.what)
        if key not in seen:
            seen[key] = 1
            kept.append(difference)
    return kept
