"""Files the kit writes (reports, recorded fixtures) get the user's umask, like any file a command creates."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ollama_contract_kit.commandline.files import write_text_atomically
from ollama_contract_kit.mock_server import MockOllama

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

CONTRACT = [sys.executable, "-m", "ollama_contract_kit.contract_tests.cli"]
MOCK = [sys.executable, "-m", "ollama_contract_kit.mock_server.cli"]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_reports_are_readable_by_others_under_umask_022(tmp_path: Path) -> None:
    junit, report = tmp_path / "reports" / "j.xml", tmp_path / "reports" / "r.json"
    unreachable = f"http://127.0.0.1:{_free_port()}"
    result = subprocess.run(
        [*CONTRACT, "verify", "--url", unreachable, "--junit-xml", str(junit), "--json", str(report)],
        capture_output=True, text=True, timeout=60, umask=0o022,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert (_mode(junit), _mode(report)) == (0o644, 0o644)


def test_a_recorded_fixture_follows_the_umask(tmp_path: Path) -> None:
    with MockOllama(log_requests=False) as mock:
        for umask, expected in ((0o022, 0o644), (0o077, 0o600)):
            out = tmp_path / f"world-{umask:o}.yaml"
            result = subprocess.run(
                [*MOCK, "record", "--url", mock.url, "--out", str(out)],
                capture_output=True, text=True, timeout=60, umask=umask,
            )  # fmt: skip
            assert result.returncode == 0, result.stderr
            assert _mode(out) == expected, f"umask {umask:03o}"


def test_a_file_written_over_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")
    os.chmod(target, 0o600)
    write_text_atomically(target, "new")
    assert target.read_text() == "new" and _mode(target) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["report.json"]
