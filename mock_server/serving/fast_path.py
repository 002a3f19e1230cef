"""The hot path: `GET /api/ps` answered straight from the cached body, below Flask, when nothing special applies.

Anything unusual (an Origin, a fault, a Host or token that is not plainly fine) goes the full way
through the Flask pipeline, so both paths give the same answers; the tests run both.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from ollama_contract_kit.openapi.hosts import FOREIGN, is_loopback_bind

from ..state import MockState
from .faults import FAULT_HEADER
from .http_rules import host_verdict, token_matches
from .pipeline import ACCESS_LINE, access_log
from .responses import GO_BUFFER_BYTES, JSON_TYPE

_FAULT_KEY = "HTTP_" + FAULT_HEADER.upper().replace("-", "_")


def fast_ps(state: MockState) -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes] | None]:
    """A WSGI handler for plain `GET /api/ps`; it returns None when the request needs the full pipeline."""
    config = state.config
    check_host = is_loopback_bind(config.bind_host)

    def answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes] | None:
        started = time.perf_counter()
        if (
            "HTTP_ORIGIN" in environ
            or environ.get("REQUEST_URI", "").startswith("//")  # waitress folded the slashes of `//api/ps`
            or _FAULT_KEY in environ
            or state.faults.any()
            or _host_needs_the_pipeline(environ, check_host)
            or (config.token is not None and not token_matches(environ.get("HTTP_AUTHORIZATION", ""), config.token))
        ):
            return None
        body = state.ps_body()
        length = [("Content-Length", str(len(body)))] if len(body) <= GO_BUFFER_BYTES else []  # else chunked, as Go
        start_response("200 OK", [("Content-Type", JSON_TYPE), *length])
        _log(state, environ, started)
        return [body]

    return answer


def _host_needs_the_pipeline(environ: dict[str, Any], check_host: bool) -> bool:
    refusal, kind = host_verdict(environ)
    return refusal is not None or (check_host and kind == FOREIGN)


def _log(state: MockState, environ: dict[str, Any], started: float) -> None:
    headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items() if key.startswith("HTTP_")}
    query = environ.get("QUERY_STRING")
    path = "/api/ps" + (f"?{query}" if query else "")
    state.requests.record("GET", path, 200, headers, b"", state.clock.instant())
    if state.config.log_requests:
        shown = "/api/ps" + ("?…" if query else "")
        elapsed_ms = (time.perf_counter() - started) * 1000
        access_log.info(ACCESS_LINE, environ.get("REMOTE_ADDR"), "GET", shown, 200, elapsed_ms)
