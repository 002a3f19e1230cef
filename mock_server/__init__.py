"""A mock Ollama server: faithful `/api/ps`, the load/unload lifecycle, a controllable clock and faults.

Names load on first use, so the pytest plugin (registered for every project that installs the
kit) costs nothing until a test asks for the `ollama_mock` fixture.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .config import MockConfig
    from .server import MockOllama, MockServerError
    from .serving.faults import Fault, FaultError, FaultKind
    from .simulation.clock import Clock
    from .simulation.pacing import Pace
    from .world.fixtures import FixtureError, WorldDocument, read_fixture_file
    from .world.world import World

_WHERE = {
    "Clock": "simulation.clock",
    "Fault": "serving.faults",
    "FaultError": "serving.faults",
    "FaultKind": "serving.faults",
    "FixtureError": "world.fixtures",
    "MockConfig": "config",
    "MockOllama": "server",
    "MockServerError": "server",
    "Pace": "simulation.pacing",
    "World": "world.world",
    "WorldDocument": "world.fixtures",
    "create_app": "app",
    "read_fixture_file": "world.fixtures",
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
    "Pace",
    "World",
    "WorldDocument",
    "create_app",
    "read_fixture_file",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
