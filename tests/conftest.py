"""Shared fixtures: the real captures, a fresh mock app per test, and its test client."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ollama_contract_kit.mock_server import MockConfig, create_app

REPO = Path(__file__).resolve().parent.parent
#: Real `/api/ps` bodies and `ollama ps` tables from public sources; PROVENANCE.md there says where each came from.
REAL_PS = Path(__file__).resolve().parent / "data" / "real-ps"
#: Raw exchanges with a real Ollama 0.33.0-rc2, its mirrored world, and exchanges derived from its source.
REAL_OLLAMA = Path(__file__).resolve().parent / "data" / "real-ollama-0.33"
#: Captures that are hand-written documentation, not bodies a server sent (see PROVENANCE.md).
HAND_WRITTEN = {"002_ollama-openapi-yaml_gemma3-no-name.json", "003_ollama-openapi-yaml_gemma4.json"}


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers a core (at most 16). Half of the suite's time is spent waiting on servers and
    subprocesses it starts, so one worker a core leaves the cores idle that long."""
    return min(16, 2 * (os.cpu_count() or 1))


def real_captures() -> list[Path]:
    """Every real `/api/ps` body in tests/data/real-ps (hand-written doc examples excluded)."""
    return sorted(path for path in REAL_PS.glob("*.json") if path.name not in HAND_WRITTEN)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def app() -> Flask:
    """A fresh mock app (default world, quiet log)."""
    return create_app(MockConfig(log_requests=False))


@pytest.fixture
def http(app: Flask) -> Iterator[FlaskClient]:
    """A test client of the fresh mock app."""
    with app.test_client() as client:
        yield client


def model_names(body: dict[str, Any]) -> list[str]:
    return [model["name"] for model in body["models"]]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


pytest_plugins = ["ollama_contract_kit.contract_tests.plugin"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test run on `ollama-mock` served by each real server starts a process per server: `make check` skips it."""
    from .served import SERVERS

    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and any(isinstance(v, str) and v in SERVERS for v in callspec.params.values()):
            item.add_marker(pytest.mark.slow)
