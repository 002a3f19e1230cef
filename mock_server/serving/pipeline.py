"""What happens around every route: Ollama's request rules, faults, CORS headers, and the request log."""

from __future__ import annotations

import logging
import time
from http import HTTPStatus

from flask import Flask, Response, g, request
from werkzeug.exceptions import BadHost, HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from ollama_contract_kit.commandline.headers import mask_secret
from ollama_contract_kit.openapi.releases import has, route_change

from ..control import CONTROL_PREFIX
from ..state import MockState
from .broken import closes_by_header
from .faults import FAULT_HEADER, FaultError, FaultKind, parse_fault_header, status_error_text
from .http_rules import (
    add_cors_headers,
    allowed_origins,
    authorization_failure,
    cors_preflight,
    go_refusal,
    host_check,
    is_loopback_bind,
    is_same_origin,
    origin_allowed,
    redirect_for_path,
)
from .requestlog import MAX_BODY_CHARS
from .responses import (
    allow_header,
    chunk_like_go,
    empty,
    error_response,
    method_not_allowed,
    not_found,
    too_large_text,
)

#: Environ keys that tell the outer WSGI layer to drop the connection, or to cut the body at a byte.
DROP_CONNECTION = "ollama_mock.drop_connection"
TRUNCATE_AT = "ollama_mock.truncate_at"
access_log = logging.getLogger("ollama_contract_kit.mock")
#: One access-log line: client, method, path (secrets masked), status, milliseconds.
ACCESS_LINE = '%s "%s %s" %d %.1fms'


def _methods_for(app: Flask, path: str) -> set[str]:
    adapter = app.url_map.bind_to_environ(request.environ)
    return set(adapter.allowed_methods(path))


def install_pipeline(app: Flask, state: MockState) -> None:
    """Register the before/after hooks and the 404/405 handlers on `app`."""
    config = state.config
    origins = allowed_origins(config.origins)
    check_host = is_loopback_bind(config.bind_host)

    @app.before_request
    def apply_request_rules() -> Response | None:
        g.started = time.perf_counter()
        refused_by_go = go_refusal(request)  # net/http answers these before Ollama's router runs
        if refused_by_go is not None:
            return refused_by_go
        path = request.path
        methods = _methods_for(app, path.rstrip("/") or "/") if path.endswith("/") else set()
        redirected = redirect_for_path(request, routed=request.method in methods, release=state.world.release)
        if redirected is not None:
            return redirected
        origin = request.headers.get("Origin")
        if origin and not is_same_origin(origin, request.host):
            if not origin_allowed(origin, origins):
                return empty(403)
            if request.method == "OPTIONS":
                return cors_preflight(origin, origins, _methods_for(app, path))
            g.cors_origin = origin
        if check_host:
            refused = host_check(request)
            if refused is not None:
                allowed = allow_header(_methods_for(app, path))
                if allowed:
                    refused.headers["Allow"] = allowed
                return refused
        unauthorized = authorization_failure(request, config.token)
        if unauthorized is not None:
            return unauthorized
        if path.startswith(CONTROL_PREFIX + "/") or path == CONTROL_PREFIX:
            return None
        added_by = route_change(path)
        if added_by is not None and not has(state.world.release, added_by):
            return not_found()  # the release the mock speaks for did not have this route yet
        return _fire_faults(state, path)

    @app.after_request
    def finish_response(response: Response) -> Response:
        origin = g.get("cors_origin")
        if origin:
            add_cors_headers(response, origin, origins)
        for fault in g.get("body_faults", ()):
            _spoil(response, fault)
        # Go writes reason phrases in title case; Werkzeug would send "METHOD NOT ALLOWED".
        response.status = f"{response.status_code} {_reason_phrase(response.status_code)}"
        if request.method != "HEAD":
            chunk_like_go(response)
        if not request.path.startswith(CONTROL_PREFIX + "/"):
            _log(state, response)
        return response

    # A Host Werkzeug cannot even route with (an empty or over-long label) is not provably local either.
    app.register_error_handler(
        BadHost, lambda _: empty(403) if check_host else error_response(400, "invalid Host header")
    )
    app.register_error_handler(NotFound, lambda _: not_found())
    app.register_error_handler(RequestEntityTooLarge, lambda _: _too_large(config.max_body))
    app.register_error_handler(MethodNotAllowed, lambda error: _wrong_method(state, error))


def _wrong_method(state: MockState, error: MethodNotAllowed) -> Response:
    if not has(state.world.release, "method_not_allowed"):
        return not_found()
    return method_not_allowed(error.valid_methods or ())


def _too_large(limit: int) -> Response:
    response = error_response(413, too_large_text(limit))
    response.headers["Connection"] = "close"  # the rest of the body is never read
    return response


def _reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "status code " + str(status)


def _fire_faults(state: MockState, path: str) -> Response | None:
    faults = state.faults.take(request.method, path)
    header = request.headers.get(FAULT_HEADER)
    if header is not None:
        # granian hands over a value that is not plain ASCII as "", waitress as Latin-1: refuse both alike
        if not header.strip() or not header.isascii():
            return error_response(400, f"{FAULT_HEADER}: empty or not plain ASCII; expected e.g. status=503")
        try:
            faults += parse_fault_header(header, request.method, path)
        except FaultError as error:
            return error_response(400, str(error))
    body_faults = []
    for fault in faults:
        if fault.kind is FaultKind.LATENCY:
            time.sleep((fault.value or 0) / 1000)
        elif fault.kind is FaultKind.STATUS:
            status = fault.value or 500
            return error_response(status, status_error_text(status))
        else:
            body_faults.append(fault.kind)
    g.body_faults = body_faults
    return None


def _spoil(response: Response, kind: FaultKind) -> None:
    body = response.get_data()
    if kind is FaultKind.MALFORMED:
        response.set_data(body[: max(1, len(body) // 2)])
        response.status_code = 200
    elif kind is FaultKind.TRUNCATE:
        request.environ[TRUNCATE_AT] = len(body) // 2
    elif kind is FaultKind.DROP:
        request.environ[DROP_CONNECTION] = True
    if kind in (FaultKind.TRUNCATE, FaultKind.DROP) and closes_by_header(request.environ):
        response.headers["Connection"] = "close"


def _log(state: MockState, response: Response) -> None:
    elapsed_ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    path = request.full_path if request.query_string else request.path
    headers, body = dict(request.headers), _logged_body()
    state.requests.record(request.method, path, response.status_code, headers, body, state.clock.instant())
    if state.config.log_requests:
        shown = mask_secret(request.path, state.config.token) + ("?…" if request.query_string else "")
        access_log.info(ACCESS_LINE, request.remote_addr, request.method, shown, response.status_code, elapsed_ms)


def _logged_body() -> bytes:
    """The start of the body the log keeps: what the route read, else at most MAX_BODY_CHARS bytes of it,
    never the whole of a body the route left unread (a 300 MB upload to a blob the server has)."""
    read: bytes | None = getattr(request, "_cached_data", None)  # Werkzeug keeps get_data()'s bytes there
    if read is not None:
        return read[:MAX_BODY_CHARS]
    try:
        return request.stream.read(MAX_BODY_CHARS)
    except HTTPException:  # over --max-body, or it stopped arriving
        return b""
