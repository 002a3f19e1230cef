"""The request-body limit (`--max-body`): refused unread when declared too large, cut off when streamed."""

from __future__ import annotations

from typing import IO, Any

from werkzeug.exceptions import RequestEntityTooLarge

from ..native.management import BLOB_PATH


class _CappedInput:
    """A streamed (chunked) body that raises RequestEntityTooLarge once more than `limit` bytes arrive."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._left = limit

    def read(self, size: int | None = -1) -> bytes:
        wanted = self._left + 1 if size is None or size < 0 else min(size, self._left + 1)
        data = self._stream.read(wanted)
        self._left -= len(data)
        if self._left < 0:
            raise RequestEntityTooLarge()
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = self._stream.readline(self._left + 1 if size is None or size < 0 else min(size, self._left + 1))
        self._left -= len(data)
        if self._left < 0:
            raise RequestEntityTooLarge()
        return data


def declared_length(environ: dict[str, Any]) -> int:
    """The request's Content-Length (0 when absent or not a number)."""
    text = environ.get("CONTENT_LENGTH") or "0"
    return int(text) if text.isascii() and text.isdigit() else 0


def apply_body_limit(environ: dict[str, Any], limit: int) -> bool:
    """True when the body is declared larger than `limit` (refuse it unread); a streamed body is
    capped at the limit instead, by wrapping `wsgi.input`.

    Blob uploads are exempt: they are hashed as they arrive and nothing of them is kept.
    """
    if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO", "").startswith(BLOB_PATH):
        return False
    if declared_length(environ) > limit:
        return True
    if not environ.get("CONTENT_LENGTH") and environ.get("wsgi.input_terminated"):
        environ["wsgi.input"] = _CappedInput(environ["wsgi.input"], limit)
    return False
