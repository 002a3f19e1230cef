"""Everything one mock server holds, shared by its request threads and its test handle."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime

from .config import MockConfig
from .native.wire import ps_entry
from .serving.encoding import go_json
from .serving.faults import FaultBook
from .serving.requestlog import RequestLog
from .world import card
from .world.clock import Clock
from .world.fixtures import WorldDocument, default_fixture, read_fixture_file, version_problems
from .world.world import World


@dataclass(frozen=True)
class _CachedBody:
    generation: int
    valid_until: datetime | None
    body: bytes


class MockState:
    """The world, clock, faults and request log of one server, plus the world it started with."""

    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.clock = Clock(config.timezone)
        initial = config.world or (read_fixture_file(config.fixtures) if config.fixtures else default_fixture())
        if config.ollama_version is not None:
            problems = version_problems(config.ollama_version, "ollama_version")
            if problems:
                raise ValueError(problems[0])
            initial = replace(initial, version=config.ollama_version)
        self.initial = initial
        self.world = World(self.clock, unload_delay_seconds=config.unload_delay, max_loaded=config.max_loaded)
        self.faults = FaultBook(config.faults)
        self.requests = RequestLog(config.token)
        #: Blobs uploaded with `POST /api/blobs/:digest` (digest to size), besides the installed models' layers.
        self.blobs: dict[str, int] = {}
        self._ps_cache: _CachedBody | None = None
        self._ps_lock = threading.Lock()
        #: Running models of the initial world that did not fit (`max_loaded`) or had expired.
        self.not_started = self.apply(self.initial)

    def apply(self, document: WorldDocument) -> list[str]:
        """Make `document` the world: install its models and load its running ones from now.

        Returns the names of running models that are not running after all (evicted by
        `max_loaded`, or already expired), in the document's order.
        """
        self.world.replace(document.models, document.version, document.registry)
        for seed in document.running:
            self.world.load(
                seed.model,
                seed.keep_alive_seconds,
                expires_at=seed.expires_at,
                size=seed.size,
                size_vram=seed.size_vram,
                context_length=seed.context_length,
            )
        running = {model.model.key for model in self.world.listing().models}
        return [seed.model.name for seed in document.running if seed.model.key not in running]

    def blobs_on_disk(self) -> set[str]:
        """Every blob digest the server has: uploaded ones and the layers of the installed models."""
        installed = {layer.digest for model in self.world.installed() for layer in card.layers(model)}
        return installed | set(self.blobs)

    def reset(self) -> None:
        """Back to the start: initial world, real time, start-up faults, empty request log."""
        self.clock.reset()
        self.apply(self.initial)
        self.faults.reset()
        self.requests.clear()
        self.blobs.clear()

    def ps_body(self) -> bytes:
        """The `/api/ps` body, rebuilt only when the world changed or a listed model expired."""
        cached = self._ps_cache
        now = self.clock.now()
        if (
            cached is not None
            and cached.generation == self.world.generation
            and (cached.valid_until is None or now < cached.valid_until)
        ):
            return cached.body
        with self._ps_lock:
            listing = self.world.listing()
            release = self.world.release
            body = go_json({"models": [ps_entry(model, release) for model in listing.models]})
            valid_until = min((model.listed_until for model in listing.models), default=None)
            self._ps_cache = _CachedBody(listing.generation, valid_until, body)
            return body
