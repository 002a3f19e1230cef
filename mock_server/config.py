"""How one mock server is set up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Any

from .serving.faults import Fault
from .simulation.pacing import Pace
from .world.fixtures import WorldDocument

#: Generous enough for a chat carrying several base64 camera images.
DEFAULT_MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class MockConfig:
    """Settings of a mock server; every field has the default `ollama-mock` uses."""

    #: A fixture file (JSON or YAML); None serves the embedded default world.
    fixtures: str | Path | None = None
    #: An already-validated world; overrides `fixtures`.
    world: WorldDocument | None = None
    #: Serve everything below this prefix (`/ollama`), as behind a reverse proxy.
    base_path: str = ""
    #: Require `Authorization: Bearer <token>` on every request.
    token: str | None = None
    #: Serve the control API under `/_mock/`.
    control: bool = True
    #: Extra allowed CORS origins, like `OLLAMA_ORIGINS` (`*` allows all).
    origins: tuple[str, ...] = ()
    #: The address the server listens on; the Host-header check applies only on loopback, like Ollama.
    bind_host: str = "127.0.0.1"
    #: The zone `expires_at` is written in; None is the machine's local zone, like Ollama.
    timezone: tzinfo | None = None
    #: Seconds an unloaded or expired model stays listed (the real runner takes time to stop).
    unload_delay: float = 0.0
    #: `OLLAMA_MAX_LOADED_MODELS` over the world's (None: the world's; 0: 3 per GPU, as Ollama).
    max_loaded: int | None = None
    #: Server settings by their environment names (`{"OLLAMA_NUM_PARALLEL": 2}`) over the world's machine.
    settings: Mapping[str, Any] = field(default_factory=dict)
    #: How fast loads and tokens go (real time while the clock runs).
    pace: Pace = field(default_factory=Pace)
    #: Seconds the download of a pull (or a push's upload) takes, spread over its progress lines; 0 is instant.
    pull_seconds: float = 0.0
    #: Speak as this Ollama release (`0.1.40`): its `/api/version` and wire format; None keeps the world's.
    ollama_version: str | None = None
    #: Refuse request bodies larger than this many bytes with 413 (blob uploads, streamed and hashed, excepted).
    max_body: int = DEFAULT_MAX_BODY
    #: Faults in force from the start.
    faults: tuple[Fault, ...] = ()
    #: Log one line per request to the `ollama_contract_kit.mock` logger.
    log_requests: bool = True
    #: Strict replay: refuse (400) a generating request no reply rule matches, whatever the world says.
    strict_replies: bool = False

    def normalized_base_path(self) -> str:
        """The base path with one leading slash and no trailing one (`""` for none)."""
        stripped = self.base_path.strip().strip("/")
        return f"/{stripped}" if stripped else ""
