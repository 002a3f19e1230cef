"""The mock's world: installed models, running models, and the load/unload lifecycle."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ollama_contract_kit.openapi.durations import DEFAULT_KEEP_ALIVE_SECONDS
from ollama_contract_kit.openapi.names import parse_model_name
from ollama_contract_kit.openapi.releases import Version, has, parse_version

from .clock import Clock
from .models import InstalledModel, RunningModel


class UnknownModel(LookupError):
    """The named model is not installed."""


@dataclass(frozen=True)
class Listing:
    """The running models at one instant, and the world generation they were read at."""

    generation: int
    models: tuple[RunningModel, ...]


def expiry_after(now: datetime, keep_alive_seconds: float) -> datetime:
    """`now` plus a keep-alive, capped where datetime ends (a forever keep-alive is ~292 years)."""
    try:
        return now + timedelta(seconds=keep_alive_seconds)
    except OverflowError:
        return datetime.max.replace(tzinfo=now.tzinfo)


class World:
    """Thread-safe state of one mock server, empty until `replace`; every change bumps `generation`."""

    def __init__(
        self,
        clock: Clock,
        unload_delay_seconds: float = 0.0,
        max_loaded: int | None = None,
    ) -> None:
        self.clock = clock
        self.unload_delay_seconds = unload_delay_seconds
        self.max_loaded = max_loaded
        self._lock = threading.RLock()
        self._installed: dict[str, InstalledModel] = {}
        self._upstream: dict[str, InstalledModel] = {}
        self._running: dict[str, RunningModel] = {}
        self._next_expiry: datetime | None = None
        self.version = ""
        #: `version` as a release (`(0, 1, 42)`): what the mock speaks like (`releases.CHANGES`).
        self.release: Version | None = None
        self.generation = 0

    # -- what is installed -------------------------------------------------------------------------

    def replace(
        self, installed: Iterable[InstalledModel], version: str, upstream: Iterable[InstalledModel] = ()
    ) -> None:
        """Install exactly `installed`, offer `upstream` for pulling, and stop everything."""
        with self._lock:
            self._installed = {model.key: model for model in installed}
            self._upstream = {model.key: model for model in upstream}
            self._running = {}
            self._next_expiry = None
            self.version = version
            self.release = parse_version(version)
            self.generation += 1

    def installed(self) -> tuple[InstalledModel, ...]:
        """The installed models, newest `modified_at` first (as `/api/tags` lists them)."""
        with self._lock:
            return tuple(sorted(self._installed.values(), key=lambda model: model.modified_at, reverse=True))

    def upstream(self) -> tuple[InstalledModel, ...]:
        """The models the registry offers (pull installs them, push adds to them)."""
        with self._lock:
            return tuple(self._upstream.values())

    def find_upstream(self, name: str) -> InstalledModel | None:
        """The registry's model of that name, if it has one."""
        parsed = parse_model_name(name)
        with self._lock:
            return self._upstream.get(parsed.key) if parsed else None

    def install(self, model: InstalledModel) -> None:
        """Install `model` (pull, create, copy), replacing one of the same name; a running one stays loaded."""
        with self._lock:
            self._installed[model.key] = model
            self.generation += 1

    def remove(self, model: InstalledModel) -> None:
        """Delete an installed model. Like Ollama, a running one stays listed in `/api/ps` until it expires."""
        with self._lock:
            self._installed.pop(model.key, None)
            self.generation += 1

    def publish(self, model: InstalledModel) -> None:
        """Put `model` in the registry (push)."""
        with self._lock:
            self._upstream[model.key] = model

    def find(self, name: str) -> InstalledModel | None:
        """The installed model a request's name means (case-insensitive, defaults filled), if any."""
        parsed = parse_model_name(name)
        if parsed is None:
            return None
        with self._lock:
            return self._installed.get(parsed.key)

    def require(self, name: str) -> InstalledModel:
        """Like `find`, but raise UnknownModel naming the model."""
        model = self.find(name)
        if model is None:
            raise UnknownModel(name)
        return model

    # -- the lifecycle -----------------------------------------------------------------------------

    def load(
        self,
        model: InstalledModel,
        keep_alive_seconds: float | None,
        *,
        expires_at: datetime | None = None,
        size: int | None = None,
        size_vram: int | None = None,
        context_length: int | None = None,
    ) -> RunningModel:
        """Load (or refresh) a model. No keep-alive keeps the current one (5 minutes at first load)."""
        with self._lock:
            now = self.clock.now()
            self._expire(now)
            current = self._running.get(model.key)
            if keep_alive_seconds is None:
                keep_alive_seconds = current.keep_alive_seconds if current else DEFAULT_KEEP_ALIVE_SECONDS
            if current is None:
                self._make_room()
            footprint = model.loaded
            running = RunningModel(
                model=model,
                expires_at=expires_at or expiry_after(now, keep_alive_seconds),
                keep_alive_seconds=keep_alive_seconds,
                size=size if size is not None else footprint.size,
                size_vram=size_vram if size_vram is not None else footprint.size_vram,
                context_length=context_length if context_length is not None else footprint.context_length,
                unload_delay_seconds=self.unload_delay_seconds,
            )
            self._running[model.key] = running
            self._note_expiry(running.listed_until)
            self.generation += 1
            return running

    def unload(self, model: InstalledModel) -> None:
        """Expire a model now (keep_alive 0); it stays listed for the unload delay, if any."""
        with self._lock:
            current = self._running.get(model.key)
            if current is None:
                return
            now = self.clock.now()
            if self.unload_delay_seconds > 0:
                self._running[model.key] = unloaded = replace(current, expires_at=min(now, current.expires_at))
                self._note_expiry(unloaded.listed_until)
            else:
                del self._running[model.key]
            self.generation += 1

    def listing(self) -> Listing:
        """The running models now, latest expiry first (whole seconds, then load order); in load order
        for a release that did not sort yet."""
        with self._lock:
            self._expire(self.clock.now())
            models = list(self._running.values())
            if has(self.release, "ps_sorted"):
                models.sort(key=lambda m: int(m.expires_at.timestamp()), reverse=True)
            return Listing(generation=self.generation, models=tuple(models))

    def _note_expiry(self, listed_until: datetime) -> None:
        if self._next_expiry is None or listed_until < self._next_expiry:
            self._next_expiry = listed_until

    def _expire(self, now: datetime) -> None:
        # One scan per expiry, not per call: loading thousands of models stays linear.
        if self._next_expiry is None or now < self._next_expiry:
            return
        gone = [key for key, running in self._running.items() if running.listed_until <= now]
        for key in gone:
            del self._running[key]
        if gone:
            self.generation += 1
        self._next_expiry = min((running.listed_until for running in self._running.values()), default=None)

    def _make_room(self) -> None:
        if self.max_loaded is None or len(self._running) < self.max_loaded:
            return
        soonest = min(self._running.values(), key=lambda running: running.expires_at)
        del self._running[soonest.model.key]
