"""The mock's model records: what is installed, and what runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ollama_contract_kit.openapi.names import ModelName, parse_model_name
from ollama_contract_kit.openapi.timestamps import GoTime

#: The six `details` fields `/api/ps` shows, in the real server's order.
PS_DETAIL_FIELDS = ("parent_model", "format", "family", "families", "parameter_size", "quantization_level")


@dataclass(frozen=True)
class Footprint:
    """What a model takes in memory once loaded with the default options, as a server reported it."""

    size: int
    size_vram: int
    context_length: int


@dataclass(frozen=True)
class InstalledModel:
    """A model on the mock's disk: what `/api/tags` lists and what may be loaded."""

    name: str
    digest: str
    size: int
    details: Mapping[str, Any]
    modified_at: GoTime
    #: The loaded footprint a fixture states (authoritative at its context); None: estimated from the model.
    loaded: Footprint | None
    capabilities: tuple[str, ...] = ("completion",)
    #: What `/api/show` tells beyond `/api/tags`; None or empty means derived from the rest.
    model_info: Mapping[str, Any] | None = None
    template: str | None = None
    system: str = ""
    license: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    messages: tuple[Mapping[str, str], ...] = ()
    #: The digest of the weights blob; empty: the model's own (a model created FROM another shares its).
    weights: str = ""
    #: Recorded blobs and `/api/show` facts; None means derived (see `card` and `gguf`).
    projector: str | None = None
    tensors: tuple[Mapping[str, Any], ...] | None = None
    projector_info: Mapping[str, Any] | None = None

    def can(self, capability: str) -> bool:
        """True when the model has `capability` (`completion`, `tools`, `thinking`, `vision`, `embedding`, ...)."""
        return capability in self.capabilities

    @property
    def parsed_name(self) -> ModelName:
        """The fully qualified name (the fixture loader guarantees it parses)."""
        parsed = parse_model_name(self.name)
        if parsed is None:
            raise ValueError(f"invalid model name {self.name!r}")
        return parsed

    @property
    def key(self) -> str:
        """The case-insensitive identity of the model."""
        return self.parsed_name.key

    @property
    def display_name(self) -> str:
        """The name as Ollama lists it (`model:tag`, `ns/model:tag`, `host/ns/model:tag`)."""
        return self.parsed_name.display_shortest()


@dataclass(frozen=True)
class RunningModel:
    """A loaded model: its footprint, its keep-alive and when it expires."""

    model: InstalledModel
    expires_at: GoTime
    keep_alive_seconds: float
    size: int
    size_vram: int
    context_length: int
    unload_delay_seconds: float = 0.0

    @property
    def listed_until(self) -> GoTime:
        """When it leaves `/api/ps`: its expiry plus the time the runner takes to stop."""
        return self.expires_at.plus(self.unload_delay_seconds)


@dataclass(frozen=True)
class RunningSeed:
    """A model a world starts with running: its keep-alive or expiry, and any sizes the fixture states."""

    model: InstalledModel
    keep_alive_seconds: float | None
    expires_at: GoTime | None
    size: int | None
    size_vram: int | None
    context_length: int | None
