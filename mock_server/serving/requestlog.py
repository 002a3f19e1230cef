"""The log of answered requests that tests read through the control API or the handle."""

from __future__ import annotations

import collections
import threading
from collections.abc import Mapping
from typing import Any

from ollama_contract_kit.commandline.headers import mask_headers, mask_query, mask_secret
from ollama_contract_kit.openapi.timestamps import GoTime

MAX_LOGGED = 1000
MAX_BODY_CHARS = 64 * 1024


class RequestLog:
    """The last MAX_LOGGED requests, oldest first, secrets masked: credential headers and query parameters
    by name, and the configured `token` wherever it appears."""

    def __init__(self, token: str | None = None) -> None:
        self._token = token
        self._lock = threading.Lock()
        self._entries: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_LOGGED)

    def record(
        self, method: str, path: str, status: int, headers: Mapping[str, str], body: bytes, time: GoTime
    ) -> None:
        """Add one answered request (its time is written out when the log is read: the hot path stays cheap)."""
        text = body[:MAX_BODY_CHARS].decode("utf-8", errors="replace") if body else None
        entry = {
            "method": method,
            "path": mask_secret(mask_query(path), self._token),
            "status": status,
            "headers": {name: mask_secret(value, self._token) for name, value in mask_headers(headers).items()},
            "body": mask_secret(text, self._token) if text else text,
            "time": time,
        }
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[dict[str, Any]]:
        """A copy of the log."""
        with self._lock:
            return [entry | {"time": entry["time"].format()} for entry in self._entries]

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self._entries.clear()
