"""Waitress, told the mock's rules: JSON for a body over the limit, and no request after a smuggling attempt."""

from __future__ import annotations

import copy
import sys
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.task import ErrorTask

from ..native.management import BLOB_PATH
from .encoding import go_json
from .responses import JSON_TYPE, too_large_text


def waitress_body_limit(max_body: int) -> int:
    """Waitress's `max_request_body_size` for the mock's `max_body` (waitress refuses a body *of* its limit)."""
    return max_body + 1


class _Parser(HTTPRequestParser):  # type: ignore[misc]
    """Waitress's parser, but a blob upload has no body limit (it is hashed, not kept), and a request with
    both Content-Length and Transfer-Encoding closes the connection after its answer (RFC 9112 §6.3)."""

    def parse_header(self, header_plus: bytes) -> None:
        super().parse_header(header_plus)
        if self.command == "POST" and BLOB_PATH in self.path:
            self.adj: Any = copy.copy(self.adj)
            self.adj.max_request_body_size = sys.maxsize
        if self.chunked and "CONTENT_LENGTH" in self.headers:
            self.headers["CONNECTION"] = "close"  # what waitress's task reads to close after the answer


class _ErrorTask(ErrorTask):  # type: ignore[misc]
    """Waitress's own refusals, except that a body over the limit gets Ollama's JSON error like the app's."""

    def execute(self) -> None:
        if self.request.error.code != 413:
            super().execute()
            return
        body = go_json({"error": too_large_text(self.channel.adj.max_request_body_size - 1)})
        self.status = "413 Request Entity Too Large"
        self.response_headers.append(("Content-Type", JSON_TYPE))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class MockChannel(HTTPChannel):  # type: ignore[misc]
    """A waitress connection with the mock's parser and error answers."""

    parser_class = _Parser
    error_task_class = _ErrorTask


#: Connections waitress takes from the listen queue each time it wakes (it takes one by default, so a
#: burst of 2,000 clients kept a new request waiting behind 2,000 turns of its loop).
ACCEPTS_PER_WAKE = 128


def apply_mock_rules(server: Any) -> None:
    """Serve `server`'s connections with MockChannel, accepting a burst of new connections at once."""
    server.channel_class = MockChannel
    accept_one = server.handle_accept

    def accept_waiting() -> None:
        for _ in range(ACCEPTS_PER_WAKE):
            open_before = len(server._map)
            if open_before >= server.adj.connection_limit:
                return
            accept_one()
            if len(server._map) == open_before:  # the queue is empty (or the accept failed)
                return

    server.handle_accept = accept_waiting
