"""Ollama's `keep_alive`: JSON seconds or Go duration strings, with the real server's error texts."""

from __future__ import annotations

import math
import re
from typing import Any

#: Go's `time.Duration(math.MaxInt64)` in seconds: what a negative keep_alive means ("forever").
FOREVER_SECONDS = 9223372036.854775807
#: A JSON number of seconds too large for Go's `time.Duration` (at least 2^63 ns) converts to its minimum on
#: the amd64 servers Ollama runs on (`CVTTSD2SQ`): a negative keep-alive, so the model unloads after the request.
OVERFLOWED_SECONDS = -FOREVER_SECONDS
#: The keep-alive a model gets at its first load when the request names none.
DEFAULT_KEEP_ALIVE_SECONDS = 300.0

_UNIT_NANOSECONDS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_MAX_NANOSECONDS = 2**63 - 1
#: One `<digits>[.<digits>]<unit>` of a Go duration; the fraction keeps its dot.
_COMPONENT = re.compile(r"([0-9]*)(\.[0-9]*)?([^0-9.]*)")


class KeepAliveError(ValueError):
    """A keep_alive value Ollama refuses; the message is the real server's error text."""


def parse_go_duration(text: str) -> float:
    """Parse a Go `time.ParseDuration` string into seconds, raising Go's error texts."""
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    invalid = KeepAliveError(f"time: invalid duration {quoted}")
    rest, sign = text, 1
    if rest[:1] in "+-" and rest:
        sign = -1 if rest[0] == "-" else 1
        rest = rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        raise invalid
    total = 0.0
    # One findall, not a match per component: a megabyte of "0s" stays fast. It ends with an empty match.
    for whole, fraction, unit in _COMPONENT.findall(rest)[:-1]:
        if not whole and len(fraction) < 2:
            raise invalid
        if not unit:
            raise KeepAliveError(f"time: missing unit in duration {quoted}")
        if unit not in _UNIT_NANOSECONDS:
            raise KeepAliveError(f'time: unknown unit "{unit}" in duration {quoted}')
        total += float(f"{whole or 0}{fraction or '.0'}") * _UNIT_NANOSECONDS[unit]
        if total > _MAX_NANOSECONDS:
            raise invalid
    return sign * total / 1e9


def parse_keep_alive(value: Any) -> float | None:
    """Return keep_alive in seconds, as `api.Duration` reads it; None when absent/null.

    A negative value is FOREVER_SECONDS. A JSON number is converted to whole nanoseconds as Go converts
    it (truncated; OVERFLOWED_SECONDS from 2^63 ns on); a duration string stops at Go's limits.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise KeepAliveError("Unsupported type: 'bool'")
    if isinstance(value, (int, float)):
        seconds = float(value)
        if math.isnan(seconds):
            raise KeepAliveError("Unsupported type: 'float64'")
        if seconds < 0:
            return FOREVER_SECONDS
        nanoseconds = seconds * 1e9
        return OVERFLOWED_SECONDS if nanoseconds >= 2**63 else int(nanoseconds) / 1e9
    if isinstance(value, str):
        seconds = parse_go_duration(value)
    elif isinstance(value, dict):
        raise KeepAliveError("Unsupported type: 'map[string]interface {}'")
    elif isinstance(value, list):
        raise KeepAliveError("Unsupported type: '[]interface {}'")
    else:
        raise KeepAliveError(f"Unsupported type: '{type(value).__name__}'")
    if seconds < 0 or seconds >= FOREVER_SECONDS:
        return FOREVER_SECONDS
    return seconds
