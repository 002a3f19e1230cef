"""Progress answers of pull, push and create: NDJSON as it happens, or the last event with `stream: false`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from flask import Response

from ..serving.encoding import go_json

#: `waitForStream` sets this before gin's `c.JSON`, which then keeps it: no charset.
_PLAIN_JSON = "application/json"


class Failed(Exception):
    """The operation failed after it started: the error the stream ends with, and its status (500 by default)."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


def _error(failure: Failed) -> Response:
    return Response(go_json({"error": str(failure)}), status=failure.status, content_type=_PLAIN_JSON)


def progress_response(events: Iterator[dict[str, Any]], stream: bool) -> Response:
    """Answer a progress operation as Ollama's `streamResponse` or `waitForStream` does.

    Streamed: a failure before the first event is a plain JSON error with its status; after it,
    the status stays 200 and the last line is `{"error": ...}`. Not streamed: the last event, or
    the failure with its status.
    """
    if not stream:
        last: dict[str, Any] = {}
        try:
            for event in events:
                last = event
        except Failed as failure:
            return _error(failure)
        return Response(go_json(last), content_type=_PLAIN_JSON)
    try:
        first = next(events)
    except Failed as failure:
        return _error(failure)
    except StopIteration:
        first = {}

    def lines() -> Iterator[bytes]:
        yield go_json(first) + b"\n"
        try:
            for event in events:
                yield go_json(event) + b"\n"
        except Failed as failure:
            yield go_json({"error": str(failure)}) + b"\n"
        except Exception as error:  # a bug of the mock: end the stream as Ollama ends a failed one
            logging.getLogger(__name__).exception("ollama-mock failed while streaming")
            yield go_json({"error": f"ollama-mock internal error: {type(error).__name__}"}) + b"\n"

    return Response(lines(), content_type="application/x-ndjson")
