"""Bytes on the wire as Go's encoding/json writes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_HTML_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def go_json(value: Any) -> bytes:
    """Compact JSON, UTF-8, `<>&` and U+2028/9 escaped, no trailing newline (like gin's `c.JSON`)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in _HTML_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return text.encode("utf-8")


@dataclass(frozen=True)
class Raw:
    """A JSON value Go carries as written (`json.RawMessage`): `go_map` keeps its key order."""

    value: Any


#: Beyond this, Go writes a float64 in exponent form even when it is whole.
_EXPONENT_FROM = 1e21


def go_map(value: Any) -> Any:
    """`value` as Go re-encodes it from a `map[string]any`: keys sorted at every level, whole floats
    without a point (`1.0` is `1`), `Raw` values unwrapped as they are."""
    if isinstance(value, Raw):
        return value.value
    if isinstance(value, dict):
        return {key: go_map(value[key]) for key in sorted(value)}
    if isinstance(value, (list, tuple)):
        return [go_map(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < _EXPONENT_FROM:
        return int(value)
    return value
