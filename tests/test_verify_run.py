"""`ollama-contract verify` while it runs: live output, interruption, and reports that CI can trust."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from ollama_contract_kit.mock_server import MockOllama
from ollama_contract_kit.openapi.timestamps import parse_timestamp

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

CONTRACT = [sys.executable, "-m", "ollama_contract_kit.contract_tests.cli"]


def _start_verify(url: str, *arguments: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CONTRACT, "verify", "--url", url, "--max-examples", "2", "--max-rate", "1000", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        cwd=cwd,
    )


def _names(models: list[dict[str, object]]) -> list[str]:
    return sorted(str(model["name"]) for model in models)


def _probe_loads(mock: MockOllama) -> list[dict[str, object]]:
    return [
        entry for entry in mock.requests if entry["method"] == "POST" and '"keep_alive": 30' in str(entry["body"] or "")
    ]


@pytest.mark.parametrize("stop", [signal.SIGINT, pytest.param(signal.SIGTERM, marks=pytest.mark.heavy)])
def test_interrupted_verify_restores_the_server_and_says_so(stop: signal.Signals, tmp_path: Path) -> None:
    with MockOllama(log_requests=False) as mock:
        mock.add_fault("POST /api/generate", "latency", 150)  # slow loads: the signal lands while one is under way
        before = _names(mock.running())
        junit, report = tmp_path / "out" / "junit.xml", tmp_path / "out" / "report.json"
        with _start_verify(mock.url, "--junit-xml", str(junit), "--json", str(report)) as process:
            deadline = time.monotonic() + 90
            while not _probe_loads(mock) and time.monotonic() < deadline:
                assert process.poll() is None, process.communicate()
                time.sleep(0.05)
            assert _probe_loads(mock), "the lifecycle probe never loaded a model"
            process.send_signal(stop)
            stopped = time.monotonic()
            output, errors = process.communicate(timeout=60)
            took = time.monotonic() - stopped
        after = _names(mock.running())
    assert process.returncode == 130, output + errors
    assert took < 30, f"it took {took:.1f} s to stop"
    assert "Traceback" not in output + errors
    verdict = output.strip().splitlines()[-1]
    assert verdict.startswith("INTERRUPTED during ") and "not a verdict" in verdict
    assert "CONFORMS" not in output
    assert after == before, "the probe model was unloaded and every model that ran is running again"
    suite = ElementTree.parse(junit).getroot()
    errors_found = suite.findall(".//testcase/error")
    assert suite.get("errors") == "1" and errors_found and errors_found[0].get("type") == "interrupted"
    data = json.loads(report.read_text())
    assert data["verdict"] == "INTERRUPTED" and data["conforms"] is False and data["interrupted"] is True


def test_results_stream_through_a_pipe_as_each_check_completes(ollama_mock: MockOllama) -> None:
    ollama_mock.add_fault("*", "latency", 100)
    arrivals: list[tuple[float, str]] = []
    with _start_verify(ollama_mock.url, "--read-only") as process:
        assert process.stdout is not None
        for line in process.stdout:
            arrivals.append((time.monotonic(), line.rstrip("\n")))
        process.wait(timeout=60)
    ended = time.monotonic()
    assert process.returncode == 0
    results = [(moment, line) for moment, line in arrivals if line.lstrip().startswith(("PASS", "FAIL", "SKIP"))]
    assert len(results) >= 10 and arrivals[0][1].startswith("ollama-contract verify ")
    assert arrivals[-1][1].startswith("CONFORMS: ")
    first, last = results[0][0], results[-1][0]
    assert last - first > 1.0, "results arrive over the run's time, not in one burst at the end"
    assert ended - first > 1.0
    assert "\r" not in "".join(line for _, line in arrivals), "no progress indicator where no terminal watches"


def test_reports_go_into_new_folders(ollama_mock: MockOllama, tmp_path: Path) -> None:
    process = _start_verify(
        ollama_mock.url, "--read-only", "--junit-xml", "reports/ollama.xml", "--json", "deep/er/r.json", cwd=tmp_path
    )
    output, errors = process.communicate(timeout=120)
    assert process.returncode == 0, output + errors
    assert ElementTree.parse(tmp_path / "reports" / "ollama.xml").getroot().get("failures") == "0"
    assert json.loads((tmp_path / "deep" / "er" / "r.json").read_text())["verdict"] == "CONFORMS"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["deep", "reports"], "no temporary files left"


@pytest.mark.parametrize("option", ["--junit-xml", "--json"])
def test_an_unwritable_report_path_is_a_usage_error_before_the_run(option: str, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with MockOllama(log_requests=False) as mock:  # its own: nothing else may talk to it meanwhile
        process = _start_verify(mock.url, option, str(blocker / "report.xml"))
        _, errors = process.communicate(timeout=60)
        assert process.returncode == 2
        assert errors.strip() == f"ollama-contract: {option}: {blocker} is not a folder"
        assert mock.requests == [], "nothing was sent to the server"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_reports_are_written_when_nothing_could_be_checked(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    junit, report = tmp_path / "j.xml", tmp_path / "r.json"
    process = _start_verify(url, "--junit-xml", str(junit), "--json", str(report))
    output, errors = process.communicate(timeout=60)
    assert process.returncode == 3 and output == ""
    suite = ElementTree.parse(junit).getroot()
    failures = suite.findall(".//testcase/failure")
    assert suite.get("tests") == "1" and suite.get("failures") == "1" and len(failures) == 1
    assert "connection refused" in (failures[0].get("message") or "")
    data = json.loads(report.read_text())
    assert data["verdict"] == "NOT CHECKED" and "connection refused" in data["not_checked"]


def test_a_wrong_path_prefix_is_named(tmp_path: Path) -> None:
    with MockOllama(base_path="/ollama", log_requests=False) as mock:
        wrong = mock.url.removesuffix("/ollama") + "/wrong-prefix"
        report = tmp_path / "r.json"
        process = _start_verify(wrong, "--json", str(report))
        output, errors = process.communicate(timeout=60)
    assert process.returncode == 3 and output == ""
    message = errors.strip()
    assert message.startswith(f"ollama-contract: GET {wrong}/api/version answered HTTP 404 (404 page not found)")
    assert message.endswith("nothing at this URL answers like Ollama; is the path prefix right?")
    assert "is the path prefix right?" in json.loads(report.read_text())["not_checked"]


def test_another_json_service_is_not_ollama() -> None:
    with MockOllama(log_requests=False) as mock:
        mock.add_fault("GET /api/version", "status", 404)
        mock.add_fault("GET /api/ps", "malformed")
        process = _start_verify(mock.url)
        _, errors = process.communicate(timeout=60)
    assert process.returncode == 3 and "nothing at this URL answers like Ollama" in errors


def test_headers_come_from_ollama_headers_when_not_given(tmp_path: Path) -> None:
    with MockOllama(token="env-secret-1", log_requests=False) as mock:
        environment = {**os.environ, "OLLAMA_HEADERS": '{"Authorization": "Bearer env-secret-1"}'}
        result = subprocess.run(
            [*CONTRACT, "verify", "--url", mock.url, "--read-only", "--max-rate", "200", "--max-examples", "2"],
            capture_output=True,
            text=True,
            timeout=120,
            env=environment,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "env-secret-1" not in result.stdout + result.stderr


def test_max_rate_paces_the_requests(ollama_mock: MockOllama) -> None:
    with _start_verify(ollama_mock.url, "--read-only", "--max-rate", "4") as process:
        deadline = time.monotonic() + 30
        while len(ollama_mock.requests) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)  # a loaded machine may take seconds to start and collect
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 130
    times = sorted(parse_timestamp(entry["time"]) for entry in ollama_mock.requests)
    assert len(times) >= 6, f"only {len(times)} requests reached the server"
    busiest = max(sum(0 <= (later - first).total_seconds() < 1 for later in times) for first in times)
    assert busiest <= 4 + 1, f"{busiest} requests within one second at --max-rate 4 (the default 20/s sends ~20)"


def test_a_live_server_gets_only_reads_and_the_lifecycle_probes(ollama_mock: MockOllama) -> None:
    process = _start_verify(ollama_mock.url)
    output, errors = process.communicate(timeout=120)
    assert process.returncode == 0, output + errors
    sent = ollama_mock.requests
    assert 0 < len(sent) < 1000, "the whole run is in the request log"
    forbidden = ("/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete", "/api/blobs", "/api/embed",
                 "/api/chat", "/api/show", "/v1/", "/_mock/")  # fmt: skip
    assert not [entry for entry in sent if entry["path"].startswith(forbidden)]
    generating = [json.loads(entry["body"]) for entry in sent if entry["path"] == "/api/generate"]
    assert generating, "the lifecycle probe loads and unloads"
    assert all(set(body) <= {"model", "keep_alive"} for body in generating), (
        "only loads and unloads: nothing is generated"
    )
    acted_on = [entry for entry in sent if entry["method"] not in ("GET", "HEAD") and entry["path"] != "/api/generate"]
    assert all(entry["status"] in (404, 405) for entry in acted_on), "other methods only ever meet the router's refusal"
    changing = {entry["method"] for entry in sent if entry["status"] < 400 and entry["path"] != "/api/generate"}
    assert changing <= {"GET", "HEAD"}, changing
