"""Real client libraries against the mock: `make clients` installs them (npm) and runs these tests.

Deselected from the default suite (marker `clients`): they need Node.js and packages from npm.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ollama_contract_kit.mock_server import MockOllama

CLIENTS = Path(__file__).resolve().parent / "clients"

pytestmark = pytest.mark.clients


def _run_node(script: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node, "Node.js is needed: install it (Debian/Ubuntu: apt-get install nodejs npm)"
    assert (CLIENTS / "node_modules" / "ollama").is_dir(), "run `make clients` (it installs ollama-js with npm)"
    return subprocess.run([node, str(CLIENTS / script), *arguments], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("settings", "token"),
    [({}, None), ({"base_path": "/ollama", "token": "s3cr3t"}, "s3cr3t")],
    ids=["plain", "behind a prefix and a token"],
)
def test_ollama_js_sees_a_real_ollama(settings: dict[str, str], token: str | None) -> None:
    with MockOllama(log_requests=False, **settings) as mock:
        result = _run_node("ollama_js.mjs", mock.url, *([token] if token else []))
    assert result.returncode == 0, result.stdout + result.stderr
    steps = [line.split(":")[0] for line in result.stdout.splitlines()]
    assert steps == [
        "ok   ps",
        "ok   version",
        "ok   list",
        "ok   load",
        "ok   ps after load",
        "ok   streamed generate",
        "ok   chat",
        "ok   unload",
        "ok   ps after unload",
        "ok   unknown model",
        "ok   show",
        "ok   embed",
        "ok   ps after embed",
        "ok   embeddings",
        "ok   streamed pull",
        "ok   list after pull",
        "ok   copy",
        "ok   create",
        "ok   show created",
        "ok   delete",
        "ok   list after delete",
        "ok   tool calls",
        "ok   thinking",
    ], result.stdout
