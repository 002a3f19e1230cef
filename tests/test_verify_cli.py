"""`ollama-contract verify` as users run it: exit codes, reports for CI, read-only mode, masked secrets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from ollama_contract_kit.mock_server import MockOllama

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

CONTRACT = [sys.executable, "-m", "ollama_contract_kit.contract_tests.cli"]
#: A mock need not be spared: no pacing (test_verify_run checks --max-rate itself).
FAST = ["--max-rate", "1000"]


def _run(
    *arguments: str, cwd: Path | None = None, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    without_server = {key: value for key, value in os.environ.items() if key not in ("OLLAMA_HOST", "OLLAMA_URL")}
    return subprocess.run(
        [*CONTRACT, *arguments],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env={**without_server, **(environment or {})},
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_conforming_mock_exits_0_with_reports(ollama_mock: MockOllama, tmp_path: Path) -> None:
    junit, report = tmp_path / "junit.xml", tmp_path / "report.json"
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    reports = ["--junit-xml", str(junit), "--json", str(report)]
    result = _run("verify", "--url", ollama_mock.url, *FAST, *reports, cwd=workdir)
    assert list(workdir.iterdir()) == [], "nothing is left in the working folder"
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CONFORMS" in result.stdout and "PASS" in result.stdout
    suite = ElementTree.parse(junit).getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests", "0")) >= 15
    data = json.loads(report.read_text())
    assert data["conforms"] is True and data["version"] == "0.33.0"
    assert [entry["name"] for entry in ollama_mock.running()] == [m["name"] for m in MockOllama().running()], (
        "left as found"
    )


def test_violation_exits_1_and_shows_evidence(ollama_mock: MockOllama, tmp_path: Path) -> None:
    ollama_mock.add_fault("GET /api/ps", "status", 500)
    junit = tmp_path / "junit.xml"
    result = _run("verify", "--url", ollama_mock.url, *FAST, "--read-only", "--junit-xml", str(junit))
    assert result.returncode == 1
    assert "DOES NOT CONFORM" in result.stdout
    assert "answered 500" in result.stdout
    failures = ElementTree.parse(junit).getroot().findall(".//failure")
    assert failures and any("500" in (failure.text or "") for failure in failures)


def test_read_only_skips_the_lifecycle(ollama_mock: MockOllama) -> None:
    result = _run("verify", "--url", ollama_mock.url, *FAST, "--read-only")
    assert result.returncode == 0
    assert "SKIP  Load (no prompt)" in result.stdout and "--read-only" in result.stdout
    assert not [
        entry
        for entry in ollama_mock.requests
        if entry["method"] == "POST" and '"keep_alive": 30' in (entry["body"] or "")
    ]


def test_ollama_host_names_the_server_when_url_is_not_given(ollama_mock: MockOllama) -> None:
    host = ollama_mock.url.removeprefix("http://")
    result = _run("verify", "--read-only", *FAST, environment={"OLLAMA_HOST": host})
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"ollama-contract verify {ollama_mock.url} ")
    refused = _run("verify", environment={"OLLAMA_HOST": "http://[::1"})
    assert refused.returncode == 2 and refused.stderr.startswith("ollama-contract: OLLAMA_HOST: malformed URL")


def test_wait_gives_a_starting_server_time_to_answer() -> None:
    with socket.socket() as early:  # the port answers nothing useful until verify has asked once
        early.bind(("127.0.0.1", 0))
        early.listen()
        port = int(early.getsockname()[1])
        arguments = ["--wait", "60", "--read-only", "--max-examples", "1", *FAST]
        process = subprocess.Popen(
            [*CONTRACT, "verify", "--url", f"http://127.0.0.1:{port}", *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        early.settimeout(60)
        early.accept()[0].close()  # verify asked, and the connection closed without an answer
    with process, MockOllama(port=port, log_requests=False):
        output, errors = process.communicate(timeout=120)
    assert process.returncode == 0, output + errors
    assert output.strip().splitlines()[-1].startswith("CONFORMS")


def test_unreachable_exits_3_naming_the_url() -> None:
    port = _free_port()
    result = _run("verify", "--url", f"127.0.0.1:{port}")
    assert result.returncode == 3
    expected = f"cannot reach http://127.0.0.1:{port}/api/version: connection refused (is the server running?)"
    assert result.stderr.strip() == f"ollama-contract: {expected}"


def test_refused_credentials_exit_3_without_showing_them() -> None:
    with MockOllama(token="right-token", log_requests=False) as mock:
        result = _run("verify", "--url", mock.url, "--headers", "{'Authorization': 'Bearer wrong-token'}")
    assert result.returncode == 3 and "check --headers" in result.stderr
    assert "wrong-token" not in result.stdout + result.stderr


def test_secrets_never_appear_in_reports(tmp_path: Path) -> None:
    with MockOllama(token="tok-abc-123", base_path="/ollama", log_requests=False) as mock:
        mock.add_fault("GET /api/ps", "status", 503)
        report = tmp_path / "r.json"
        result = _run(
            "verify",
            "--url",
            mock.url,
            *FAST,
            "--headers",
            '{"Authorization": "Bearer tok-abc-123"}',
            "--json",
            str(report),
            "--grace",
            "1",
        )
    assert result.returncode == 1
    assert "tok-abc-123" not in result.stdout + result.stderr + report.read_text()
    assert "Reproduce with" in result.stdout and "curl -X GET" in result.stdout, "the evidence has a reproducer"


def test_usage_errors_exit_2() -> None:
    for arguments, mentions in [
        (["verify"], "give --url URL, or set OLLAMA_HOST"),
        (["verify", "--url", "x", "--max-examples", "0"], "--max-examples"),
        (["verify", "--url", "x", "--headers", "{bad"], "--headers"),
        ([], "choose a command"),
    ]:
        result = _run(*arguments)
        assert result.returncode == 2, arguments
        assert mentions in result.stderr and "Traceback" not in result.stderr


def test_spec_prints_the_contract_path() -> None:
    result = _run("spec")
    assert (
        result.returncode == 0
        and result.stdout.strip().endswith("ollama.yaml")
        and Path(result.stdout.strip()).is_file()
    )


def test_a_route_that_hangs_fails_with_its_reason(ollama_mock: MockOllama) -> None:
    from ollama_contract_kit.contract_tests import verify

    ollama_mock.add_fault("GET /api/ps", "latency", 2500)
    verification = verify(ollama_mock.url, read_only=True, timeout=1, max_examples=1, max_rate=1000)
    assert not verification.conforms
    evidence = "\n".join(result.evidence for result in verification.failed)
    assert f"GET {ollama_mock.url}/api/ps: no answer within 1 s" in evidence


def test_verify_in_process_leaves_the_environment_and_the_output_alone(
    ollama_mock: MockOllama, capsys: pytest.CaptureFixture[str]
) -> None:
    from ollama_contract_kit.contract_tests import verify

    environment, stdout, stderr = dict(os.environ), sys.stdout, sys.stderr
    seen_during: list[bool] = []

    class Watcher:
        """Looks at the process while each check runs."""

        def started(self, url: str, version: str | None) -> None:
            pass

        def check_started(self, title: str) -> None:
            seen_during.append(dict(os.environ) == environment and sys.stdout is stdout and sys.stderr is stderr)

        def check_finished(self, result: object) -> None:
            pass

    verification = verify(ollama_mock.url, max_examples=1, max_rate=1000, progress=Watcher())  # type: ignore[arg-type]
    assert verification.conforms and len(seen_during) >= 19 and all(seen_during)
    assert dict(os.environ) == environment and sys.stdout is stdout and sys.stderr is stderr
    assert capsys.readouterr() == ("", ""), "a library call prints nothing (Hypothesis's report included)"
