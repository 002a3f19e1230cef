"""Which values of an answer may differ between two runs of the same request, and the form they must keep."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ollama_contract_kit.openapi.timestamps import fraction_digits, go_time_problem, zone_form

from .wire_json import type_name

#: Go's `time.Time` in JSON, to tell timestamps from other text.
_LOOKS_LIKE_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")
_MICROSECOND_DIGITS = 6
#: What a time with at most 6 fraction digits lacks where the reference has more. One such time may be a
#: nanosecond clock's that ended in 000 (1 in 1,000): judge the precision of many times, not of one.
NANOSECONDS = "nanoseconds (up to 9 fraction digits, trailing zeros trimmed)"


class Judge(Enum):
    """The form a volatile value must keep when its value may differ."""

    TEXT = "text"  # any string (generated text)
    TIMESTAMP = "timestamp"  # Go's RFC 3339, the same zone form, nanoseconds where the reference has them
    DURATION = "duration"  # a non-negative integer (nanoseconds)
    COUNT = "count"  # a non-negative integer (tokens evaluated)
    UNIX = "unix"  # a non-negative integer (Unix seconds)
    TOKENS = "tokens"  # an array of non-negative integers (token ids)
    NUMBERS = "numbers"  # an array of numbers as long as the reference's (an embedding)
    ID = "id"  # a string like the reference with other digits (`chatcmpl-412`)
    MAP_LINES = "map lines"  # the reference's lines in any order (Go printed them from a map)
    MODELFILE = "modelfile"  # the reference's Modelfile, its PARAMETER lines (from a map) in any order


@dataclass(frozen=True)
class Volatility:
    """Which values may differ between runs, by JSON path pattern (`$.models[*].expires_at`).

    `values` maps a path pattern to the form the value must keep; `unordered` maps the pattern of an
    array whose order is free to the key that pairs its items (`/api/ps` entries of the same second).
    """

    values: Mapping[str, Judge] = field(default_factory=dict)
    unordered: Mapping[str, str] = field(default_factory=dict)


def timestamp_problem(expected: str, actual: Any) -> str | None:
    """What `actual` should be to be written like the time `expected` (None when it is, or `expected` is no time)."""
    if not _LOOKS_LIKE_TIME.match(expected):
        return None
    if not isinstance(actual, str):
        return "a time as a string"
    problem = go_time_problem(actual)
    if problem:
        return f"a time as Go writes it, not {problem}"
    if zone_form(actual) != zone_form(expected):
        return f"the zone written as {zone_form(expected)}"
    if fraction_digits(expected) > _MICROSECOND_DIGITS >= fraction_digits(actual):
        return NANOSECONDS
    return None


def _non_negative_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _parameters_sorted(modelfile: str) -> list[str]:
    lines = modelfile.split("\n")
    parameters = iter(sorted(line for line in lines if line.startswith("PARAMETER ")))
    return [next(parameters) if line.startswith("PARAMETER ") else line for line in lines]


def judge_problem(judge: Judge, expected: Any, actual: Any) -> str | None:
    """The form `actual` should have, when it has not the form `judge` asks for (None when it has)."""
    if judge is Judge.TEXT:
        return None if isinstance(actual, str) else "a string"
    if judge is Judge.TIMESTAMP:
        return timestamp_problem(str(expected), actual)
    if judge in (Judge.DURATION, Judge.COUNT, Judge.UNIX):
        return None if _non_negative_integer(actual) else "a non-negative integer"
    if judge is Judge.TOKENS:
        fits = isinstance(actual, list) and all(map(_non_negative_integer, actual))
        return None if fits else "an array of token ids (non-negative integers)"
    if judge is Judge.NUMBERS:
        numbers = isinstance(actual, list) and all(type_name(item) in ("integer", "number") for item in actual)
        length = len(expected) if isinstance(expected, list) else 0
        return None if numbers and len(actual) == length else f"an array of {length} numbers"
    if judge is Judge.MAP_LINES:
        same = isinstance(actual, str) and sorted(actual.split("\n")) == sorted(str(expected).split("\n"))
        return None if same else f"the lines of {str(expected)!r} in any order"
    if judge is Judge.MODELFILE:
        same = isinstance(actual, str) and _parameters_sorted(actual) == _parameters_sorted(str(expected))
        return None if same else f"{str(expected)!r} (PARAMETER lines in any order)"
    shape = re.sub(r"[0-9]+", "[0-9]+", re.escape(str(expected)))
    return None if isinstance(actual, str) and re.fullmatch(shape, actual) else f"an id like {expected!r}"


_GENERATED = {
    "$.created_at": Judge.TIMESTAMP,
    "$.response": Judge.TEXT,
    "$.thinking": Judge.TEXT,
    "$.message.content": Judge.TEXT,
    "$.message.thinking": Judge.TEXT,
    "$.context": Judge.TOKENS,
    "$.total_duration": Judge.DURATION,
    "$.load_duration": Judge.DURATION,
    "$.prompt_eval_duration": Judge.DURATION,
    "$.eval_duration": Judge.DURATION,
    "$.prompt_eval_count": Judge.COUNT,
    "$.eval_count": Judge.COUNT,
    "$.embeddings[*]": Judge.NUMBERS,
    "$.embedding": Judge.NUMBERS,
    "$.models[*].expires_at": Judge.TIMESTAMP,
    "$.parameters": Judge.MAP_LINES,
    "$.modelfile": Judge.MODELFILE,
}
_OPENAI_GENERATED = {
    "$.id": Judge.ID,
    "$.created": Judge.UNIX,
    "$.choices[*].message.content": Judge.TEXT,
    "$.choices[*].message.reasoning": Judge.TEXT,
    "$.choices[*].delta.content": Judge.TEXT,
    "$.choices[*].delta.reasoning": Judge.TEXT,
    "$.choices[*].text": Judge.TEXT,
    "$.usage.prompt_tokens": Judge.COUNT,
    "$.usage.completion_tokens": Judge.COUNT,
    "$.usage.total_tokens": Judge.COUNT,
    "$.data[*].embedding": Judge.NUMBERS,
}


#: Lists Ollama builds from a Go map and sorts by whole seconds only: in the same second, any order.
_UNORDERED = {"/api/ps": {"$.models": "name"}, "/api/tags": {"$.models": "name"}, "/v1/models": {"$.data": "id"}}


def ollama_volatility(path: str) -> Volatility:
    """What legitimately differs between two runs of the same request to Ollama at `path` (no query):
    generated text, token ids and counts, durations, times, vectors, `/v1` ids, and what Ollama prints
    from Go maps in their random order: `/api/show`'s parameters, and the models of `/api/ps`,
    `/api/tags` and `/v1/models` (sorted by whole seconds only, so any order within a second; their
    order across seconds is a rule `verify` checks, not a difference)."""
    values = dict(_GENERATED)
    if path.startswith("/v1/"):
        values |= _OPENAI_GENERATED
    return Volatility(values, _UNORDERED.get(path, {}))
