"""pytest plugin: the `ollama_mock` fixture, a mock Ollama with a fresh world for every test.

One server runs for the whole session; each test gets it reset (initial world, real time, no
extra faults, empty request log). Installed with the kit through the `pytest11` entry point, so
it imports nothing heavy until a test uses the fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .server import MockOllama


@pytest.fixture(scope="session")
def ollama_mock_server() -> Iterator[MockOllama]:
    """The session's mock server (prefer `ollama_mock`, which also resets it)."""
    from .server import MockOllama

    with MockOllama(log_requests=False) as server:
        yield server


@pytest.fixture
def ollama_mock(ollama_mock_server: MockOllama) -> MockOllama:
    """A running mock Ollama with the default world, reset for this test; `ollama_mock.url` is its URL."""
    ollama_mock_server.reset()
    return ollama_mock_server
