"""A mock Ollama server: faithful `/api/ps`, the load/unload lifecycle, a controllable clock and faults.

Names load on first use, so the pytest plugin (registered for every project that installs the
kit) costs nothing until a test asks for the `ollama_mock` fixture.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .clock import Clock
    from .config import MockConfig
    from .faults import Fault, FaultError, FaultKind
    from .fixtures import FixtureError, WorldDocument, read_fixture_file
    from .server import MockOllama, MockServerError
    from .world import World

_WHERE = {
    "Clock": "clock",
    "Fault": "faults",
    "FaultError": "faults",
    "FaultKind": "faults",
    "FixtureError": "fixtures",
    "MockConfig": "config",
    "MockOllama": "server",
    "MockServerError": "server",
    "World": "world",
    "WorldDocument": "fixtures",
    "create_app": "app",
    "read_fixture_file": "fixtures",
}
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


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
