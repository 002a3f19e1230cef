"""Bytes on the wire as Go's encoding/json writes them."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

_HTML_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))
#: Where Python writes a float unlike Go: a whole one (`4.0`, Go `4`) or one with an exponent Go would not use.
_UNLIKE_GO = re.compile(r"[0-9]\.0(?=[,\]}]|$)|[0-9][eE][-+]")


def go_float(value: float) -> str:
    """A float as Go's encoding/json writes it: the shortest digits, plain between 1e-6 and 1e21
    (`0.00001`, `10000`), else with an exponent of at least one digit (`1e-7`, `1e+21`)."""
    if not math.isfinite(value):
        raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
    shortest = repr(value)
    magnitude = abs(value)
    if magnitude and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, _, exponent = shortest.partition("e")
        power = int(exponent)
        return f"{mantissa.removesuffix('.0')}e{'-' if power < 0 else '+'}{abs(power):02d}".replace("e-0", "e-")
    plain = format(Decimal(shortest), "f")
    return plain.rstrip("0").rstrip(".") if "." in plain else plain


def _go_text(value: Any) -> str:
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_go_text(str(key))}:{_go_text(item)}" for key, item in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_go_text(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def go_json(value: Any) -> bytes:
    """Compact JSON, UTF-8, `<>&` and U+2028/9 escaped, floats as Go writes them, no trailing newline
    (like gin's `c.JSON`)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if _UNLIKE_GO.search(text):  # rare (whole or tiny floats): write it again number by number
        text = _go_text(value)
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
