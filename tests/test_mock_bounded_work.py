"""Hostile input costs the mock bounded time and memory, on a loopback socket with both servers: a world of
a million wrong entries."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from .served import SERVERS, Served, serve_mock

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads resident memory from /proc")

#: A token with characters that percent-encoding and JSON escapes change.
TOKEN = "Zq81/s3cr3t+t0k3n=="
MIB = 1024 * 1024


@pytest.fixture(scope="module", params=SERVERS)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    with serve_mock(request.param, "--quiet", "--token", TOKEN) as mock:
        yield mock


def _send(port: int, method: str, path: str, body: bytes, wait: float = 60) -> tuple[int, bytes]:
    """One request on its own connection; the status and body of the answer (the body may be cut short)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
    head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    with closing(socket.create_connection(("127.0.0.1", port), timeout=wait)) as connection:
        connection.sendall(head.encode())
        try:
            for start in range(0, len(body), MIB):
                connection.sendall(body[start : start + MIB])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered before it read the whole body, and closed
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    head_bytes, _, answer_body = answer.partition(b"\r\n\r\n")
    return int(head_bytes.split(b" ", 2)[1]), answer_body


@pytest.mark.parametrize("where", ["models", "running"])
def test_a_world_of_a_million_non_objects_is_refused_in_seconds_and_bounded_memory(served: Served, where: str) -> None:
    items = b"[" + b",".join([b"1"] * 1_000_000) + b"]"
    body = b'{"models":' + items + b"}" if where == "models" else b'{"models":[],"running":' + items + b"}"
    peak_before = served.memory_kib("VmHWM")
    started = time.monotonic()
    status, answer = _send(served.port, "PUT", "/_mock/world", body)
    elapsed = time.monotonic() - started
    peak_grown_mib = (served.memory_kib("VmHWM") - peak_before) / 1024
    assert status == 400
    lines = json.loads(answer)["error"].splitlines()
    assert lines[0] == "invalid fixture request body:"
    assert lines[1] == f"  $.{where}[0]: 1 is not of type 'object'"
    assert all(line.startswith(f"  $.{where}[") for line in lines[1:21]), "the first 20 problems, in order"
    assert lines[21:] == ["  $: and more than 10,000 more problems not listed"]
    assert elapsed < 10, f"{elapsed:.1f} s for a 2 MB body"
    assert peak_grown_mib < 150, f"peak memory grew by {peak_grown_mib:.0f} MiB for a 2 MB body"
