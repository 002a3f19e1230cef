"""Ollama's DNS-rebinding guard on a real socket, for both servers: the rebinding matrix (tests/rebinding.py)
answered as Ollama answers it, Go's own 400s included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .rebinding import FORMS, REQUESTS, Form, exchange, status_of
from .served import SERVERS, Served, serve_mock

pytestmark = pytest.mark.slow  # subprocesses: `make check` leaves them out


@pytest.fixture(scope="module", params=SERVERS)
def served(request: pytest.FixtureRequest) -> Iterator[tuple[str, Served]]:
    with serve_mock(request.param, "--quiet") as mock:
        yield request.param, mock


@pytest.mark.parametrize("form", FORMS, ids=[form.name for form in FORMS])
def test_each_host_form_gets_ollama_s_answer(served: tuple[str, Served], form: Form) -> None:
    server, mock = served
    expected = form.granian if server == "granian" and form.granian is not None else form.ollama
    for method, path, body in REQUESTS:
        status = status_of(exchange(mock.port, form.request(method, path, body)))
        assert status == expected, f"{method} {path} with {form.name}: {status} on {server}"


def test_go_s_refusal_says_why_in_its_words(served: tuple[str, Served]) -> None:
    _, mock = served
    answer = exchange(mock.port, b"GET /api/ps HTTP/1.1\r\nHost: evil example\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert status_of(answer) == 400 and body == b"400 Bad Request: malformed Host header"
    assert b"content-type: text/plain; charset=utf-8" in head.lower()


def test_http_1_0_without_host_is_served(served: tuple[str, Served]) -> None:
    _, mock = served
    assert status_of(exchange(mock.port, b"GET /api/ps HTTP/1.0\r\n\r\n")) == 200, "Go requires Host from 1.1 on"
