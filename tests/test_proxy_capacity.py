"""Capacity: hundreds of streams in flight never stall a short request, bodies of any size stream through,
and the proxy's memory stays bounded whatever the answers' sizes."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing

import pytest
import requests

from .proxied import Proxied, StreamingUpstream, peak_rss_mb, proxy_to

pytestmark = pytest.mark.slow  # each test starts the proxy as a process: `make check` leaves them out

PULL_BODY = b'{"model":"x:latest"}'
PULL = b"POST /api/pull HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
PULL += b"Content-Length: %d\r\n\r\n%s" % (len(PULL_BODY), PULL_BODY)


@pytest.fixture
def upstream() -> Iterator[StreamingUpstream]:
    served = StreamingUpstream()
    yield served
    served.close()


@pytest.fixture
def proxied(upstream: StreamingUpstream) -> Iterator[Proxied]:
    with proxy_to(upstream.url, "--quiet") as running:
        yield running


def _read_until(connection: socket.socket, marker: bytes, deadline: float) -> bytes:
    data = b""
    while marker not in data and time.monotonic() < deadline:
        piece = connection.recv(65536)
        if not piece:
            break
        data += piece
    return data


def test_200_streams_in_flight_leave_api_ps_answering_within_a_second(
    upstream: StreamingUpstream, proxied: Proxied
) -> None:
    with ExitStack() as stack:
        streams = []
        for _ in range(200):
            connection = stack.enter_context(closing(socket.create_connection(("127.0.0.1", proxied.port))))
            connection.settimeout(10)
            connection.sendall(PULL)
            streams.append(connection)
        deadline = time.monotonic() + 20
        assert all(b"pulling manifest" in _read_until(one, b"pulling manifest", deadline) for one in streams)
        with requests.Session() as session:
            for _ in range(5):
                started = time.monotonic()
                assert session.get(f"{proxied.url}/api/ps", timeout=1).json() == {"models": []}
                assert time.monotonic() - started < 1.0
        upstream.finish.set()
        deadline = time.monotonic() + 20
        assert all(b"success" in _read_until(one, b"0\r\n\r\n", deadline) for one in streams), "every stream ends"
    code, output = proxied.stop()
    assert code == 0, output


def _upload(proxied: Proxied, size: int) -> int:
    digest = "sha256:" + hashlib.sha256(b"").hexdigest()  # the fake upstream only counts the bytes
    piece = bytes(1 << 20)
    with closing(socket.create_connection(("127.0.0.1", proxied.port))) as connection:
        connection.settimeout(60)
        head = f"POST /api/blobs/{digest} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {size}\r\n\r\n"
        connection.sendall(head.encode())
        for _ in range(size // len(piece)):
            connection.sendall(piece)
        answer = _read_until(connection, b"\r\n\r\n", time.monotonic() + 60)
    return int(answer.split(b" ", 2)[1])


def test_a_256_mib_upload_streams_through_in_bounded_memory(upstream: StreamingUpstream, proxied: Proxied) -> None:
    assert _upload(proxied, 256 << 20) == 201
    assert upstream.uploaded == 256 << 20
    assert peak_rss_mb(proxied.process.pid) < 100


@pytest.mark.heavy
def test_a_2_gib_upload_streams_through_in_bounded_memory(upstream: StreamingUpstream, proxied: Proxied) -> None:
    assert _upload(proxied, 2 << 30) == 201
    assert upstream.uploaded == 2 << 30
    assert peak_rss_mb(proxied.process.pid) < 100


def _distinct_large_answers(proxied: Proxied, count: int) -> None:
    with requests.Session() as session:
        for _ in range(count):
            answer = session.post(f"{proxied.url}/api/embed", json={"model": "nomic-embed-text", "input": "x"})
            assert answer.status_code == 200 and len(answer.content) > 4_000_000


def test_memory_stays_bounded_after_distinct_4_mb_answers(proxied: Proxied) -> None:
    _distinct_large_answers(proxied, 20)
    assert peak_rss_mb(proxied.process.pid) < 150
    code, output = proxied.stop()
    assert code == 0 and "answer matches the contract's schema for 200" in output, output


@pytest.mark.heavy
def test_memory_stays_bounded_after_500_distinct_4_mb_answers(proxied: Proxied) -> None:
    _distinct_large_answers(proxied, 500)
    assert peak_rss_mb(proxied.process.pid) < 150
    code, output = proxied.stop()
    assert code == 0, output
