"""No client stalls the others, on a loopback socket with both servers: slow uploads, idle, leaked and
half-sent connections, which time out after `--idle-timeout`; SIGTERM stops the server whatever they do."""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing

import pytest

from .served import SERVERS, Served, allow_open_files, serve_mock


@pytest.fixture(scope="module", params=SERVERS)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    with serve_mock(request.param, "--quiet") as mock:
        yield mock


def _slow_upload(port: int) -> socket.socket:
    """A client that promises 20,000 bytes of body and sends 10."""
    connection = socket.create_connection(("127.0.0.1", port))
    head = b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 20000\r\n\r\n"
    connection.sendall(head + b'{"model":')
    return connection


def test_slow_uploads_idle_and_slowloris_connections_leave_ps_answering(served: Served) -> None:
    with ExitStack() as stack:
        for _ in range(3):  # granian's default 4 threads: each slow upload holds one
            stack.enter_context(closing(_slow_upload(served.port)))
        for number in range(300):
            idle = stack.enter_context(closing(socket.create_connection(("127.0.0.1", served.port))))
            if number % 2:  # slowloris: the headers never end
                idle.sendall(b"GET /api/ps HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        time.sleep(0.3)
        assert max(served.ps_seconds() for _ in range(5)) < 2, "every /api/ps answered within 2 s"


@pytest.mark.parametrize("server", SERVERS)
def test_two_thousand_idle_connections_leave_ps_answering_within_a_second(server: str) -> None:
    if not allow_open_files(2_200):
        pytest.skip("the hard limit of open files is below 2,200")
    with serve_mock(server, "--quiet") as mock, ExitStack() as stack:
        for _ in range(2_000):
            stack.enter_context(closing(socket.create_connection(("127.0.0.1", mock.port))))
        assert max(mock.ps_seconds() for _ in range(5)) < 1.0


@pytest.mark.parametrize("server", SERVERS)
def test_a_client_leaking_a_thousand_keep_alive_connections_leaves_ps_answering(server: str) -> None:
    if not allow_open_files(1_200):
        pytest.skip("the hard limit of open files is below 1,200")
    with serve_mock(server, "--quiet") as mock, ExitStack() as stack:
        for _ in range(1_000):
            leaked = stack.enter_context(closing(socket.create_connection(("127.0.0.1", mock.port), timeout=5)))
            leaked.sendall(b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert leaked.recv(4096).startswith(b"HTTP/1.1 200")
        assert max(mock.ps_seconds() for _ in range(5)) < 1.0


def _seconds_until_closed(connections: dict[str, socket.socket], limit: float) -> dict[str, float]:
    """How long each connection stayed open before the server closed it (waiting at most `limit` seconds)."""
    started, closed = time.monotonic(), {}
    names = {connection: name for name, connection in connections.items()}
    while len(closed) < len(connections) and time.monotonic() - started < limit:
        waiting = [connection for connection, name in names.items() if name not in closed]
        for connection in select.select(waiting, [], [], 0.1)[0]:
            try:
                ended = not connection.recv(65536)  # an answer before the close is read past
            except ConnectionResetError:
                ended = True
            if ended:
                closed[names[connection]] = time.monotonic() - started
    return closed


@pytest.mark.parametrize("server", SERVERS)
def test_silent_connections_are_closed_after_the_idle_timeout(server: str) -> None:
    with serve_mock(server, "--quiet", "--idle-timeout", "1") as mock, ExitStack() as stack:
        connections = {
            name: stack.enter_context(closing(socket.create_connection(("127.0.0.1", mock.port), timeout=1)))
            for name in ("idle", "half a request head", "kept alive after an answer")
        }
        connections["half a request head"].sendall(b"GET /api/ps HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        connections["kept alive after an answer"].sendall(b"GET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        connections["kept alive after an answer"].recv(4096)
        closed = _seconds_until_closed(connections, limit=10)
    assert sorted(closed) == sorted(connections), f"still open after 10 s: {set(connections) - set(closed)}"
    assert all(0.5 < seconds < 5 for seconds in closed.values()), closed


def test_slow_uploads_beyond_the_threads_leave_ps_answering_and_end_after_the_idle_timeout_on_waitress() -> None:
    # Waitress buffers a body before a thread sees it; granian cannot (README: --threads).
    with serve_mock("waitress", "--quiet", "--threads", "2", "--idle-timeout", "2") as mock, ExitStack() as stack:
        uploads = {f"upload {number}": stack.enter_context(closing(_slow_upload(mock.port))) for number in range(20)}
        assert max(mock.ps_seconds() for _ in range(5)) < 1.0
        closed = _seconds_until_closed(uploads, limit=10)
    assert sorted(closed) == sorted(uploads) and all(1 < seconds < 6 for seconds in closed.values()), closed


def test_more_threads_let_granian_take_more_stalled_uploads() -> None:
    # Granian reads a body in the app's thread and has no body-read timeout: --threads is the remedy.
    with serve_mock("granian", "--quiet", "--threads", "12") as mock, ExitStack() as stack:
        for _ in range(11):
            stack.enter_context(closing(_slow_upload(mock.port)))
        assert max(mock.ps_seconds() for _ in range(5)) < 1.0


@pytest.mark.parametrize("server", SERVERS)
def test_sigterm_stops_the_server_promptly_whatever_the_clients_do(server: str) -> None:
    with serve_mock(server, "--quiet") as mock, ExitStack() as stack:
        stack.enter_context(closing(_slow_upload(mock.port)))
        for _ in range(50):
            stack.enter_context(closing(socket.create_connection(("127.0.0.1", mock.port))))
        time.sleep(0.3)
        errors = mock.stop(timeout=10)  # granian gives its requests 3 s, then stops the worker
    assert mock.process.returncode == 0 and "stopped" in errors and "Traceback" not in errors
