"""The kit's commands used carelessly: malformed input, closed pipes, Ctrl-C, typos; one clear line, no traceback."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from ollama_contract_kit.commandline.arguments import package_version
from ollama_contract_kit.mock_server import MockOllama
from ollama_contract_kit.mock_server.world.fixtures import default_fixture

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

PS = [sys.executable, "-m", "ollama_contract_kit.client.cli"]
MOCK = [sys.executable, "-m", "ollama_contract_kit.mock_server.cli"]
CONTRACT = [sys.executable, "-m", "ollama_contract_kit.contract_tests.cli"]


def _run(
    command: list[str], env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize(("command", "name"), [(PS, "ollama-ps"), (MOCK, "ollama-mock"), (CONTRACT, "ollama-contract")])
def test_every_command_tells_its_version(command: list[str], name: str) -> None:
    result = _run([*command, "--version"])
    assert result.returncode == 0
    assert result.stdout.strip() == f"{name} (ollama-contract-kit) {package_version()}"
    assert package_version() != "unknown"


@pytest.mark.parametrize(
    ("command", "env", "named"),
    [
        ([*PS, "--url", "http://[::1"], {}, "ollama-ps: --url: malformed URL 'http://[::1'"),
        (PS, {"OLLAMA_HOST": "http://[::1"}, "ollama-ps: OLLAMA_HOST: malformed URL 'http://[::1'"),
        ([*CONTRACT, "verify", "--url", "http://[::1"], {}, "ollama-contract: --url: malformed URL 'http://[::1'"),
    ],
)
def test_a_malformed_url_is_a_usage_error_naming_it(command: list[str], env: dict[str, str], named: str) -> None:
    result = _run(command, env={**os.environ, **env})
    assert result.returncode == 2
    assert result.stderr.startswith(named) and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("output", [[], ["--json"]])
def test_ollama_ps_into_a_closed_pipe_ends_quietly(ollama_mock: MockOllama, output: list[str]) -> None:
    reader, writer = os.pipe()
    os.close(reader)  # like `| head -1` that has already gone
    try:
        result = subprocess.run(
            [*PS, "--url", ollama_mock.url, *output], stdout=writer, stderr=subprocess.PIPE, text=True, timeout=30
        )
    finally:
        os.close(writer)
    assert result.returncode == 0 and result.stderr == ""


def test_ollama_ps_json_is_the_body_as_received(ollama_mock: MockOllama) -> None:
    body = requests.get(ollama_mock.url + "/api/ps", timeout=5).text
    result = _run([*PS, "--url", ollama_mock.url, "--json"])
    assert result.returncode == 0 and result.stdout == body + "\n"


def test_ollama_ps_json_keeps_only_the_prefix(ollama_mock: MockOllama) -> None:
    result = _run([*PS, "qwen", "--url", ollama_mock.url, "--json"])
    assert result.returncode == 0
    assert [model["name"] for model in json.loads(result.stdout)["models"]] == ["qwen3:8b"]
    every = [model["name"] for model in ollama_mock.running()]
    assert len(every) > 1, "the default world runs more than the one model"


@pytest.fixture
def web_server() -> Iterator[str]:
    """A loopback web server that answers every path with a long HTML 404 page, as nginx or an app would."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            page = b"<!DOCTYPE html><html><head><title>Not Found - My Dashboard</title></head><body>" + b"x" * 5000
            self.send_response(404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_ollama_ps_against_a_web_page_says_it_is_not_ollama(web_server: str) -> None:
    result = _run([*PS, "--url", web_server])
    assert result.returncode == 4
    assert result.stderr.strip() == (
        f'ollama-ps: {web_server}/api/ps answered HTTP 404: an HTML page ("Not Found - My Dashboard"), '
        "not Ollama: is the URL (and its path prefix) right?"
    )


def test_ctrl_c_during_record_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "world.yaml"
    out.write_text("previous: content\n")
    with MockOllama(log_requests=False) as mock:
        mock.add_fault("GET /api/ps", "latency", 5000)
        with subprocess.Popen(
            [*MOCK, "record", "--url", mock.url, "--out", str(out)], stderr=subprocess.PIPE, text=True
        ) as process:
            deadline = time.monotonic() + 30
            while not any(entry["path"] == "/api/tags" for entry in mock.requests) and time.monotonic() < deadline:
                time.sleep(0.05)
            process.send_signal(signal.SIGINT)
            _, errors = process.communicate(timeout=30)
    assert process.returncode == 130
    assert errors.strip() == "ollama-mock record: interrupted"
    assert out.read_text() == "previous: content\n", "the old file is untouched"
    assert [path.name for path in tmp_path.iterdir()] == ["world.yaml"], "no temporary file is left"


def test_record_help_lists_its_own_exit_codes() -> None:
    text = _run([*MOCK, "record", "--help"]).stdout
    assert "0  recorded" in text and "130  interrupted" in text and "cannot serve" not in text


def test_a_fault_for_a_route_the_mock_does_not_serve_is_refused() -> None:
    result = _run([*MOCK, "--fault", "GET /api/pss=status:503", "--port", "0"])
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.startswith("ollama-mock: --fault: no route 'GET /api/pss'")
    assert "GET /api/ps," in message and "'*'" in message


def test_the_control_api_refuses_a_fault_for_no_route(ollama_mock: MockOllama) -> None:
    answer = requests.post(
        ollama_mock.url + "/_mock/faults", json={"route": "GET /api/pss", "kind": "status", "value": 503}, timeout=5
    )
    assert answer.status_code == 400 and "no route 'GET /api/pss'" in answer.json()["error"]
    assert requests.get(ollama_mock.url + "/_mock/faults", timeout=5).json() == {"faults": []}


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_the_bearer_scheme_is_case_insensitive(scheme: str) -> None:
    with MockOllama(token="t0k", log_requests=False) as mock:
        good = requests.get(mock.url + "/api/ps", headers={"Authorization": f"{scheme} t0k"}, timeout=5)
        wrong = requests.get(mock.url + "/api/ps", headers={"Authorization": f"{scheme} T0K"}, timeout=5)
    assert good.status_code == 200 and wrong.status_code == 401


def _one_model_world(tmp_path: Path, digest: str = '"' + "a" * 64 + '"') -> Path:
    path = tmp_path / "world.yaml"
    path.write_text(
        "models:\n"
        "  - name: tiny:1b\n"
        "    size: 1000\n"
        f"    digest: {digest}\n"
        "    details: {parent_model: '', format: gguf, family: llama, families: [llama], parameter_size: 1B,"
        " quantization_level: Q4_0}\n"
    )
    return path


def test_messages_count_in_english(tmp_path: Path) -> None:
    world = _one_model_world(tmp_path)
    with MockOllama(log_requests=False, fixtures=world) as mock:
        result = _run([*MOCK, "record", "--url", mock.url, "--out", str(tmp_path / "copy.yaml")])
    assert result.returncode == 0 and "wrote 1 model (0 running)" in result.stderr


def test_a_digest_of_digits_gets_a_quoting_hint(tmp_path: Path) -> None:
    world = _one_model_world(tmp_path, digest="1" * 64)
    result = _run([*MOCK, "--fixtures", str(world), "--check"])
    assert result.returncode == 2
    assert "$.models[0].digest" in result.stderr and 'quote the value (digest: "...")' in result.stderr


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    world = tmp_path / "broken.yaml"
    world.write_text("models:\n  - name: [unclosed\n")
    result = _run([*MOCK, "--fixtures", str(world), "--check"])
    assert result.returncode == 2
    assert result.stderr.startswith(f"ollama-mock: --fixtures {world}: not valid YAML:")
    assert "line 3" in result.stderr and "<unicode string>" not in result.stderr


def test_an_offset_out_of_range_is_named() -> None:
    result = _run([*MOCK, "--timezone", "+25:00"])
    assert result.returncode == 2
    assert "argument --timezone: an offset runs from -23:59 to +23:59, got '+25:00'" in result.stderr


def test_max_loaded_says_which_models_it_dropped() -> None:
    with subprocess.Popen(
        [*MOCK, "--max-loaded", "1", "--port", "0", "--server", "waitress"], stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        process.stderr.readline()  # serving ...
        notice = process.stderr.readline().strip()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    seeds = [seed.model.name for seed in default_fixture().running]
    assert len(seeds) >= 3
    evicted = ", ".join(seeds[:-1])
    expected = f"not running (OLLAMA_MAX_LOADED_MODELS 1: evicted by later ones, or expired): {evicted}"
    assert notice == f"ollama-mock: {expected}"


@pytest.mark.parametrize("server", ["granian", "waitress"])
def test_the_mock_stops_on_sigint_where_the_shell_ignored_it(server: str) -> None:
    with subprocess.Popen(
        [*MOCK, "--port", "0", "--server", server, "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # as `cmd &` in a script, or nohup
    ) as process:
        assert process.stderr is not None
        assert "serving" in process.stderr.readline()
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=10)
    assert process.returncode == 0 and "stopped" in errors
