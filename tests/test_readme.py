"""Every Python snippet in the README runs as written (against a mock where it talks to a server)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from ollama_contract_kit.mock_server import MockOllama

from .conftest import REPO

SNIPPETS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(encoding="utf-8"), re.DOTALL)


def test_readme_has_python_snippets() -> None:
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("snippet", SNIPPETS, ids=[f"snippet-{index}" for index in range(len(SNIPPETS))])
def test_readme_snippet_runs(snippet: str, ollama_mock: MockOllama, capsys: pytest.CaptureFixture[str]) -> None:
    code = snippet.replace("http://127.0.0.1:11434", ollama_mock.url)
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    for name, value in namespace.items():
        if name.startswith("test_") and callable(value) and value.__code__.co_filename == "README.md":
            value(ollama_mock)
