"""The mock's world: the models installed on its disk and the registry it pulls from (what runs is the scheduler's)."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from ollama_contract_kit.openapi.names import parse_model_name
from ollama_contract_kit.openapi.releases import Version, parse_version

from .models import InstalledModel


class UnknownModel(LookupError):
    """The named model is not installed."""


class World:
    """Thread-safe catalog of one mock server, empty until `replace`; every change bumps `generation`."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._installed: dict[str, InstalledModel] = {}
        self._upstream: dict[str, InstalledModel] = {}
        self.version = ""
        #: `version` as a release (`(0, 1, 42)`): what the mock speaks like (`releases.CHANGES`).
        self.release: Version | None = None
        self.generation = 0

    def replace(
        self, installed: Iterable[InstalledModel], version: str, upstream: Iterable[InstalledModel] = ()
    ) -> None:
        """Install exactly `installed` and offer `upstream` for pulling."""
        with self._lock:
            self._installed = {model.key: model for model in installed}
            self._upstream = {model.key: model for model in upstream}
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
