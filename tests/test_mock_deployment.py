"""Deployment shapes: base path, bearer token, busy ports, the CLI, signals, and recording a live server."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from ollama_contract_kit.mock_server import MockOllama
from ollama_contract_kit.mock_server.world.fixtures import read_fixture_file

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

MOCK = [sys.executable, "-m", "ollama_contract_kit.mock_server.cli"]


def test_base_path_serves_everything_below_the_prefix() -> None:
    with MockOllama(base_path="/ollama/", log_requests=False) as mock:
        assert mock.url.endswith("/ollama")
        assert requests.get(mock.url + "/api/ps", timeout=5).json()["models"]
        assert requests.get(mock.url, timeout=5).text == "Ollama is running"
        outside = requests.get(mock.url.removesuffix("/ollama") + "/api/ps", timeout=5)
        assert outside.status_code == 404 and outside.text == "404 page not found"
        redirect = requests.get(mock.url + "/api/ps/", timeout=5, allow_redirects=False)
        assert redirect.headers["Location"] == "/ollama/api/ps"


def test_token_is_required_on_every_route() -> None:
    with MockOllama(token="s3cret", log_requests=False) as mock:
        for path in ("/api/ps", "/", "/_mock/world", "/nowhere"):
            response = requests.get(mock.url + path, timeout=5)
            assert response.status_code == 401
            assert response.json() == {"error": "unauthorized"}
        wrong = requests.get(mock.url + "/api/ps", headers={"Authorization": "Bearer s3cre"}, timeout=5)
        assert wrong.status_code == 401
        good = requests.get(mock.url + "/api/ps", headers={"Authorization": "Bearer s3cret"}, timeout=5)
        assert good.status_code == 200


def test_preflight_needs_no_token() -> None:
    with MockOllama(token="s3cret", log_requests=False) as mock:
        response = requests.options(mock.url + "/api/ps", headers={"Origin": "http://localhost:3000"}, timeout=5)
        assert response.status_code == 204


def test_handle_steers_the_world(ollama_mock: MockOllama) -> None:
    ollama_mock.freeze()
    entry = ollama_mock.load("smollm2:360m", keep_alive=60)
    assert entry["name"] == "smollm2:360m"
    assert "smollm2:360m" in [m["name"] for m in requests.get(ollama_mock.url + "/api/ps", timeout=5).json()["models"]]
    ollama_mock.advance(61)
    assert "smollm2:360m" not in [m["name"] for m in ollama_mock.running()]
    ollama_mock.load("smollm2:360m")
    ollama_mock.unload("smollm2:360m")
    assert "smollm2:360m" not in [m["name"] for m in ollama_mock.running()]
    assert [r["path"] for r in ollama_mock.requests] == ["/api/ps"]


def test_handle_use_world_replaces_models(ollama_mock: MockOllama) -> None:
    ollama_mock.use_world({"models": []})
    assert requests.get(ollama_mock.url + "/api/ps", timeout=5).json() == {"models": []}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(*arguments: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*MOCK, *arguments], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _wait_until_serving(url: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            requests.get(url, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not come up")


@pytest.mark.parametrize("server", ["granian", "waitress"])
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_cli_serves_and_stops_cleanly_on_signals(stop: signal.Signals, server: str) -> None:
    port = _free_port()
    with _start("--port", str(port), "--token", "tok-123", "--server", server) as process:
        try:
            _wait_until_serving(f"http://127.0.0.1:{port}/", process)
            response = requests.get(
                f"http://127.0.0.1:{port}/api/ps", headers={"Authorization": "Bearer tok-123"}, timeout=5
            )
            assert response.status_code == 200
            process.send_signal(stop)
            _, errors = process.communicate(timeout=10)
        finally:
            process.kill()
    assert process.returncode == 0
    assert "Traceback" not in errors
    assert "tok-123" not in errors, "the token never appears in the log"
    assert '"GET /api/ps" 200' in errors
    assert "stopped" in errors and f"with {server}" in errors
    time.sleep(0.2)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/", timeout=2)  # nothing left running


def _raw_get(port: int, path: str) -> tuple[bytes, bytes]:
    """The head and the body bytes a GET receives before the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        received = b""
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
    head, _, body = received.partition(b"\r\n\r\n")
    return head, body


@pytest.mark.parametrize("server", ["granian", "waitress"])
def test_cli_faults_break_connections_the_same_way_every_time(server: str) -> None:
    port = _free_port()
    faults = ["--fault", "GET /api/ps=truncate,times=20", "--fault", "GET /api/tags=drop,times=20"]
    with _start("--port", str(port), "--server", server, "--quiet", *faults) as process:
        try:
            _wait_until_serving(f"http://127.0.0.1:{port}/", process)
            for _ in range(20):
                head, body = _raw_get(port, "/api/ps")
                promised = int(re.search(rb"(?im)^content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
                assert head.startswith(b"HTTP/1.1 200") and len(body) == promised // 2, (head, len(body))
                head, body = _raw_get(port, "/api/tags")
                # waitress closes before any byte; granian cannot reach the socket: headers, then the close
                assert body == b"" and (head == b"" if server == "waitress" else head.startswith(b"HTTP/1.1 200"))
            with pytest.raises(requests.exceptions.ChunkedEncodingError):
                requests.get(f"http://127.0.0.1:{port}/api/ps", headers={"X-Ollama-Mock-Fault": "truncate"}, timeout=5)
            assert requests.get(f"http://127.0.0.1:{port}/api/ps", timeout=5).ok, "the server keeps serving"
            assert requests.get(f"http://127.0.0.1:{port}/api/tags", timeout=5).ok
        finally:
            process.terminate()
            process.communicate(timeout=10)


def test_busy_port_gives_one_clear_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([*MOCK, "--port", str(port)], capture_output=True, text=True, timeout=20)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"ollama-mock: port {port} on 127.0.0.1 is already in use (is a real Ollama running?); "
        "choose another with --port"
    ]


@pytest.mark.parametrize(
    ("arguments", "mentions"),
    [
        (["--port", "99999"], "--port"),
        (["--timezone", "Mars/Olympus"], "--timezone"),
        (["--fault", "nonsense"], "--fault"),
        (["--unload-delay", "-1"], "--unload-delay"),
        (["--max-body", "0"], "--max-body"),
        (["--max-body", "64 furlongs"], "--max-body"),
        (["--threads", "²"], "--threads"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(arguments: list[str], mentions: str) -> None:
    result = subprocess.run([*MOCK, *arguments], capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert mentions in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_fixture_file_exits_2_with_file_and_path(tmp_path: Path) -> None:
    fixture = tmp_path / "world.yaml"
    fixture.write_text("models:\n  - name: x\n")
    result = subprocess.run([*MOCK, "--fixtures", str(fixture), "--check"], capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert str(fixture) in result.stderr and "$.models[0]" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_accepts_a_good_fixture() -> None:
    result = subprocess.run([*MOCK, "--check"], capture_output=True, text=True, timeout=20)
    assert result.returncode == 0 and "valid world" in result.stderr


def test_check_refuses_a_fault_exactly_as_the_start_does() -> None:
    fault = ["--fault", "GET /api/nope=status:503"]
    checked = subprocess.run([*MOCK, *fault, "--check"], capture_output=True, text=True, timeout=20)
    started = subprocess.run([*MOCK, *fault, "--port", "0"], capture_output=True, text=True, timeout=20)
    assert checked.returncode == started.returncode == 2
    assert checked.stderr == started.stderr
    assert checked.stderr.startswith("ollama-mock: --fault: no route 'GET /api/nope'")
    good = subprocess.run(
        [*MOCK, "--fault", "GET /api/ps=status:503", "--check"], capture_output=True, text=True, timeout=20
    )
    assert good.returncode == 0 and good.stderr.strip().endswith("a valid world, and 1 valid fault")


def test_record_snapshots_a_server_into_a_fixture_the_mock_accepts(ollama_mock: MockOllama, tmp_path: Path) -> None:
    ollama_mock.load("smollm2:360m", keep_alive=120)
    out = tmp_path / "snapshot.yaml"
    result = subprocess.run(
        [*MOCK, "record", "--url", ollama_mock.url, "--headers", '{"Authorization": "Bearer xyz"}', "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    snapshot = yaml.safe_load(out.read_text())
    running = {entry["model"]: entry for entry in snapshot["running"]}
    assert running["llama3.2:latest"]["keep_alive"] == -1
    assert 100 <= running["smollm2:360m"]["keep_alive"] <= 120
    assert running["qwen3:8b"]["size_vram"] < running["qwen3:8b"]["size"]
    world = read_fixture_file(out)
    # One GPU holds at most 3 models: the load evicted the idle one with the shortest keep-alive (Ministral, 10m).
    assert len(world.models) == 7 and len(world.running) == 3 and not any("Ministral" in name for name in running)
    assert ollama_mock.requests[-1]["headers"]["Authorization"] == "Bearer ***"


def test_record_json_output(ollama_mock: MockOllama, tmp_path: Path) -> None:
    out = tmp_path / "snapshot.json"
    result = subprocess.run(
        [*MOCK, "record", "--url", ollama_mock.url, "--out", str(out)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    assert json.loads(out.read_text())["version"] == "0.33.0"


def test_record_of_an_unreachable_server_exits_3() -> None:
    port = _free_port()
    result = subprocess.run(
        [*MOCK, "record", "--url", f"127.0.0.1:{port}", "--out", os.devnull], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 3
    assert f"http://127.0.0.1:{port}/api/tags" in result.stderr and "connection refused" in result.stderr


@pytest.mark.parametrize(("reported", "recorded"), [("0.1.40", "0.1.40"), ("0.0.0", "0.0.0"), ("lmstudio-1", None)])
def test_record_keeps_a_release_the_mock_can_speak_as(tmp_path: Path, reported: str, recorded: str | None) -> None:
    with MockOllama(log_requests=False) as mock:
        mock.use_world({"version": "0.33.0", "models": []})
        mock.app.extensions["ollama_mock"].world.version = reported  # as a compatible server would say
        out = tmp_path / "snapshot.json"
        result = subprocess.run(
            [*MOCK, "record", "--url", mock.url, "--out", str(out)], capture_output=True, text=True, timeout=30
        )
    assert result.returncode == 0, result.stderr
    assert json.loads(out.read_text()).get("version") == recorded, "else the mock speaks as the newest release"
    read_fixture_file(out)
