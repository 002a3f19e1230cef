"""Hard to break, on a loopback socket with both servers: hostile bodies, the body limit, smuggling, unclean
paths, and secrets kept out of the request log (slow and idle clients: test_mock_connections.py)."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from ollama_contract_kit.commandline.files import write_text_atomically
from ollama_contract_kit.contract_tests.captures import parse_answer

from .rebinding import exchange
from .served import SERVERS, Served, serve_mock

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

TOKEN = "tok-Zq81-very-secret"
LIMIT = 1024 * 1024
AUTH = f"Authorization: Bearer {TOKEN}\r\n"


@pytest.fixture(scope="module", params=SERVERS)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    with serve_mock(request.param, "--quiet", "--max-body", "1M", "--token", TOKEN) as mock:
        yield mock


def _exchange(port: int, data: bytes, wait: float = 3.0) -> bytes:
    """Send raw bytes, return everything the server answers until it closes (or `wait` passes)."""
    return exchange(port, data, wait)


def _request(method: str, path: str, body: bytes = b"", extra: str = "", length: int | None = None) -> bytes:
    """One request with the token, closing the connection after it; `length` overrides Content-Length."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}{extra}Connection: close\r\n"
    return (head + f"Content-Length: {len(body) if length is None else length}\r\n\r\n").encode() + body


def _status_and_body(answer: bytes) -> tuple[int, bytes]:
    """The status and the body (de-chunked: Go, and the mock, send a body over 2 KiB chunked)."""
    parsed = parse_answer(answer)
    return parsed.status, parsed.body


# -- hostile bodies get 4xx with Go's texts -------------------------------------------------------

HOSTILE = {
    "nested 5,000 deep": (b'{"model":"qwen3:8b","options":' + b"[" * 5000 + b"]" * 5000 + b"}", "exceeded max depth"),
    "an integer of 5,000 digits": (
        b'{"model":"qwen3:8b","keep_alive":' + b"9" * 5000 + b"}",
        "cannot unmarshal number",
    ),
    "1e999": (b'{"model":"qwen3:8b","options":{"temperature":1e999}}', "cannot unmarshal number 1e999"),
    "NaN": (b'{"model":"qwen3:8b","keep_alive":NaN}', "invalid character 'N'"),
    "-Infinity": (b'{"model":"qwen3:8b","keep_alive":-Infinity}', "invalid character 'I' in numeric literal"),
    "a 1 MB keep_alive": (json.dumps({"model": "qwen3:8b", "keep_alive": "0s" * 250_000 + "1"}).encode(), "duration"),
}


ROUTES = ["/api/generate", "/api/chat", "/api/embed", "/v1/chat/completions", "/_mock/load"]
#: /v1 has no keep_alive: a long one is ignored there, as Ollama ignores it.
HOSTILE_CASES = [(path, name) for path in ROUTES for name in HOSTILE if not (path.startswith("/v1") and "keep" in name)]


@pytest.mark.parametrize(("path", "name"), HOSTILE_CASES)
def test_hostile_bodies_get_a_400_naming_the_problem(served: Served, path: str, name: str) -> None:
    body, expected = HOSTILE[name]
    status, answer = _status_and_body(_exchange(served.port, _request("POST", path, body), wait=10))
    assert status == 400
    error = json.loads(answer)["error"]
    assert expected in (error["message"] if isinstance(error, dict) else error)


@pytest.mark.parametrize("value", [b"status=\xb2", b"\xff\xfe", "stätus=503".encode(), b""])
def test_a_fault_header_that_is_not_plain_ascii_is_refused_by_name(served: Served, value: bytes) -> None:
    header = b"X-Ollama-Mock-Fault: " + value + b"\r\n"
    answer = _exchange(served.port, _request("GET", "/api/ps").replace(b"Connection:", header + b"Connection:"))
    status, body = _status_and_body(answer)
    assert status == 400 and "X-Ollama-Mock-Fault" in json.loads(body)["error"]


def test_a_fault_value_of_five_thousand_digits_is_refused_by_name(served: Served) -> None:
    header = b"X-Ollama-Mock-Fault: latency=" + b"9" * 5000 + b"\r\n"
    answer = _exchange(served.port, _request("GET", "/api/ps").replace(b"Connection:", header + b"Connection:"))
    status, body = _status_and_body(answer)
    assert status == 400 and json.loads(body)["error"].startswith("X-Ollama-Mock-Fault: ")


# -- bounded memory: the body limit ---------------------------------------------------------------


def test_a_body_declared_over_the_limit_is_refused_unread(served: Served) -> None:
    status, body = _status_and_body(
        _exchange(served.port, _request("POST", "/api/generate", b"x" * 1000, length=50 * LIMIT))
    )
    assert status == 413
    assert json.loads(body) == {"error": f"request body too large: more than {LIMIT} bytes (ollama-mock --max-body)"}


def test_a_chunked_body_over_the_limit_is_cut_off_with_413(served: Served) -> None:
    piece = b"x" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(LIMIT // len(piece) + 2)) + b"0\r\n\r\n"
    head = f"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}Transfer-Encoding: chunked\r\n\r\n".encode()
    status, body = _status_and_body(_exchange(served.port, head + chunks))
    assert status == 413 and "--max-body" in json.loads(body)["error"]


def test_a_body_at_the_limit_is_read(served: Served) -> None:
    body = b'{"model":"qwen3:8b","prompt":"' + b"a" * (LIMIT - 40) + b'"}'
    body += b" " * (LIMIT - len(body))
    status, _ = _status_and_body(_exchange(served.port, _request("POST", "/api/show", body)))
    assert status == 200


def test_blob_uploads_are_exempt_from_the_limit(served: Served) -> None:
    blob = b"\x00weights" * (LIMIT // 4)
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    status, _ = _status_and_body(_exchange(served.port, _request("POST", f"/api/blobs/{digest}", blob), wait=10))
    assert status == 201


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads resident memory from /proc")
def test_large_bodies_leave_memory_where_it_was(served: Served) -> None:
    before = served.memory_kib()
    piece = b"y" * (1024 * 1024)
    for _ in range(3):  # 3 × 64 MiB streamed, each cut off at the 1 MiB limit
        with closing(socket.create_connection(("127.0.0.1", served.port), timeout=5)) as connection:
            connection.sendall(
                f"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}Transfer-Encoding: chunked\r\n\r\n".encode()
            )
            try:
                for _ in range(64):
                    connection.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered 413 and closed
    grown = served.memory_kib() - before
    assert grown < 32 * 1024, f"resident memory grew by {grown} KiB after 192 MiB of refused bodies"
    assert served.ps_seconds(TOKEN) < 2


# -- HTTP edge cases ------------------------------------------------------------------------------


def test_a_request_with_both_content_length_and_chunked_closes_the_connection(served: Served) -> None:
    smuggled = (
        f"POST /api/show HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
        f"0\r\n\r\nGET /api/version HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}\r\n"
    ).encode()
    answer = _exchange(served.port, smuggled)
    assert answer.count(b"HTTP/1.1 ") == 1, "the request after it is never answered"
    assert b"connection: close" in answer.lower()


@pytest.mark.parametrize("path", ["//api/ps", "//api//tags", "/api//ps", "/api/./ps"])
def test_unclean_paths_are_redirected(served: Served, path: str) -> None:
    head, _, _ = _exchange(served.port, _request("GET", path)).partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"307", "Go 1.26's ServeMux, as Ollama 0.23.1 and later"
    assert b"\r\nlocation: /api/" in head.lower()


@pytest.mark.parametrize("path", ["/api/ps", "/api/tags", "/api/version", "/", "/_mock/world"])
def test_http_1_0_without_host_is_served_alike_on_every_route(served: Served, path: str) -> None:
    answer = _exchange(served.port, f"GET {path} HTTP/1.0\r\n{AUTH}\r\n".encode())
    assert answer.startswith(b"HTTP/1.") and answer.split(b" ")[1] == b"200"


# -- secrets never reach the request log ----------------------------------------------------------


def test_the_token_is_masked_in_the_request_log_after_every_kind_of_request(served: Served) -> None:
    port = served.port
    sent = [
        _request("GET", f"/api/ps?token={TOKEN}&api_key={TOKEN}&model=x"),
        _request("GET", "/api/tags", extra=f"X-Auth: {TOKEN}\r\nX-Api-Key: {TOKEN}\r\nCookie: s={TOKEN}\r\n"),
        _request("POST", "/api/show", json.dumps({"model": TOKEN}).encode()),
        _request("POST", "/api/generate", b'{"model":"' + TOKEN.encode() + b'", "keep_alive": "-1"}'),
        _request("GET", f"/api/{TOKEN}"),
        _request("POST", "/v1/chat/completions", json.dumps({"model": "x", "user": TOKEN}).encode()),
        _request("GET", "/api/ps", extra=f"X-Custom-Note: prefix {TOKEN} suffix\r\n"),
        _request("GET", "/api/ps").replace(AUTH.encode(), f"Authorization: Bearer wrong-{TOKEN}\r\n".encode()),
    ]
    for data in sent:
        assert _exchange(port, data)
    status, body = _status_and_body(_exchange(port, _request("GET", "/_mock/requests")))
    assert status == 200
    log = body.decode()
    assert TOKEN not in log
    entries = json.loads(log)["requests"]
    assert len(entries) >= len(sent) and "***" in log
    assert any("token=***" in entry["path"] and "model=x" in entry["path"] for entry in entries)


def test_a_fixture_written_is_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "world.yaml"
    target.write_text("models: []\n")

    def interrupted(_: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("os.fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_text_atomically(target, "models:\n  - name: half\n")
    assert target.read_text() == "models: []\n", "the old file is untouched"
    assert [path.name for path in tmp_path.iterdir()] == ["world.yaml"], "no temporary file is left behind"


def test_a_world_of_two_thousand_running_models_is_taken_whole(http: FlaskClient) -> None:
    template = http.get("/_mock/world").get_json()["models"][0]
    models = [{**template, "name": f"model{index}:latest", "digest": f"{index:064x}"} for index in range(2000)]
    running = [{"model": model["name"], "keep_alive": f"{index + 10}m"} for index, model in enumerate(models)]
    answer = http.put("/_mock/world", json={"models": models, "running": running})
    assert answer.status_code == 200
    listed = http.get("/api/ps").get_json()["models"]
    assert [model["name"] for model in listed] == [f"model{index}:latest" for index in reversed(range(2000))]
