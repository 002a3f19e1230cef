"""The log of answered requests that tests read through the control API or the handle."""

from __future__ import annotations

import collections
import threading
from collections.abc import Mapping
from typing import Any

from ollama_contract_kit.commandline.headers import mask_headers, mask_query, mask_secret
from ollama_contract_kit.openapi.timestamps import GoTime

from ..answers.replies import route_matches, same_model
from ..native.bodies import BodyError, decode_json

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
        """Add one answered request; the log keeps the first MAX_BODY_CHARS bytes of its body (pass no more).

        Its time is written out when the log is read: the hot path stays cheap.
        """
        kept = body[:MAX_BODY_CHARS]
        text = kept.decode("utf-8", errors="replace") if kept else None
        entry = {
            "method": method,
            "path": mask_secret(mask_query(path), self._token),
            "status": status,
            "headers": {name: mask_secret(value, self._token) for name, value in mask_headers(headers).items()},
            # A body of the limit or more may have been cut inside the token: its start at the end is masked too.
            "body": mask_secret(text, self._token, cut=len(body) >= MAX_BODY_CHARS) if text else text,
            "time": time,
        }
        with self._lock:
            self._entries.append(entry)

    def entries(
        self, route: str | None = None, model: str | None = None, method: str | None = None, status: Any = None
    ) -> list[dict[str, Any]]:
        """The log, each request parsed (`route`, `json`, `model`), those matching the filters given.

        `route` is a path or a route family (`chat`, `generate`, `embed`, `native`, `openai`), `model` is
        matched as Ollama matches names. ValueError for a `status` that is no whole number.
        """
        if status is not None and not str(status).strip().isdigit():
            raise ValueError(f"status: expected a whole number, got {status!r}")
        with self._lock:
            logged = list(self._entries)
        parsed = [_parsed(entry) for entry in logged]
        return [
            entry
            for entry in parsed
            if (route is None or route_matches(route, entry["route"]))
            and (model is None or (entry["model"] is not None and same_model(model, entry["model"])))
            and (method is None or entry["method"] == method.upper())
            and (status is None or entry["status"] == int(status))
        ]

    def clear(self) -> None:
        """Forget every request."""
        with self._lock:
            self._entries.clear()


def _parsed(entry: dict[str, Any]) -> dict[str, Any]:
    """A logged request with its time written out, its route, its body read as JSON, and its model."""
    try:
        data = decode_json(entry["body"]) if entry["body"] else None
    except BodyError:  # not JSON (as Go reads it: no NaN, no numbers past float64, not too deep)
        data = None
    named = next((data.get(key) for key in ("model", "name") if isinstance(data, dict) and data.get(key)), None)
    return entry | {
        "time": entry["time"].format(),
        "route": entry["path"].partition("?")[0],
        "json": data,
        "model": named if isinstance(named, str) else None,
    }
