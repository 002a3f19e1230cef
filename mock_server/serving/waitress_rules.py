"""Waitress, told the mock's rules: JSON for a body over the limit, no request after a smuggling attempt, and
a chunked answer that keeps the connection open, as Go's net/http does."""

from __future__ import annotations

import copy
import sys
from typing import Any

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.task import ErrorTask, WSGITask

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


class _Task(WSGITask):  # type: ignore[misc]
    """Waitress's task, except that an HTTP/1.1 answer sent chunked (a stream, or a body Go would chunk) keeps
    the connection open: waitress closes it and says `Connection: close`, Go ends the body with its last chunk."""

    _building_header = False

    def build_response_header(self) -> bytes:
        self._building_header = True
        try:
            header: bytes = super().build_response_header()
            return header
        finally:
            self._building_header = False

    def set_close_on_finish(self) -> None:
        asked = self.request.headers.get("CONNECTION", "").lower() == "close"
        if self._building_header and self.chunked_response and self.version == "1.1" and not asked:
            return
        super().set_close_on_finish()


class MockChannel(HTTPChannel):  # type: ignore[misc]
    """A waitress connection with the mock's parser, tasks and error answers."""

    parser_class = _Parser
    task_class = _Task
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
