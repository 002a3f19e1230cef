"""The code passes the project's linters and type checker (ruff, mypy strict for client and mock_server)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

#: The kit's packages, each a top-level folder of the repository installed as `ollama_contract_kit.<folder>`.
PACKAGES = ("openapi", "commandline", "client", "mock_server", "contract_tests")


def _run(*command: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing() -> None:
    result = _run(sys.executable, "-m", "ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_code_is_formatted() -> None:
    result = _run(sys.executable, "-m", "ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_passes(tmp_path: Path) -> None:
    # mypy cannot follow the editable install's import hook: mirror the installed layout with links.
    package = tmp_path / "ollama_contract_kit"
    package.mkdir()
    for folder in PACKAGES:
        (package / folder).symlink_to(REPO / folder)
    result = _run(
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(REPO / "pyproject.toml"),
        "--cache-dir",
        str(tmp_path / "cache"),
        *(option for folder in PACKAGES for option in ("-p", f"ollama_contract_kit.{folder}")),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_the_pytest_plugins_or_the_client_headers_stays_light() -> None:
    # The plugins load in every project that installs the kit; the mock imports commandline.headers.
    code = (
        "import sys, ollama_contract_kit.mock_server.pytest_plugin, ollama_contract_kit.commandline.headers;"
        "import ollama_contract_kit.contract_tests.fixtures, ollama_contract_kit.contract_tests.plugin;"
        "heavy = {'flask', 'requests', 'schemathesis', 'jsonschema'} & set(sys.modules); assert not heavy, heavy"
    )
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr


def test_the_repository_stands_on_its_own() -> None:
    # A user who clones the project from a forge has nothing beside it: no file may reach outside.
    outside = re.compile(r"\.\./shared|parent\s*/\s*[\"']shared[\"']")
    ignored = {".git", ".venv", ".typecheck", "build", "node_modules", ".hypothesis"}
    offenders = [
        f"{path.relative_to(REPO)}:{number}"
        for path in REPO.rglob("*")
        if path.is_file()
        and not ignored & set(path.relative_to(REPO).parts)
        and path.suffix in {".py", ".toml", ".yaml", ".cfg", ".ini", ".sh", ""}
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if outside.search(line) and path.name != "test_quality.py"
    ]
    assert not offenders, offenders
    assert (REPO / "tests" / "data" / "real-ps" / "PROVENANCE.md").is_file()
