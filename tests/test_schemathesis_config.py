"""The Schemathesis configuration the kit ships is one truth: the checkout's file is the shipped one.

The raw `schemathesis run` commands docs/verify.md gives run against the mock in
tests/test_docs_snippets.py (their examples phase; as written with OLLAMA_RAW_EXAMPLES=readme).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ollama_contract_kit.contract_tests.fuzz_config import SCHEMATHESIS_CONFIG

from .conftest import REPO

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CONTRACT = [sys.executable, "-m", "ollama_contract_kit.contract_tests.cli"]


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
