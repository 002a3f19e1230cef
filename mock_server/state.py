"""Everything one mock server holds, shared by its request threads and its test handle."""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from ollama_contract_kit.openapi.timestamps import GoTime

from .answers.replies import ReplyBook
from .config import MockConfig
from .native.wire import ps_entry
from .serving.encoding import go_json
from .serving.faults import FaultBook
from .serving.requestlog import RequestLog
from .simulation.clock import Clock
from .simulation.machine import read_settings
from .simulation.scheduler import Scheduler
from .world import card
from .world.fixtures import WorldDocument, default_fixture, read_fixture_file, version_problems
from .world.world import World


@dataclass(frozen=True)
class _CachedBody:
    generation: tuple[int, int]
    valid_until: GoTime | None
    body: bytes


class MockState:
    """The world, clock, scheduler, faults and request log of one server, plus the world it started with."""

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
        self.world = World()
        self.scheduler = Scheduler(self.clock, initial.machine, config.pace, unload_delay=config.unload_delay)
        self.faults = FaultBook(config.faults)
        #: Scripted replies: the world's, and those added since (control API, test handle).
        self.replies = ReplyBook()
        self.requests = RequestLog(config.token)
        #: Blobs uploaded with `POST /api/blobs/:digest` (digest to size), besides the installed models' layers.
        self.blobs: dict[str, int] = {}
        self._ps_cache: _CachedBody | None = None
        self._ps_lock = threading.Lock()
        #: Running models of the initial world that did not fit (the loaded-model cap) or had expired.
        self.not_started = self.apply(self.initial)

    def apply(self, document: WorldDocument) -> list[str]:
        """Make `document` the world: its machine (with the configured settings over it), its models,
        and its running ones from now.

        Returns the names of running models that are not running after all (evicted by the cap on
        loaded models, or already expired), in the document's order.
        """
        machine = document.machine
        overrides = dict(self.config.settings)
        if self.config.max_loaded is not None:
            overrides["OLLAMA_MAX_LOADED_MODELS"] = self.config.max_loaded
        machine = replace(machine, settings=read_settings(overrides, machine.settings))
        self.world.replace(document.models, document.version, document.registry)
        self.replies.replace(document.replies, strict=document.strict_replies or self.config.strict_replies)
        self.scheduler.machine = machine
        self.scheduler.speaks_as = self.world.release
        #: The server's `OLLAMA_MODELS` (where the Modelfile of `/api/show` finds the blobs).
        self.models_path = document.models_path
        return self.scheduler.reset(document.running)

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
        now = self.clock.instant()
        generation = (self.world.generation, self.scheduler.generation)
        if (
            cached is not None
            and cached.generation == generation
            and (cached.valid_until is None or now < cached.valid_until)
        ):
            return cached.body
        with self._ps_lock:
            listing = self.scheduler.listing()
            release = self.world.release
            body = go_json({"models": [ps_entry(model, release) for model in listing.models]})
            if not listing.volatile:
                generation = (self.world.generation, listing.generation)
                self._ps_cache = _CachedBody(generation, listing.valid_until, body)
            return body
