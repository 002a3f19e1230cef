"""The house keeps its dependency directions (STYLE.md): the floor stands alone, the mock never needs the checker."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .conftest import REPO
from .test_quality import PACKAGES

#: What each package may import of the kit (besides itself).
ALLOWED = {
    "openapi": set(),
    "commandline": set(),
    "client": {"openapi", "commandline"},
    "mock_server": {"openapi", "commandline", "client"},
    "contract_tests": {"openapi", "commandline", "client", "mock_server"},
}
#: Third-party packages a package must never import (the mock's start-up time and memory are features).
FORBIDDEN = {
    "openapi": {"flask", "requests", "schemathesis", "hypothesis", "pytest"},
    "commandline": {"flask", "requests", "schemathesis", "hypothesis", "pytest", "yaml", "jsonschema"},
    "client": {"flask", "schemathesis", "hypothesis", "pytest"},
    "mock_server": {"schemathesis", "hypothesis"},
    "contract_tests": set(),
}


def _imports(path: Path, package: str) -> set[str]:
    """Top-level names imported by a module: the kit's packages as their folder name, others as given."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                found.add(f"ollama_contract_kit.{package}")  # relative: within the package
            elif node.module:
                found.add(node.module)
    return {
        name.split(".")[1] if name.startswith("ollama_contract_kit.") else name.split(".")[0]
        for name in found
        if name != "ollama_contract_kit"
    }


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_what_lies_below_it(package: str) -> None:
    offenders = []
    for path in sorted((REPO / package).rglob("*.py")):
        imported = _imports(path, package)
        kit = {name for name in imported if name in ALLOWED} - {package}
        for name in sorted(kit - ALLOWED[package]):
            offenders.append(f"{path.relative_to(REPO)} imports ollama_contract_kit.{name}")
        if package == "mock_server" and path.name == "pytest_plugin.py":
            continue  # the plugin is pytest's by nature
        for name in sorted(imported & FORBIDDEN[package]):
            offenders.append(f"{path.relative_to(REPO)} imports {name}")
    assert not offenders, "\n".join(offenders)
