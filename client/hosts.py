"""The server's base URL, read the way Ollama's own tools read `OLLAMA_HOST`."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from .errors import OllamaClientError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 11434


class InvalidURL(OllamaClientError, ValueError):
    """The server URL cannot be used."""

    exit_code = 2


def base_url(url: str | None = None) -> str:
    """Resolve `url` (else `OLLAMA_HOST`, else 127.0.0.1:11434) to `scheme://host:port[/prefix]`.

    Without a scheme: http and port 11434; `http://` alone defaults to port 80 and `https://` to
    443, like Ollama's clients. A path prefix (a reverse proxy's `/ollama`) is kept.
    """
    raw = (url if url is not None else os.environ.get("OLLAMA_HOST", "")).strip()
    if not raw:
        return f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    scheme, has_scheme, rest = raw.partition("://")
    if not has_scheme:
        scheme, rest = "http", raw
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidURL(f"unsupported scheme {scheme!r} in {raw!r}: use http:// or https://")
    default_port = DEFAULT_PORT if not has_scheme else (443 if scheme == "https" else 80)
    try:
        parts = urlsplit(f"{scheme}://{rest}")
    except ValueError as error:  # e.g. an unclosed IPv6 bracket: "http://[::1"
        raise InvalidURL(f"malformed URL {raw!r}: {error}") from None
    try:
        port = parts.port or default_port
    except ValueError:
        raise InvalidURL(f"invalid port in {raw!r}") from None
    host = parts.hostname or DEFAULT_HOST
    if ":" in host:
        host = f"[{host}]"
    if parts.username or parts.password:
        raise InvalidURL("credentials in the URL are not supported; pass an Authorization header instead")
    prefix = parts.path.rstrip("/")
    return f"{scheme}://{host}:{port}{prefix}"
