"""The Schemathesis configuration the kit ships: one truth, and raw `schemathesis run` passes against the mock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ollama_contract_kit.contract_tests.fuzz_config import SCHEMATHESIS_CONFIG
from ollama_contract_kit.mock_server import MockOllama
from ollama_contract_kit.openapi import spec_path

from .conftest import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def test_schemathesis_toml_is_the_suites_configuration() -> None:
    shipped = tomllib.loads((REPO / "schemathesis.toml").read_text(encoding="utf-8"))
    assert shipped.pop("hooks") == "ollama_contract_kit.contract_tests.checks"
    assert shipped == SCHEMATHESIS_CONFIG


@pytest.mark.parametrize("document", ["ollama", "openai"])
def test_raw_schemathesis_runs_clean_against_the_mock(document: str, tmp_path: Path) -> None:
    with MockOllama(log_requests=False) as mock:
        result = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", str(spec_path(document)), "--url", mock.url,
             "--checks", "all", "-n", "8", "--no-color", "--report-dir", str(tmp_path)],
            cwd=REPO, capture_output=True, text=True, timeout=240,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in result.stdout and "Configuration:    " + str(REPO / "schemathesis.toml") in result.stdout
