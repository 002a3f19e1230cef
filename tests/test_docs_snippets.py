"""Every fenced block of the README and docs/ works as written: Python runs, shell runs, YAML parses and is valid.

- Python blocks run against a mock (`http://127.0.0.1:11434` is the session mock); their `test_`
  functions are called with the `ollama_mock` fixture. The conftest/test-module pair of
  docs/pytest.md runs in another project in test_contract_suite_elsewhere.py.
- Shell blocks run with bash, stopping at the first failing command, against the session mock, or
  against the mock a block starts itself in the background (`ollama-mock ... &`, on a free port).
  `make` and `pip install` lines are left out: CI runs `make test` itself, and the kit is installed.
  Raw Schemathesis runs its examples phase (what proves the command, its configuration and the mock's
  answers to the contract's examples; test_fuzz_mock.py sends the other phases' cases under the same
  configuration), or as written with OLLAMA_RAW_EXAMPLES=readme (`make fuzz`).
- YAML blocks parse; a GitHub workflow has a trigger and its `run` steps run as one script (the
  `pytest` step is the user's own suite); any other block is a world, validated as the mock would.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ollama_contract_kit.mock_server import MockOllama
from ollama_contract_kit.mock_server.world.fixtures import build_world_document

from .conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
_FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: Lines the runner leaves out, and why: CI runs `make test` itself; the kit is installed already.
_LEFT_OUT = ("make ", "pip ")
#: Python blocks run elsewhere (in a project of their own): they start with these lines.
_RUN_ELSEWHERE = ("# conftest.py", "# tests/test_ollama_contract.py")
AS_WRITTEN = os.environ.get("OLLAMA_RAW_EXAMPLES") == "readme"


def _blocks(language: str) -> list[Any]:
    found = []
    for page in PAGES:
        for index, (kind, text) in enumerate(_FENCE.findall(page.read_text(encoding="utf-8"))):
            if kind == language:
                found.append(pytest.param(text, id=f"{page.relative_to(REPO)}-{index}"))
    return found


def test_every_block_says_its_language() -> None:
    kinds = {kind for page in PAGES for kind, _ in _FENCE.findall(page.read_text(encoding="utf-8"))}
    assert kinds <= {"python", "sh", "yaml", "text"}, "a block the runner would not know how to check"
    assert len(_blocks("sh")) >= 8 and len(_blocks("yaml")) >= 4 and len(_blocks("python")) >= 5


@pytest.mark.parametrize("snippet", _blocks("python"))
def test_a_python_block_runs(snippet: str, ollama_mock: MockOllama) -> None:
    if snippet.startswith(_RUN_ELSEWHERE):
        return
    code = snippet.replace("http://127.0.0.1:11434", ollama_mock.url)
    namespace: dict[str, Any] = {}
    exec(compile(code, "snippet", "exec"), namespace)
    for name, value in namespace.items():
        if name.startswith("test_") and callable(value) and value.__code__.co_filename == "snippet":
            ollama_mock.reset()
            value(ollama_mock)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _script(text: str, port: int) -> str:
    """The block as a bash script for this run: continuations joined, left-out lines dropped, the port set."""
    lines = text.replace("\\\n", " ").splitlines()
    kept = [line for line in lines if not line.strip().startswith(_LEFT_OUT)]
    script = "\n".join(kept).replace("11434", str(port))
    if not AS_WRITTEN:
        script = re.sub(r"(schemathesis .*run .*)$", r"\1 --phases examples", script, flags=re.MULTILINE)
    # Background servers end with the script; bash stops at the first command that fails.
    return "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script + "\n"


def _run(script: str, folder: Path) -> subprocess.CompletedProcess[str]:
    for name in ("openapi", "schemathesis.toml"):  # for commands written from the repository's root
        (folder / name).symlink_to(REPO / name)
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OLLAMA_")}
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-c", script], cwd=folder, env=environment, capture_output=True, text=True, timeout=600,
        start_new_session=True,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("snippet", _blocks("sh"))
def test_a_shell_block_runs(snippet: str, ollama_mock: MockOllama, tmp_path: Path) -> None:
    starts_a_server = any(line.rstrip().endswith("&") for line in snippet.splitlines())
    port = _free_port() if starts_a_server else ollama_mock.port
    result = _run(_script(snippet, port), tmp_path)
    assert result.returncode == 0, f"{snippet}\n---\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    raw_runs = len(re.findall(r"^schemathesis .*run ", snippet, re.MULTILINE))
    loaded = re.findall(r"^ *Configuration: +(\S+)$", result.stdout, re.MULTILINE)
    assert len(loaded) == raw_runs and all(path.endswith("schemathesis.toml") for path in loaded), (
        f"every raw Schemathesis run reads the kit's schemathesis.toml: {loaded}"
    )


def _is_workflow(data: Any) -> bool:
    return isinstance(data, dict) and "jobs" in data


@pytest.mark.parametrize("snippet", _blocks("yaml"))
def test_a_yaml_block_is_valid(snippet: str) -> None:
    data = yaml.safe_load(snippet)
    if _is_workflow(data):
        assert "on" in data or True in data, "GitHub refuses a workflow without a trigger (`on:`)"
        steps = [step for job in data["jobs"].values() for step in job["steps"]]
        assert all("uses" in step or "run" in step for step in steps)
        return
    world = data if "models" in data else {"models": [], **data}  # a fragment of a world
    build_world_document(world, "snippet")


@pytest.mark.slow
@pytest.mark.parametrize(
    "snippet", [block for block in _blocks("yaml") if _is_workflow(yaml.safe_load(block.values[0]))]
)
def test_a_workflows_steps_run_as_a_script(snippet: str, tmp_path: Path) -> None:
    data = yaml.safe_load(snippet)
    runs = [step["run"] for job in data["jobs"].values() for step in job["steps"] if "run" in step]
    commands = [command for command in runs if command.split()[0] != "pytest"]  # the user's own suite
    result = _run(_script("\n".join(commands), _free_port()), tmp_path)
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert (tmp_path / "ollama-contract.xml").is_file(), "the report the workflow uploads"
