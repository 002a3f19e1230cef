"""OllamaClient and `ollama-ps` against the mock: prefixes, tokens, every failure mode and exit code."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
import requests

from ollama_contract_kit.client import ContractError, HTTPStatusError, OllamaClient, ServerUnreachable
from ollama_contract_kit.client.api import transport_failure_reason
from ollama_contract_kit.mock_server import MockOllama

PS = [sys.executable, "-m", "ollama_contract_kit.client.cli"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_running_models_from_the_mock(ollama_mock: MockOllama) -> None:
    with OllamaClient(ollama_mock.url) as client:
        models = client.running_models()
        assert [model.name for model in models][0] == "llama3.2:latest"
        assert models[0].is_forever()
        assert {model.name for model in models} == {m["name"] for m in ollama_mock.running()}
        client.load("smollm2:360m", keep_alive="2m")
        assert "smollm2:360m" in [model.name for model in client.running_models()]
        client.unload("smollm2:360m")
        assert "smollm2:360m" not in [model.name for model in client.running_models()]


def test_behind_prefix_and_token() -> None:
    with MockOllama(base_path="/ollama", token="t0k", log_requests=False) as mock:
        with OllamaClient(mock.url, headers="{'Authorization': 'Bearer t0k'}") as client:
            assert len(client.running_models()) == 3
        with OllamaClient(mock.url) as anonymous, pytest.raises(HTTPStatusError) as raised:
            anonymous.running_models()
        assert raised.value.status_code == 401 and raised.value.error == "unauthorized"


def test_unreachable_names_the_url_and_cause() -> None:
    port = _free_port()
    with OllamaClient(f"127.0.0.1:{port}", timeout=2) as client, pytest.raises(ServerUnreachable) as raised:
        client.running_models()
    assert (
        str(raised.value) == f"cannot reach http://127.0.0.1:{port}/api/ps: connection refused (is the server running?)"
    )


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate (_ssl.c:1006)",
            "TLS certificate not trusted (for a private CA, set REQUESTS_CA_BUNDLE to its PEM bundle)",
        ),
        ("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", "the server does not speak TLS here"),
        ("[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version", "TLS handshake failed"),
    ],
)
def test_tls_failures_say_what_to_do(message: str, reason: str) -> None:
    # The certificate case needs a TLS server with an untrusted certificate; its message is OpenSSL's.
    assert reason in transport_failure_reason(requests.exceptions.SSLError(message), timeout=5)


def test_timeout_is_unreachable(ollama_mock: MockOllama) -> None:
    ollama_mock.add_fault("GET /api/ps", "latency", 1500, times=1)
    with (
        OllamaClient(ollama_mock.url, timeout=0.3) as client,
        pytest.raises(ServerUnreachable, match="no answer within 0.3 s"),
    ):
        client.running_models()


def test_http_error_carries_ollamas_error_text(ollama_mock: MockOllama) -> None:
    ollama_mock.add_fault("GET /api/ps", "status", 500)
    with OllamaClient(ollama_mock.url) as client, pytest.raises(HTTPStatusError) as raised:
        client.running_models()
    assert raised.value.status_code == 500
    assert raised.value.error == "llama runner process has terminated: exit status 2"


def test_non_json_404_text_is_kept(ollama_mock: MockOllama) -> None:
    with OllamaClient(ollama_mock.url + "/wrong-prefix") as client, pytest.raises(HTTPStatusError) as raised:
        client.running_models()
    assert raised.value.error == "404 page not found"


def test_malformed_body_is_a_contract_error(ollama_mock: MockOllama) -> None:
    ollama_mock.add_fault("GET /api/ps", "malformed")
    with OllamaClient(ollama_mock.url) as client, pytest.raises(ContractError, match="not JSON"):
        client.running_models()


@pytest.mark.parametrize(("kind", "reason"), [("drop", "without answering"), ("truncate", "before the whole body")])
def test_broken_connections_are_unreachable(ollama_mock: MockOllama, kind: str, reason: str) -> None:
    ollama_mock.add_fault("GET /api/ps", kind)
    with OllamaClient(ollama_mock.url) as client, pytest.raises(ServerUnreachable, match=reason):
        client.running_models()


def test_retries_ride_over_transient_5xx_and_drops(ollama_mock: MockOllama) -> None:
    ollama_mock.add_fault("GET /api/ps", "status", 503, times=1)
    ollama_mock.add_fault("GET /api/ps", "drop", times=1)
    with OllamaClient(ollama_mock.url, retries=3, backoff=0.01) as client:
        assert len(client.running_models()) == 3
    assert [entry["status"] for entry in ollama_mock.requests][-1] == 200


def test_retries_are_off_by_default(ollama_mock: MockOllama) -> None:
    ollama_mock.add_fault("GET /api/ps", "status", 503, times=1)
    with OllamaClient(ollama_mock.url) as client, pytest.raises(HTTPStatusError):
        client.running_models()


def _ollama_ps(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PS, *arguments], capture_output=True, text=True, timeout=60)


def test_cli_prints_the_table(ollama_mock: MockOllama) -> None:
    result = _ollama_ps("--url", ollama_mock.url)
    lines = result.stdout.splitlines()
    assert result.returncode == 0
    assert lines[0].split() == ["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]
    assert lines[1].split()[:4] == ["llama3.2:latest", "a80c4f17acd5", "3.7", "GB"]
    assert lines[1].endswith("Forever")
    assert any("17%/83% CPU/GPU" in line for line in lines)
    assert any("100% CPU" in line for line in lines)


def test_cli_json_prints_the_body(ollama_mock: MockOllama) -> None:
    result = _ollama_ps("--url", ollama_mock.url, "--json")
    assert json.loads(result.stdout) == {"models": ollama_mock.running()}


def test_cli_prefix_filter(ollama_mock: MockOllama) -> None:
    assert _ollama_ps("qwen", "--url", ollama_mock.url).stdout.count("\n") == 2


def test_cli_with_headers_never_prints_the_secret() -> None:
    with MockOllama(token="very-secret-token", log_requests=False) as mock:
        ok = _ollama_ps("--url", mock.url, "--headers", '{"Authorization": "Bearer very-secret-token"}')
        assert ok.returncode == 0
        refused = _ollama_ps("--url", mock.url, "--headers", '{"Authorization": "Bearer very-secret-tokeN"}')
    assert refused.returncode == 4
    assert refused.stderr.strip() == f"ollama-ps: {mock.url}/api/ps answered HTTP 401: unauthorized"
    assert "very-secret" not in refused.stdout + refused.stderr


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (["--headers", "{oops"], 2, "--headers: not a JSON object"),
        (["--timeout", "0"], 2, "--timeout"),
        (["--url", "ftp://x"], 2, "unsupported scheme"),
        (["--bogus"], 2, "unrecognized arguments"),
    ],
)
def test_cli_usage_errors(arguments: list[str], code: int, message: str) -> None:
    result = _ollama_ps(*arguments)
    assert result.returncode == code
    assert message in result.stderr and "Traceback" not in result.stderr


def test_cli_unreachable_exit_3() -> None:
    result = _ollama_ps("--url", f"127.0.0.1:{_free_port()}", "--timeout", "2")
    assert result.returncode == 3 and "connection refused" in result.stderr


def test_cli_contract_violation_exit_5(ollama_mock: MockOllama) -> None:
    ollama_mock.add_fault("GET /api/ps", "malformed")
    result = _ollama_ps("--url", ollama_mock.url)
    assert result.returncode == 5 and "broke the /api/ps contract" in result.stderr
