"""Bytes on the wire as Go's encoding/json writes them."""

from __future__ import annotations

import json
from typing import Any

_HTML_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def go_json(value: Any) -> bytes:
    """Compact JSON, UTF-8, `<>&` and U+2028/9 escaped, no trailing newline (like gin's `c.JSON`)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in _HTML_ESCAPES:
        if raw in text:
            text = text.replace(raw, escaped)
    return text.encode("utf-8")
