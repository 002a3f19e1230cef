"""Typed, immutable views of `/api/ps` bodies, mirroring the contract's `RunningModel` schema."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

from ollama_contract_kit.openapi import validator_for
from ollama_contract_kit.openapi.timestamps import parse_timestamp

from .errors import ContractError

#: `ollama ps` shows "Forever" for expiries further away than this.
FOREVER_AFTER = timedelta(days=365 * 20)


@dataclass(frozen=True)
class ModelDetails:
    """What the model is (the contract's `ModelDetails`)."""

    parent_model: str
    format: str
    family: str
    families: tuple[str, ...] | None
    parameter_size: str
    quantization_level: str
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelDetails:
        """Build from a validated `details` object; unknown keys land in `extra`."""
        families = data["families"]
        return cls(
            parent_model=data["parent_model"],
            format=data["format"],
            family=data["family"],
            families=None if families is None else tuple(families),
            parameter_size=data["parameter_size"],
            quantization_level=data["quantization_level"],
            extra=_extra(cls, data),
        )


@dataclass(frozen=True)
class RunningModel:
    """One model loaded in memory (the contract's `RunningModel`)."""

    name: str
    model: str
    size: int
    digest: str
    details: ModelDetails
    expires_at: datetime
    size_vram: int | None = None
    context_length: int | None = None
    extra: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunningModel:
        """Build from a validated `/api/ps` item; unknown keys land in `extra`."""
        return cls(
            name=data["name"],
            model=data["model"],
            size=data["size"],
            digest=data["digest"],
            details=ModelDetails.from_json(data["details"]),
            expires_at=parse_timestamp(data["expires_at"]),
            size_vram=data.get("size_vram"),
            context_length=data.get("context_length"),
            extra=_extra(cls, data),
        )

    @property
    def id(self) -> str:
        """The short ID `ollama ps` shows: the first 12 digest characters."""
        return self.digest[:12]

    def expires_in(self, now: datetime | None = None) -> timedelta:
        """Time left until unload (negative while an unload is under way)."""
        return self.expires_at - (now or datetime.now(timezone.utc))

    def is_forever(self, now: datetime | None = None) -> bool:
        """True for a keep-alive of "forever" (an expiry decades ahead)."""
        return self.expires_in(now) > FOREVER_AFTER

    @property
    def vram_share(self) -> float | None:
        """The part of the model in VRAM, 0.0 to 1.0; None when unknown (no `size_vram`, size 0)."""
        if self.size_vram is None or self.size == 0 or self.size_vram > self.size:
            return None
        return self.size_vram / self.size


def keep_alive_until(expires_at: datetime, now: datetime) -> int:
    """The `keep_alive` that reproduces an expiry from `now`: -1 for "forever", else whole seconds (at least 1)."""
    remaining = expires_at - now
    return -1 if remaining > FOREVER_AFTER else max(1, round(remaining.total_seconds()))


def parse_ps_body(data: Any, source: str) -> tuple[RunningModel, ...]:
    """Check an `/api/ps` body against the contract and return its models; ContractError names the field."""
    problems = validator_for("ollama", "PsResponse").problems(data)
    if problems:
        raise ContractError(source, [str(problem) for problem in problems])
    try:
        return tuple(RunningModel.from_json(item) for item in data["models"])
    except ValueError as error:
        raise ContractError(source, [f"$.models: {error}"]) from None


def _extra(cls: type, data: Mapping[str, Any]) -> Mapping[str, Any]:
    known = {item.name for item in fields(cls)}
    return MappingProxyType({key: value for key, value in data.items() if key not in known})
