"""The contract suite in another project, set up as the README says, on a CI runner's environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"

#: What GitHub Actions sets; Hypothesis then loads its ``ci`` profile (derandomized, no example database).
CI_ENVIRONMENT = {"CI": "true", "GITHUB_ACTIONS": "true"}


def _readme_block(first_line: str) -> str:
    """The README's python block that starts with ``first_line``."""
    for block in re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL):
        if block.startswith(first_line):
            return block
    raise AssertionError(f"README has no python block starting with {first_line!r}")


@pytest.mark.parametrize(
    "environment", [{}, pytest.param(CI_ENVIRONMENT, marks=pytest.mark.heavy)], ids=["local", "ci-runner"]
)
def test_readme_setup_runs_the_suite_against_the_mock(tmp_path: Path, environment: dict[str, str]) -> None:
    (tmp_path / "conftest.py").write_text(_readme_block("# conftest.py"), encoding="utf-8")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_ollama_contract.py").write_text(
        _readme_block("# tests/test_ollama_contract.py"), encoding="utf-8"
    )
    inherited = {key: value for key, value in os.environ.items() if key not in {"CI", "GITHUB_ACTIONS", "OLLAMA_URL"}}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--contract-max-examples", "5"],
        cwd=tmp_path,
        env={**inherited, **environment},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    summary = result.stdout.strip().splitlines()[-1]
    assert re.search(r"\b(1[5-9]|[2-9]\d) passed\b", summary) and "error" not in summary, summary
