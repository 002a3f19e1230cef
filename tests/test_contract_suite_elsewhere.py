"""The contract suite in another project, set up as docs/pytest.md says, on a CI runner's environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

PAGE = Path(__file__).resolve().parent.parent / "docs" / "pytest.md"

#: What GitHub Actions sets; Hypothesis then loads its ``ci`` profile (derandomized, no example database).
CI_ENVIRONMENT = {"CI": "true", "GITHUB_ACTIONS": "true"}


def _readme_block(first_line: str) -> str:
    """The python block of docs/pytest.md that starts with ``first_line``."""
    for block in re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.DOTALL):
        if block.startswith(first_line):
            return block
    raise AssertionError(f"docs/pytest.md has no python block starting with {first_line!r}")


@pytest.mark.parametrize(
    "environment", [{}, pytest.param(CI_ENVIRONMENT, marks=pytest.mark.heavy)], ids=["local", "ci-runner"]
)
def test_readme_setup_runs_the_suite_against_the_mock(tmp_path: Path, environment: dict[str, str]) -> None:
    (tmp_path / "conftest.py").write_text(_readme_block("# conftest.py"), encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_ollama_contract.py").write_text(
        _readme_block("# tests/test_ollama_contract.py"), encoding="utf-8"
    )
    result = _pytest(tmp_path, environment, "--contract-max-examples", "2")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\b(1[5-9]|[2-9]\d) passed\b", summary) and "error" not in summary, summary


def _pytest(folder: Path, environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    unset = {"CI", "GITHUB_ACTIONS", "OLLAMA_URL", "OLLAMA_HOST", "PYTEST_DISABLE_PLUGIN_AUTOLOAD", "PYTEST_ADDOPTS"}
    inherited = {key: value for key, value in os.environ.items() if key not in unset}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *arguments],
        cwd=folder,
        env={**inherited, **environment},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _suite_without_conftest(folder: Path) -> None:
    (folder / "tests").mkdir()
    (folder / "tests" / "test_ollama_contract.py").write_text(
        _readme_block("# tests/test_ollama_contract.py"), encoding="utf-8"
    )


def test_the_suite_runs_without_the_conftest_line(tmp_path: Path) -> None:
    _suite_without_conftest(tmp_path)
    result = _pytest(tmp_path, {}, "-k", "ps_answers or unknown or keep_alive or left_as_found")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert re.search(r"\b10 passed\b", result.stdout.strip().splitlines()[-1]), result.stdout[-500:]


def test_without_its_fixtures_the_suite_says_what_to_add(tmp_path: Path) -> None:
    _suite_without_conftest(tmp_path)
    result = _pytest(tmp_path, {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}, "-k", "unknown_path")
    assert result.returncode == 1
    assert (
        'add pytest_plugins = ["ollama_contract_kit.contract_tests.plugin"] to your root conftest.py' in result.stdout
    )
    assert "Traceback" not in result.stdout
