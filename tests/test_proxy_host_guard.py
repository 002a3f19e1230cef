"""The proxy is a security boundary: the rebinding matrix through it gets the answers Ollama gives directly,
what it refuses never reaches the upstream (nor carries the `--headers` credentials), and `Host` is kept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ollama_contract_kit.mock_server import MockOllama

from .proxied import Proxied, RawUpstream, http_answer, proxy_to
from .rebinding import FORMS, REQUESTS, Form, exchange, status_of

pytestmark = pytest.mark.slow  # each test starts the proxy as a process: `make check` leaves them out

TOKEN = "s3cr3t-token"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockOllama]:
    with MockOllama(log_requests=False, token=TOKEN) as served:  # waitress: it hands over the raw Host bytes
        yield served


@pytest.fixture(scope="module")
def proxied(mock: MockOllama) -> Iterator[Proxied]:
    with proxy_to(mock.url, "--quiet", "--headers", f"Authorization: Bearer {TOKEN}") as running:
        yield running


def _tagged(form: Form, method: str, path: str, body: bytes, tag: str, token: bool) -> bytes:
    extra = f"\r\nX-Matrix: {tag}" + (f"\r\nAuthorization: Bearer {TOKEN}" if token else "")
    return form.request(method, path, body, extra.encode())


@pytest.mark.parametrize("form", FORMS, ids=[form.name for form in FORMS])
def test_the_rebinding_matrix_through_the_proxy_equals_ollama_s_direct_answers(
    mock: MockOllama, proxied: Proxied, form: Form
) -> None:
    for method, path, body in REQUESTS:
        tag = f"{form.name}|{method} {path}"
        direct = status_of(exchange(mock.port, _tagged(form, method, path, body, "direct", token=True)))
        through = status_of(exchange(proxied.port, _tagged(form, method, path, body, tag, token=False)))
        assert direct == form.ollama, f"the mock itself answers {form.name} as Ollama does"
        assert through == direct, f"{method} {path} with {form.name}: {through} through the proxy, {direct} direct"
        reached = [r for r in mock.requests if r["headers"].get("X-Matrix") == tag]
        assert bool(reached) == (direct not in (400, 403)), f"{tag}: only what Ollama would serve is forwarded"


def test_refused_requests_never_reach_the_upstream_nor_carry_credentials(mock: MockOllama, proxied: Proxied) -> None:
    before = len(mock.requests)
    for host in (b"evil.example", b"evil.example:11434", b"[::1]", b"169.254.169.254"):
        request = b"GET /api/ps HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"
        answer = exchange(proxied.port, request)
        assert status_of(answer) == 403 and answer.endswith(b"\r\n\r\n"), "Ollama's empty 403"
        assert TOKEN.encode() not in answer
    assert len(mock.requests) == before, "nothing was forwarded"


def test_host_is_forwarded_as_the_app_sent_it(mock: MockOllama, proxied: Proxied) -> None:
    request = b"GET /api/tags HTTP/1.1\r\nHost: localhost:11435\r\nX-Matrix: kept\r\nConnection: close\r\n\r\n"
    assert status_of(exchange(proxied.port, request)) == 200
    seen = [r for r in mock.requests if r["headers"].get("X-Matrix") == "kept"]
    assert seen and seen[-1]["headers"]["Host"] == "localhost:11435"
    assert seen[-1]["headers"]["Authorization"] == "Bearer ***", "the credentials were added (masked in the log)"


def test_allow_host_lets_a_deliberate_alias_in() -> None:
    upstream = RawUpstream(lambda request: http_answer(b'{"models":[]}'))  # an upstream without a Host check
    try:
        with proxy_to(upstream.url, "--quiet", "--allow-host", "ollama.lan") as running:
            alias = b"GET /api/ps HTTP/1.1\r\nHost: OLLAMA.lan:11435\r\nConnection: close\r\n\r\n"
            other = b"GET /api/ps HTTP/1.1\r\nHost: other.lan\r\nConnection: close\r\n\r\n"
            assert status_of(exchange(running.port, alias)) == 200
            assert status_of(exchange(running.port, other)) == 403
            code, output = running.stop()
    finally:
        upstream.close()
    assert code == 0, output
    assert [request.split(b"\r\n")[1] for request in upstream.seen[1:]] == [b"Host: OLLAMA.lan:11435"]
