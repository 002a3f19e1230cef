"""Ollama's request rules before routing: trailing-slash redirects, CORS, the Host check, and auth."""

from __future__ import annotations

import hmac
import posixpath
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from flask import Request, Response

from ollama_contract_kit.openapi.hosts import (
    BAD_REQUEST_TYPE,
    FOREIGN,
    MALFORMED_HOST,
    NAME,
    bad_request_text,
    effective_host,
    host_kind,
    host_refusal,
)
from ollama_contract_kit.openapi.hosts import allowed_origins as allowed_origins
from ollama_contract_kit.openapi.hosts import is_loopback_bind as is_loopback_bind
from ollama_contract_kit.openapi.hosts import is_same_origin as is_same_origin
from ollama_contract_kit.openapi.hosts import origin_allowed as origin_allowed
from ollama_contract_kit.openapi.releases import Version, has

from .responses import allow_header, empty, error_response

_ALLOW_HEADERS = (
    "Authorization,Content-Type,User-Agent,Accept,X-Requested-With,Openai-Beta,X-Stainless-Arch,"
    "X-Stainless-Async,X-Stainless-Custom-Poll-Interval,X-Stainless-Helper-Method,X-Stainless-Lang,"
    "X-Stainless-Os,X-Stainless-Package-Version,X-Stainless-Poll-Helper,X-Stainless-Retry-Count,"
    "X-Stainless-Runtime,X-Stainless-Runtime-Version,X-Stainless-Timeout"
)


def redirect_for_path(request: Request, routed: bool, release: Version | None = None) -> Response | None:
    """Go's redirects: unclean paths (Go's ServeMux, any method: 307 since Go 1.26, 301 before) and a
    trailing slash on a routed path (gin: 301 for GET, 307 otherwise).

    The raw path is judged: Werkzeug's `request.path` folds leading slashes, so `//api/ps` would pass.
    """
    path = _raw_path(request)
    cleaned = posixpath.normpath(path) if path not in ("", "/") else "/"
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    query = ("?" + request.query_string.decode("latin-1")) if request.query_string else ""
    if cleaned != path:
        status = 307 if has(release, "clean_path_307") else 301
        return _redirect(request.script_root + cleaned + query, status, request.method)
    if routed and path.endswith("/") and path != "/":
        return _redirect(
            request.script_root + path.rstrip("/") + query, 301 if request.method == "GET" else 307, request.method
        )
    return None


def _raw_path(request: Request) -> str:
    """The request's path with the leading slashes the client sent (waitress and Werkzeug fold them)."""
    path = request.environ.get("PATH_INFO") or "/"
    target = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI") or path
    slashes = len(target) - len(target.lstrip("/"))
    if slashes > 1 and not request.script_root:
        return "/" * slashes + path.lstrip("/")
    return path


def _redirect(location: str, status: int, method: str) -> Response:
    """Go's `http.Redirect`: an HTML link body for GET, its content type for GET and HEAD, nothing else otherwise."""
    if method == "GET":
        link = f'<a href="{_go_html_escape(location)}">{HTTPStatus(status).phrase}</a>.\n\n'
        response = Response(link.encode(), status=status, content_type="text/html; charset=utf-8")
    else:
        response = empty(status)
        if method == "HEAD":
            response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Location"] = location
    return response


def _go_html_escape(text: str) -> str:
    """Go's `htmlEscape` (net/http): `&<>"'` as `&amp;` `&lt;` `&gt;` `&#34;` `&#39;`."""
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;")):
        text = text.replace(raw, escaped)
    return text


def cors_preflight(origin: str, patterns: tuple[str, ...], methods: Iterable[str]) -> Response:
    """The 204 answer to an allowed preflight (OPTIONS with an allowed Origin)."""
    response = empty(204)
    allow_all = "*" in patterns
    response.headers["Access-Control-Allow-Origin"] = "*" if allow_all else origin
    response.headers["Access-Control-Allow-Methods"] = "GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS"
    response.headers["Access-Control-Allow-Headers"] = _ALLOW_HEADERS
    response.headers["Access-Control-Max-Age"] = "43200"
    if not allow_all:
        for vary in ("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"):
            response.headers.add("Vary", vary)
    allowed = allow_header(methods)
    if allowed:
        response.headers["Allow"] = allowed
    return response


def add_cors_headers(response: Response, origin: str, patterns: tuple[str, ...]) -> None:
    """Headers an allowed cross-origin (non-preflight) answer carries."""
    if "*" in patterns:
        response.headers["Access-Control-Allow-Origin"] = "*"
    else:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")


def host_verdict(environ: Mapping[str, Any]) -> tuple[str | None, str]:
    """Go's reason to refuse the request's Host (None when net/http lets it through), and the Host check's kind.

    The raw header is judged: waitress hands its bytes over as Latin-1; granian turns a Host that is
    not plain ASCII into `""`, so there an empty Host on HTTP/1.1 is refused as malformed (Go answers
    400 for a missing or non-ASCII Host; only a present but empty one would pass). An absolute-form
    target is judged by its authority, as Go does, where the server hands the raw target over
    (waitress; granian does not).
    """
    header = environ.get("HTTP_HOST")
    http_1_1 = environ.get("SERVER_PROTOCOL") == "HTTP/1.1"
    if header == "" and http_1_1 and environ.get("SERVER_SOFTWARE") == "Granian":
        return MALFORMED_HOST, FOREIGN
    target = environ.get("REQUEST_URI") or environ.get("RAW_URI") or "/"
    values = [] if header is None else [header.encode("latin-1", errors="replace")]
    return host_refusal(values, http_1_1, target), host_kind(effective_host(target, header or ""))


def go_refusal(request: Request) -> Response | None:
    """Go's net/http `400 Bad Request` for a missing, doubled or malformed Host, before anything else runs.

    Go also closes the connection; a WSGI app may not say so (waitress refuses `Connection`), so it stays open.
    """
    reason, _ = host_verdict(request.environ)
    if reason is None:
        return None
    return Response(bad_request_text(reason), status=400, content_type=BAD_REQUEST_TYPE)


def host_check(request: Request) -> Response | None:
    """Ollama's DNS-rebinding guard: 403 unless the host is provably local; OPTIONS to a local name is 204."""
    _, kind = host_verdict(request.environ)
    if kind == FOREIGN:
        return empty(403)
    if kind == NAME and request.method == "OPTIONS":
        return empty(204)
    return None


def token_matches(authorization: str, token: str) -> bool:
    """True when an Authorization header carries `Bearer <token>` (compared in constant time).

    The scheme is case-insensitive (RFC 9110 §11.1: proxies send `bearer`); the token is not.
    """
    scheme, _, given = authorization.strip().partition(" ")
    matches = hmac.compare_digest(
        given.strip().encode("utf-8", "surrogateescape"), token.encode("utf-8", "surrogateescape")
    )
    return scheme.lower() == "bearer" and matches


def authorization_failure(request: Request, token: str | None) -> Response | None:
    """401 with Ollama's error body unless the request carries `Authorization: Bearer <token>`."""
    if token is None or token_matches(request.headers.get("Authorization", ""), token):
        return None
    response = error_response(401, "unauthorized")
    response.headers["WWW-Authenticate"] = 'Bearer realm="ollama-mock"'
    return response
