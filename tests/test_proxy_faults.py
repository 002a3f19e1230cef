"""The proxy never loses its verdict: upstream faults reach the app as the upstream gave them and are one
`[proxy]` line each; odd bytes pass unchanged and are judged without a crash; SIGTERM at any point
leaves valid reports and the documented exit code."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from .proxied import PROXY, RawUpstream, Reply, http_answer, proxy_to
from .rebinding import exchange, status_of

pytestmark = pytest.mark.slow  # each test starts the proxy as a process: `make check` leaves them out

PS = b'{"models":[]}'
STREAM_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n"
LINE = b'{"model":"smollm2:360m","created_at":"2026-12-03T10:00:00Z","response":"Hi","done":false}\n'
#: Broken answers an upstream can give, each as its raw bytes (the connection closes after them).
FAULTS: dict[str, bytes] = {
    "a body shorter than its Content-Length": http_answer(PS).replace(b"Length: 13", b"Length: 100"),
    "Content-Length: abc": http_answer(PS).replace(b"Length: 13", b"Length: abc"),
    "a stream dropped mid-answer": STREAM_HEAD + b"%x\r\n%s\r\n" % (len(LINE), LINE) * 2,
}


def _content(answer: bytes) -> tuple[bytes, bool]:
    """An answer's body bytes (chunks joined), and whether it ended as its framing said."""
    head, _, body = answer.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length: *(\d+) *$", head)
    if b"chunked" not in head.lower():
        return body, length is not None and len(body) == int(length.group(1))
    content = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return content, True
        content, body = content + body[:size], body[size + 2 :]
    return content, False


def _reports(tmp_path: Path) -> list[str]:
    return ["--json", str(tmp_path / "proxy.json"), "--junit-xml", str(tmp_path / "proxy.xml")]


def _read_reports(tmp_path: Path) -> dict[str, object]:
    ElementTree.parse(tmp_path / "proxy.xml")  # valid XML
    report = json.loads((tmp_path / "proxy.json").read_text(encoding="utf-8"))
    assert isinstance(report, dict)
    return report


@contextmanager
def _upstream(reply: Reply) -> Iterator[RawUpstream]:
    upstream = RawUpstream(reply)
    try:
        yield upstream
    finally:
        upstream.close()


@pytest.mark.parametrize("fault", FAULTS)
def test_an_upstream_fault_reaches_the_app_as_sent_and_is_one_proxy_line(fault: str, tmp_path: Path) -> None:
    raw = FAULTS[fault]
    path = "/api/generate" if b"ndjson" in raw else "/api/ps"
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    with _upstream(lambda _: raw) as upstream:
        direct = exchange(upstream.port, request)
        with proxy_to(upstream.url, *_reports(tmp_path)) as proxied:
            through = exchange(proxied.port, request)
            code, output = proxied.stop(signal.SIGTERM)
    assert status_of(through) == status_of(direct) == 200
    sent, sent_whole = _content(direct)
    got, got_whole = _content(through)
    assert got == sent, "the bytes the upstream sent (the proxy may frame them in chunks)"
    assert not got_whole, "then the connection closes without a proper end, as the upstream's did"
    lines = [line for line in output.splitlines() if line.startswith("[proxy]")]
    assert len(lines) == 1 and path in lines[0], output
    assert code == 1 and "DOES NOT CONFORM" in output and "Traceback" not in output
    report = _read_reports(tmp_path)
    assert report["verdict"] == "DOES NOT CONFORM"


def test_an_unreachable_upstream_is_a_502_with_json_and_a_proxy_line(tmp_path: Path) -> None:
    with _upstream(lambda _: http_answer(PS)) as upstream, proxy_to(upstream.url, *_reports(tmp_path)) as proxied:
        upstream.close()
        answer = exchange(proxied.port, b"GET /api/ps HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        code, output = proxied.stop(signal.SIGTERM)
    assert status_of(answer) == 502
    assert "did not answer GET /api/ps" in json.loads(answer.partition(b"\r\n\r\n")[2])["error"]
    assert len([line for line in output.splitlines() if line.startswith("[proxy]")]) == 1
    assert code == 1 and _read_reports(tmp_path)["verdict"] == "DOES NOT CONFORM"


def test_an_upstream_that_closes_without_an_answer_closes_the_app_s_connection_too() -> None:
    with _upstream(lambda _: b"") as upstream, proxy_to(upstream.url) as proxied:
        answer = exchange(proxied.port, b"GET /api/tags HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        code, output = proxied.stop()
    assert answer == b"", "no answer, as from the upstream"
    assert "[proxy]" in output and "no answer" in output and code == 1


def test_odd_bytes_pass_unchanged_and_are_judged_without_a_crash(tmp_path: Path) -> None:
    odd_answer = http_answer(
        b'{"model":"\\ud800","created_at":"2026-12-03T10:00:00Z","response":"\xff\xfe","done":true}'
    )
    request_body = b'{"model": "smollm2:360m", "keep_alive": "\\ud800", "prompt": "\xc3("}'
    request = (
        b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(request_body), request_body)
    )
    with _upstream(lambda _: odd_answer) as upstream:
        with proxy_to(upstream.url, *_reports(tmp_path), env=_ascii_console()) as proxied:
            answer = exchange(proxied.port, request)
            code, output = proxied.stop(signal.SIGTERM)
    assert answer.partition(b"\r\n\r\n")[2] == odd_answer.partition(b"\r\n\r\n")[2], "the answer as sent"
    assert upstream.seen[-1].endswith(request_body), "the request as sent"
    assert "Traceback" not in output and "UnicodeEncodeError" not in output
    assert "[app] POST /api/generate: keep_alive is one Ollama accepts" in output
    assert code == 1, "invalid UTF-8 is not JSON (Go's encoder never sends it)"
    report = _read_reports(tmp_path)
    assert "\\ud800" in json.dumps(report) or "\\\\ud800" in json.dumps(report)


def _ascii_console() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONIOENCODING": "ascii", "LC_ALL": "C"}


def test_sigterm_while_the_upstream_is_asked_its_version_exits_130_with_reports(tmp_path: Path) -> None:
    hanging = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    with closing(hanging):
        url = f"http://127.0.0.1:{hanging.getsockname()[1]}"
        with subprocess.Popen([*PROXY, "--upstream", url, "--port", "0", *_reports(tmp_path)], text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as process:  # fmt: skip
            connection, _ = hanging.accept()  # the proxy is asking now
            with closing(connection):
                process.send_signal(signal.SIGTERM)
                output, _ = process.communicate(timeout=30)
    assert process.returncode == 130, output
    report = _read_reports(tmp_path)
    assert report["verdict"] == "INTERRUPTED" and report["interrupted"] is True


def test_an_unreachable_upstream_at_start_exits_3_with_a_not_checked_report(tmp_path: Path) -> None:
    result = subprocess.run(
        [*PROXY, "--upstream", "http://127.0.0.1:9", "--port", "0", *_reports(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert _read_reports(tmp_path)["verdict"] == "NOT CHECKED"


def test_sigterm_during_a_stream_and_again_during_the_summary_leaves_valid_reports(tmp_path: Path) -> None:
    release = threading.Event()

    def slow_stream(request: bytes) -> bytes:
        release.wait(20)
        return STREAM_HEAD + b"%x\r\n%s\r\n0\r\n\r\n" % (len(LINE), LINE)

    with _upstream(slow_stream) as upstream, proxy_to(upstream.url, *_reports(tmp_path)) as proxied:
        client = socket.create_connection(("127.0.0.1", proxied.port))
        with closing(client):
            client.sendall(b"GET /api/ps HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            deadline = time.monotonic() + 10
            while len(upstream.seen) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)  # the proxy has forwarded it: an exchange is in flight
            proxied.process.send_signal(signal.SIGTERM)
            proxied.process.send_signal(signal.SIGTERM)
            code, output = proxied.stop(signal.SIGTERM)
        release.set()
    assert code in (0, 1) and "Traceback" not in output
    assert re.search(r"stopped after \d+ exchanges", output)
    assert _read_reports(tmp_path)["verdict"] in ("CONFORMS", "DOES NOT CONFORM")


def test_a_secret_the_upstream_echoes_is_masked_in_the_console_and_the_reports(tmp_path: Path) -> None:
    token = "s3cr3t-token-value"
    echoed = json.dumps({"models": [{"name": token, "model": "other", "size": 1, "digest": "d", "details": {},
                                     "expires_at": "2319-03-15T10:42:23Z"}]}).encode()  # fmt: skip
    with _upstream(lambda _: http_answer(echoed)) as upstream:
        with proxy_to(upstream.url, *_reports(tmp_path), "--headers", f"Authorization: Bearer {token}") as proxied:
            exchange(proxied.port, b"GET /api/ps HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            code, output = proxied.stop()
    assert code == 1 and "differs from model" in output, output
    assert token not in output
    assert token not in (tmp_path / "proxy.json").read_text() and token not in (tmp_path / "proxy.xml").read_text()
    assert upstream.seen[-1].count(f"Authorization: Bearer {token}".encode()) == 1, "added upstream, once"


def test_the_port_is_bound_before_the_upstream_is_contacted() -> None:
    with _upstream(lambda _: http_answer(PS)) as upstream, socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = subprocess.run(
            [*PROXY, "--upstream", upstream.url, "--port", str(taken.getsockname()[1])],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 2 and "--port" in result.stderr
    assert upstream.seen == [], "a busy port is said before anything is sent"
