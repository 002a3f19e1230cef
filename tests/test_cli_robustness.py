"""Every CLI of the kit against servers that hang or hang up, and bad files: one clear line, a documented code."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ollama_contract_kit.mock_server import MockOllama

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

COMMANDS = {
    "ollama-ps": [sys.executable, "-m", "ollama_contract_kit.client.cli", "--timeout", "1", "--url"],
    "ollama-contract": [
        sys.executable,
        "-m",
        "ollama_contract_kit.contract_tests.cli",
        "verify",
        "--timeout",
        "1",
        "--url",
    ],
    "ollama-mock record": [
        sys.executable,
        "-m",
        "ollama_contract_kit.mock_server.cli",
        "record",
        "--out",
        "/dev/null",
        "--timeout",
        "1",
        "--url",
    ],
}


@contextlib.contextmanager
def _loopback_server(handle: Callable[[socket.socket], None]) -> Iterator[str]:
    """A loopback TCP server that gives every connection to `handle`; yields its host:port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            handle(connection)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@pytest.fixture(params=["hangs", "hangs up"])
def misbehaving_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A server that accepts and then never answers, or closes at once."""
    held: list[socket.socket] = []

    def hang_up(connection: socket.socket) -> None:
        connection.recv(65536)
        connection.close()

    with _loopback_server(held.append if request.param == "hangs" else hang_up) as address:
        yield f"http://{address}", request.param
    for connection in held:
        connection.close()


@pytest.mark.parametrize("command", list(COMMANDS))
def test_cli_against_a_misbehaving_server(command: str, misbehaving_server: tuple[str, str]) -> None:
    url, behaviour = misbehaving_server
    result = subprocess.run([*COMMANDS[command], url], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and url in lines[0], result.stderr
    reason = "no answer within 1 s" if behaviour == "hangs" else "closed the connection without answering"
    assert reason in lines[0]


@pytest.mark.parametrize(
    ("arguments", "mentions"),
    [
        (["--fixtures", "{folder}"], "cannot read it"),
        (["--fixtures", "{folder}/missing.yaml"], "no such file"),
        (["--host", "192.0.2.1", "--port", "0"], "cannot listen on 192.0.2.1"),
    ],
)
def test_mock_cli_bad_files_and_addresses(tmp_path: Path, arguments: list[str], mentions: str) -> None:
    command = [
        sys.executable,
        "-m",
        "ollama_contract_kit.mock_server.cli",
        *[a.format(folder=tmp_path) for a in arguments],
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode in (1, 2)
    assert mentions in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_record_to_an_unwritable_place(ollama_mock: MockOllama, tmp_path: Path) -> None:
    url = ollama_mock.url
    command = [
        sys.executable,
        "-m",
        "ollama_contract_kit.mock_server.cli",
        "record",
        "--url",
        url,
        "--out",
        str(tmp_path / "a-file" / "world.yaml"),
    ]
    (tmp_path / "a-file").write_text("")
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"ollama-mock record: --out: {tmp_path / 'a-file'} is not a folder"
    assert ollama_mock.requests == [], "refused before asking the server"


def test_record_creates_missing_folders(ollama_mock: MockOllama, tmp_path: Path) -> None:
    out = tmp_path / "new" / "folder" / "world.yaml"
    command = [sys.executable, "-m", "ollama_contract_kit.mock_server.cli", "record", "--url", ollama_mock.url]
    result = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and out.is_file()


def _answer_as_plain_http(connection: socket.socket) -> None:
    connection.recv(65536)
    connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    connection.close()


@pytest.mark.parametrize("command", list(COMMANDS))
def test_cli_with_https_to_a_plain_http_server(command: str) -> None:
    with _loopback_server(_answer_as_plain_http) as address:
        url = f"https://{address}"
        result = subprocess.run([*COMMANDS[command], url], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and url in lines[0], result.stderr
    assert "the server does not speak TLS here (try http://)" in lines[0]
