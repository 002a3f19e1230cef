"""The Schemathesis configuration the kit ships: one truth, and raw `schemathesis run` passes against the mock.

`make test` runs the raw commands with 5 examples per operation; `make fuzz` runs them as the
README writes them (Schemathesis's default, 100 examples) with OLLAMA_RAW_EXAMPLES=readme.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ollama_contract_kit.contract_tests.fuzz_config import SCHEMATHESIS_CONFIG
from ollama_contract_kit.mock_server import MockOllama
from ollama_contract_kit.openapi import spec_path

from .conftest import REPO

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SCHEMATHESIS = [sys.executable, "-m", "schemathesis.cli"]
CONTRACT = [sys.executable, "-m", "ollama_contract_kit.contract_tests.cli"]
#: `readme`: the README's command as written (100 examples per operation); else this many (`make test`: 5).
EXAMPLES = os.environ.get("OLLAMA_RAW_EXAMPLES", "5")


def _shipped_config() -> Path:
    printed = subprocess.run([*CONTRACT, "spec", "--schemathesis-config"], capture_output=True, text=True, check=True)
    return Path(printed.stdout.strip())


def test_schemathesis_toml_is_the_suites_configuration() -> None:
    shipped = tomllib.loads(_shipped_config().read_text(encoding="utf-8"))
    assert shipped.pop("hooks") == "ollama_contract_kit.contract_tests.checks"
    assert shipped == SCHEMATHESIS_CONFIG
    assert (REPO / "schemathesis.toml").resolve() == _shipped_config().resolve(), (
        "the checkout's file is the shipped one"
    )


def _raw_run(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    count = [] if EXAMPLES == "readme" else ["-n", EXAMPLES]
    return subprocess.run(
        [*SCHEMATHESIS, *arguments, "--checks", "all", *count, "--no-color"],
        cwd=cwd, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip


@pytest.mark.parametrize("document", ["ollama", "openai"])
def test_raw_schemathesis_runs_clean_against_the_mock(document: str) -> None:
    with MockOllama(log_requests=False) as mock:  # a fresh mock: a fuzzed one has pulled, created and deleted
        result = _raw_run("run", f"openapi/{document}.yaml", "--url", mock.url, cwd=REPO)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in result.stdout and f"Configuration:    {(REPO / 'schemathesis.toml').resolve()}" in result.stdout


def test_raw_schemathesis_runs_clean_outside_a_checkout(tmp_path: Path) -> None:
    config, document = _shipped_config(), spec_path("ollama")
    with MockOllama(log_requests=False) as mock:
        result = _raw_run("--config-file", str(config), "run", str(document), "--url", mock.url, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "passed" in result.stdout and f"Configuration:    {config}" in result.stdout
