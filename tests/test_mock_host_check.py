"""Ollama's DNS-rebinding guard on a real socket, for both servers: only a provably local Host gets through."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest

from .served import SERVERS, serve_mock

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

FOREIGN = ["evil_rebind.com:11434", "evil.com:99999", "127.0.0.1@evil.com", "evil com", "a" * 64 + ".com", "a..b",
           "[::1]evil.com", "evil.com", "8.8.8.8:11434"]  # fmt: skip
LOCAL = ["localhost:11434", "127.0.0.1:11434", "[::1]:11434", "10.1.2.3", "0.0.0.0", "box.local", "app.localhost"]


@pytest.fixture(scope="module", params=SERVERS)
def served(request: pytest.FixtureRequest) -> Iterator[int]:
    with serve_mock(request.param, "--quiet") as mock:
        yield mock.port


def _status(port: int, host: str, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": host})
        return connection.getresponse().status
    finally:
        connection.close()


@pytest.mark.parametrize("host", FOREIGN)
@pytest.mark.parametrize("path", ["/api/ps", "/_mock/world", "/api/tags"])
def test_a_host_that_is_not_provably_local_is_refused(served: int, host: str, path: str) -> None:
    assert _status(served, host, path) in (400, 403)


@pytest.mark.parametrize("host", LOCAL)
def test_local_hosts_are_served(served: int, host: str) -> None:
    assert _status(served, host, "/api/ps") == 200
