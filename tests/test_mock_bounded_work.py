"""Hostile input costs the mock bounded time and memory, on a loopback socket with both servers: a world of
a million wrong entries, and uploads the request log must not read whole; the log masks the token however
it is spelled."""

from __future__ import annotations

import hashlib
import json
import re
import socket
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from urllib.parse import quote

import pytest

from ollama_contract_kit.contract_tests.captures import parse_answer

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
    parsed = parse_answer(answer)  # de-chunked: Go, and the mock, send a body over 2 KiB chunked
    return parsed.status, parsed.body


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


def test_the_request_log_reads_no_more_of_an_unread_upload_than_it_keeps(served: Served) -> None:
    blob = b"known weights"
    digest = "sha256:" + hashlib.sha256(blob).hexdigest()
    assert _send(served.port, "POST", f"/api/blobs/{digest}", blob)[0] == 201
    before = served.memory_kib()
    status, _ = _send(served.port, "POST", f"/api/blobs/{digest}", b"w" * (256 * MIB))
    grown_mib = (served.memory_kib() - before) / 1024
    assert status == 200, "the server has the blob: it answers without reading the upload"
    assert grown_mib < 64, f"resident memory grew by {grown_mib:.0f} MiB after a 256 MiB upload it never read"
    logged = _log(served)[-1]
    assert logged["path"] == f"/api/blobs/{digest}" and len(logged["body"]) <= 64 * 1024


def _log(served: Served) -> list[dict[str, str]]:
    status, body = _send(served.port, "GET", "/_mock/requests", b"")
    assert status == 200
    entries: list[dict[str, str]] = json.loads(body)["requests"]
    return entries


#: How a client may spell the token in a URL: percent-encoded, in either case.
IN_URLS = [
    quote(TOKEN, safe=""),
    re.sub("%[0-9A-F]{2}", lambda escape: escape.group().lower(), quote(TOKEN, safe="")),
    "".join(f"%{byte:02X}" for byte in TOKEN.encode()),
]
#: ... and in a JSON body: with JSON escapes too, or mixed.
IN_BODIES = [
    *IN_URLS,
    TOKEN.replace("/", "\\/"),
    "".join(f"\\u{ord(character):04x}" for character in TOKEN),
    TOKEN[:5] + "".join(f"\\u{ord(character):04X}" for character in TOKEN[5:]),
]


def test_the_token_is_masked_in_the_request_log_however_it_is_spelled(served: Served) -> None:
    for spelling in IN_URLS:
        assert _send(served.port, "GET", f"/api/tags?note={spelling}", b"")[0] == 200
    for spelling in IN_BODIES:
        body = b'{"model":"qwen3:8b","prompt":"' + spelling.encode() + b'"}'
        assert _send(served.port, "POST", "/api/show", body)[0] == 200
    text = json.dumps(_log(served))
    leaked = [spelling for spelling in [TOKEN, *IN_BODIES] if spelling in text]
    assert not leaked, f"the log shows the token as {leaked}"


@pytest.mark.parametrize("kept", [1, 6, 12, len(TOKEN) - 1])
def test_a_token_cut_by_the_logs_limit_is_masked_at_the_cut(served: Served, kept: int) -> None:
    prefix = b'{"model":"qwen3:8b","prompt":"'
    filler = b"a" * (64 * 1024 - len(prefix) - kept)
    body = prefix + filler + TOKEN.encode() + b'"}'
    assert _send(served.port, "POST", "/api/show", body)[0] == 200
    logged = _log(served)[-1]["body"]
    assert logged.endswith("a***") and TOKEN[:kept] not in logged[-len(TOKEN) - 3 :]
