"""Responses byte-for-byte as Ollama's gin router writes them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Response

from .encoding import go_json

JSON_TYPE = "application/json; charset=utf-8"
#: Go's net/http buffers this much of a handler's answer: a longer body goes out chunked, without Content-Length.
GO_BUFFER_BYTES = 2048
#: gin's order of method trees in Ollama's route table, which is the order of the `Allow` header.
METHOD_ORDER = ("HEAD", "GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS")


def json_response(data: Any, status: int = 200) -> Response:
    """JSON like gin's `c.JSON`."""
    return Response(go_json(data), status=status, content_type=JSON_TYPE)


def raw_json_response(body: bytes, status: int = 200) -> Response:
    """Already-encoded JSON."""
    return Response(body, status=status, content_type=JSON_TYPE)


def error_response(status: int, message: str) -> Response:
    """Ollama's `{"error": "..."}` body."""
    return json_response({"error": message}, status)


def too_large_text(limit: int) -> str:
    """The error of a request body over the mock's `--max-body` limit."""
    return f"request body too large: more than {limit} bytes (ollama-mock --max-body)"


def not_found() -> Response:
    """Go's `404 page not found` (plain text, no charset)."""
    response = Response(b"404 page not found", status=404)
    response.headers["Content-Type"] = "text/plain"
    return response


def method_not_allowed(methods: Iterable[str]) -> Response:
    """gin's `405 method not allowed` with `Allow` in route-table order."""
    response = Response(b"405 method not allowed", status=405)
    response.headers["Content-Type"] = "text/plain"
    response.headers["Allow"] = allow_header(methods)
    return response


def allow_header(methods: Iterable[str]) -> str:
    """The methods a path accepts, in gin's order."""
    present = set(methods)
    return ", ".join(method for method in METHOD_ORDER if method in present)


def empty(status: int) -> Response:
    """A status with no body and no content type (gin's `AbortWithStatus`)."""
    response = Response(b"", status=status)
    del response.headers["Content-Type"]
    return response


def chunk_like_go(response: Response) -> None:
    """Send a body longer than Go's buffer chunked, without `Content-Length`, as Ollama's net/http does."""
    if response.is_streamed or (response.content_length or 0) <= GO_BUFFER_BYTES:
        return
    body = response.get_data()
    response.response = iter((body,))
    del response.headers["Content-Length"]
