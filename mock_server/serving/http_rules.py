"""Ollama's request rules before routing: trailing-slash redirects, CORS, the Host check, and auth."""

from __future__ import annotations

import functools
import hmac
import ipaddress
import posixpath
import socket
from collections.abc import Iterable
from http import HTTPStatus

from flask import Request, Response

from ollama_contract_kit.openapi.releases import Version, has

from .responses import allow_header, empty, error_response

#: Origins Ollama always allows (envconfig.AllowedOrigins), after those of OLLAMA_ORIGINS.
_DEFAULT_ORIGIN_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0")
_DEFAULT_ORIGIN_SCHEMES = ("app://*", "file://*", "tauri://*", "vscode-webview://*", "vscode-file://*")
_ALLOW_HEADERS = (
    "Authorization,Content-Type,User-Agent,Accept,X-Requested-With,Openai-Beta,X-Stainless-Arch,"
    "X-Stainless-Async,X-Stainless-Custom-Poll-Interval,X-Stainless-Helper-Method,X-Stainless-Lang,"
    "X-Stainless-Os,X-Stainless-Package-Version,X-Stainless-Poll-Helper,X-Stainless-Retry-Count,"
    "X-Stainless-Runtime,X-Stainless-Runtime-Version,X-Stainless-Timeout"
)
_LOCAL_NAME_SUFFIXES = (".localhost", ".local", ".internal")


def allowed_origins(extra: Iterable[str]) -> tuple[str, ...]:
    """The allowed origin patterns: `extra` (like OLLAMA_ORIGINS) first, then Ollama's defaults."""
    patterns = [origin.strip().lower() for origin in extra if origin.strip()]
    for host in _DEFAULT_ORIGIN_HOSTS:
        patterns += [f"http://{host}", f"https://{host}", f"http://{host}:*", f"https://{host}:*"]
    return (*patterns, *_DEFAULT_ORIGIN_SCHEMES)


def origin_allowed(origin: str, patterns: Iterable[str]) -> bool:
    """gin-contrib/cors matching: exact, or one `*` wildcard; a lone `*` allows all."""
    origin = origin.lower()
    for pattern in patterns:
        if pattern == "*" or pattern == origin:
            return True
        prefix, star, suffix = pattern.partition("*")
        if star and origin.startswith(prefix) and origin.endswith(suffix) and len(origin) >= len(pattern) - 1:
            return True
    return False


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


def is_same_origin(origin: str, host: str) -> bool:
    """gin-contrib/cors treats `http(s)://<Host>` as same-origin: no CORS processing."""
    return origin in (f"http://{host}", f"https://{host}")


def is_loopback_bind(bind_host: str) -> bool:
    """True when the server listens on loopback, where Ollama applies its Host check."""
    if bind_host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(bind_host.strip("[]")).is_loopback
    except ValueError:
        return False


@functools.lru_cache(maxsize=512)
def classify_host(host_header: str) -> str:
    """How Ollama's Host check sees a raw Host header: `ip` (allowed address), `name` (allowed name) or `foreign`.

    As Go's `net.SplitHostPort` then `allowedHost`: the port is split off (not validated), and only
    what is provably local passes; anything else, malformed included, is foreign.
    """
    if host_header.startswith("["):
        end = host_header.find("]")
        rest = host_header[end + 1 :]
        if end < 0 or (rest and not rest.startswith(":")):
            return "foreign"
        host = host_header[1:end]
    elif host_header.count(":") == 1:
        host = host_header.rsplit(":", 1)[0]
    else:
        host = host_header
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        return "ip" if address.is_loopback or address.is_private or address.is_unspecified else "foreign"
    lowered = host.lower()
    if lowered in ("", "localhost", socket.gethostname().lower()) or lowered.endswith(_LOCAL_NAME_SUFFIXES):
        return "name"
    return "foreign"


def host_check(request: Request) -> Response | None:
    """Ollama's DNS-rebinding guard: 403 unless Host is local; OPTIONS to a local name is 204.

    The raw header is judged, never Werkzeug's reading of it (which turns a Host it cannot parse into
    `""`, a local name); only a request without any Host (HTTP/1.0) counts as empty.
    """
    kind = classify_host(request.environ.get("HTTP_HOST", ""))
    if kind == "foreign":
        return empty(403)
    if kind == "name" and request.method == "OPTIONS":
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
