"""JSON as it crossed the wire: numbers as written, Go's compact escaped style, JSON paths, and the forms
volatile values must keep."""

from __future__ import annotations

import json
import re
from typing import Any

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_INDEX = re.compile(r"\[[0-9]+\]")
_LINE_PREFIX = re.compile(r"^(?:line|event) [0-9]+: ")
_NON_ASCII_ESCAPE = re.compile(
    rb"\\u(?!2028|2029)(?:00[89a-fA-F][0-9a-fA-F]|0[1-9a-fA-F][0-9a-fA-F]{2}|[1-9a-fA-F][0-9a-fA-F]{3})"
)


class WrittenFloat(float):
    """A JSON number with a fraction or exponent, remembering how it was written (`0.00001`, not `1e-05`)."""

    text: str

    def __new__(cls, text: str) -> WrittenFloat:
        number = super().__new__(cls, text)
        number.text = text
        return number


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(data: bytes) -> Any:
    """The JSON value of `data`, floats as WrittenFloat; ValueError when it is not JSON (NaN included)."""
    return json.loads(data, parse_float=WrittenFloat, parse_constant=_refuse_constant)


def type_name(value: Any) -> str:
    """The JSON type of a decoded value, integers told from other numbers."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def path_pattern(where: str) -> str:
    """`$.models[*].expires_at` for `line 2: $.models[0].expires_at`: the form volatility is keyed by."""
    return _INDEX.sub("[*]", _LINE_PREFIX.sub("", where))


def _style(document: bytes) -> list[tuple[str, str]]:
    """(Go's way, this document's way) for each trait of `document` that Go's encoding/json never writes."""
    strings = b"".join(_STRING.findall(document))
    outside = _STRING.sub(b'""', document).strip()
    traits = []
    if any(space in outside for space in (b" ", b"\t", b"\n", b"\r")):
        traits.append(("compact JSON", "spaces outside strings"))
    for raw, escaped in ((b"<", "\\u003c"), (b">", "\\u003e"), (b"&", "\\u0026")):
        if raw in strings:
            traits.append((f"{raw.decode()} written {escaped}", f"a raw {raw.decode()}"))
    if _NON_ASCII_ESCAPE.search(strings):
        traits.append(("non-ASCII text as UTF-8", "\\u escapes of non-ASCII text"))
    if b"\\/" in strings:
        traits.append(("/ unescaped", "\\/"))
    return traits


def difference_in_style(expected: bytes, actual: bytes) -> tuple[str, str] | None:
    """The first trait of Go-unlike style `actual` has and `expected` has not (spacing, escaping), if any."""
    reference = set(_style(expected))
    return next((trait for trait in _style(actual) if trait not in reference), None)
