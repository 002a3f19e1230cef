"""A mock Ollama server: faithful `/api/ps`, the load/unload lifecycle, a controllable clock and faults."""

from __future__ import annotations

from .app import create_app
from .clock import Clock
from .config import MockConfig
from .faults import Fault, FaultError, FaultKind
from .fixtures import FixtureError, WorldDocument, read_fixture_file
from .server import MockOllama, MockServerError
from .world import World

__all__ = [
    "Clock",
    "Fault",
    "FaultError",
    "FaultKind",
    "FixtureError",
    "MockConfig",
    "MockOllama",
    "MockServerError",
    "World",
    "WorldDocument",
    "create_app",
    "read_fixture_file",
]
