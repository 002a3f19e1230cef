"""The machine the mock pretends to be: its GPUs, its memory, and the server settings that change scheduling.

Settings are read as Ollama reads its environment (`envconfig/config.go`): a CLI flag wins, then the
mock's own environment variable of the same name, then the world's `machine.environment`, then
Ollama's default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ollama_contract_kit.openapi.durations import FOREVER_SECONDS, KeepAliveError, parse_go_duration
from ollama_contract_kit.openapi.releases import Version, has

GIB = 1024**3
#: `defaultModelsPerGPU` (server/sched.go): the automatic cap on loaded models, per GPU (CPU-only: one set).
MODELS_PER_GPU = 3
#: The settings a world's `machine.environment` may give, and the CLI flags that set them.
SETTINGS = (
    "OLLAMA_MAX_LOADED_MODELS",
    "OLLAMA_NUM_PARALLEL",
    "OLLAMA_MAX_QUEUE",
    "OLLAMA_CONTEXT_LENGTH",
    "OLLAMA_KEEP_ALIVE",
    "OLLAMA_GPU_OVERHEAD",
    "OLLAMA_KV_CACHE_TYPE",
)
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$")
_UNITS = {None: 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KiB": 1024, "MiB": 1024**2}
_UNITS |= {"GiB": GIB, "TiB": 1024**4}
#: Bytes a value of each KV cache type takes (`--cache-type-k/-v`; llama.cpp's block sizes).
KV_BYTES = {"f16": 2.0, "bf16": 2.0, "f32": 4.0, "q8_0": 34 / 32, "q4_0": 18 / 32, "q4_1": 20 / 32}
KV_BYTES |= {"q5_0": 22 / 32, "q5_1": 24 / 32, "iq4_nl": 18 / 32}


class MachineError(ValueError):
    """A machine description or setting the mock cannot use; the message names it and says why."""


def byte_count(value: Any, where: str) -> int:
    """Bytes from a whole number or a text like `24 GiB`, `8GB`, `512MiB`; MachineError otherwise."""
    if isinstance(value, bool):
        raise MachineError(f"{where}: expected a size like 24 GiB or a number of bytes, got {value!r}")
    if isinstance(value, int) and value >= 0:
        return value
    match = _SIZE.match(value) if isinstance(value, str) else None
    if match is None:
        raise MachineError(f"{where}: expected a size like 24 GiB or a number of bytes, got {value!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


@dataclass(frozen=True)
class Gpu:
    """One GPU: its name and its total memory."""

    name: str
    memory: int


@dataclass(frozen=True)
class Settings:
    """The server's settings that change what gets loaded, with Ollama's defaults."""

    #: `OLLAMA_MAX_LOADED_MODELS`; 0 is automatic: 3 per GPU, 3 on a CPU-only server.
    max_loaded_models: int = 0
    #: `OLLAMA_NUM_PARALLEL`: requests a runner serves at once (embedding models always 1); 0: the release's default.
    num_parallel: int = 0
    #: `OLLAMA_MAX_QUEUE`: requests that may wait for a load before the 503.
    max_queue: int = 512
    #: `OLLAMA_CONTEXT_LENGTH`; 0 is automatic: 4096, 32768 or 262144 by total VRAM.
    context_length: int = 0
    #: `OLLAMA_KEEP_ALIVE` in seconds (`FOREVER_SECONDS` for a negative value).
    keep_alive: float = 300.0
    #: `OLLAMA_GPU_OVERHEAD`: bytes of each GPU kept free.
    gpu_overhead: int = 0
    #: `OLLAMA_KV_CACHE_TYPE` (f16 unless set).
    kv_cache_type: str = "f16"


@dataclass(frozen=True)
class Machine:
    """The hardware and the settings of the server the mock pretends to be."""

    gpus: tuple[Gpu, ...] = ()
    #: Total system memory (a CPU-only load is never refused for want of it, as on Ollama).
    memory: int = 32 * GIB
    settings: Settings = field(default_factory=Settings)

    @property
    def vram(self) -> int:
        """Total GPU memory less the overhead kept free on each GPU."""
        return sum(max(0, gpu.memory - self.settings.gpu_overhead) for gpu in self.gpus)

    def default_context(self, release: Version | None = None) -> int:
        """The context a runner gets when nothing asks for one: `OLLAMA_CONTEXT_LENGTH`, else the release's.

        Since 0.15.5 (`server/routes.go`, commit 0334ffa62) it follows the VRAM: at least 47 GiB gives
        262144, at least 23 GiB 32768, less (a CPU-only server included) 4096; before, 4096 from 0.6.7
        and 2048 earlier (`releases.CHANGES`).
        """
        if self.settings.context_length:
            return self.settings.context_length
        if not has(release, "context_by_vram"):
            return 4096 if has(release, "context_4096") else 2048
        if self.vram >= 47 * GIB:
            return 262144
        if self.vram >= 23 * GIB:
            return 32768
        return 4096

    def max_loaded(self, release: Version | None = None) -> int:
        """How many runners may be loaded at once: `OLLAMA_MAX_LOADED_MODELS`, else 3 per GPU (1 before 0.1.49)."""
        if self.settings.max_loaded_models:
            return self.settings.max_loaded_models
        return MODELS_PER_GPU * max(1, len(self.gpus)) if has(release, "concurrent_models") else 1

    def num_parallel(self, release: Version | None = None) -> int:
        """Requests a runner answers at once: `OLLAMA_NUM_PARALLEL`, else 1 (4 from 0.1.49 to 0.9.6, 1 before)."""
        if self.settings.num_parallel:
            return self.settings.num_parallel
        return 4 if has(release, "concurrent_models") and not has(release, "one_request_a_runner") else 1


def _whole(name: str, value: Any, minimum: int) -> int:
    text = str(value).strip()
    if isinstance(value, bool) or not (text.isascii() and text.isdigit()) or int(text) < minimum:
        raise MachineError(f"{name}: expected a whole number of at least {minimum}, got {value!r}")
    return int(text)


def _keep_alive(value: Any) -> float:
    """`OLLAMA_KEEP_ALIVE` as `envconfig.KeepAlive` reads it: a Go duration, else whole seconds; negative is forever."""
    text = str(value).strip()
    try:
        seconds = parse_go_duration(text)
    except KeepAliveError:
        try:
            seconds = float(int(text))
        except ValueError:
            raise MachineError(f"OLLAMA_KEEP_ALIVE: expected a duration like 5m or seconds, got {value!r}") from None
    return FOREVER_SECONDS if seconds < 0 else seconds


def read_settings(values: Mapping[str, Any], base: Settings | None = None) -> Settings:
    """`base` (default: Ollama's defaults) with the given `OLLAMA_*` settings applied, each checked."""
    settings = base or Settings()
    changes: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or value == "":
            continue
        if name == "OLLAMA_MAX_LOADED_MODELS":
            changes["max_loaded_models"] = _whole(name, value, 0)
        elif name == "OLLAMA_NUM_PARALLEL":
            changes["num_parallel"] = _whole(name, value, 0)
        elif name == "OLLAMA_MAX_QUEUE":
            changes["max_queue"] = _whole(name, value, 0)
        elif name == "OLLAMA_CONTEXT_LENGTH":
            changes["context_length"] = _whole(name, value, 0)
        elif name == "OLLAMA_KEEP_ALIVE":
            changes["keep_alive"] = _keep_alive(value)
        elif name == "OLLAMA_GPU_OVERHEAD":
            changes["gpu_overhead"] = byte_count(value, name)
        elif name == "OLLAMA_KV_CACHE_TYPE":
            kind = str(value).strip().lower()
            if kind not in KV_BYTES:
                raise MachineError(f"{name}: expected one of {', '.join(KV_BYTES)}, got {value!r}")
            changes["kv_cache_type"] = kind
        else:
            raise MachineError(f"{name}: not a setting the mock simulates; choose from {', '.join(SETTINGS)}")
    return Settings(**{**settings.__dict__, **changes})


#: Common GPU memory sizes, for a world that states VRAM use but names no machine.
_CARD_SIZES = tuple(size * GIB for size in (8, 12, 16, 24, 32, 48, 80, 96, 141, 192))


def machine_for(stated_vram: int, context_length: int) -> Machine:
    """The machine of a world that names none: CPU-only, unless its models state VRAM use; then one GPU of
    the smallest common size that holds that much and a 1 GiB margin, keeping `context_length` as the
    default context (its recorded numbers stay true)."""
    if stated_vram <= 0:
        return Machine()
    needed = stated_vram + GIB
    memory = next((size for size in _CARD_SIZES if size >= needed), -(-needed // GIB) * GIB)
    machine = Machine(gpus=(Gpu(name="GPU", memory=memory),))
    if machine.default_context() == context_length:
        return machine
    return Machine(gpus=machine.gpus, settings=Settings(context_length=context_length))


def machine_from_json(data: Mapping[str, Any] | None, where: str = "$.machine") -> Machine:
    """A fixture's `machine` section (already schema-checked) as a Machine; MachineError names the field."""
    if not data:
        return Machine()
    gpus = tuple(
        Gpu(
            name=str(gpu.get("name") or f"GPU {index}"),
            memory=byte_count(gpu.get("memory"), f"{where}.gpus[{index}].memory"),
        )
        for index, gpu in enumerate(data.get("gpus") or ())
    )
    memory = byte_count(data["memory"], f"{where}.memory") if "memory" in data else Machine().memory
    try:
        settings = read_settings(data.get("environment") or {})
    except MachineError as error:
        raise MachineError(f"{where}.environment.{error}") from None
    return Machine(gpus=gpus, memory=memory, settings=settings)


def machine_to_json(machine: Machine) -> dict[str, Any]:
    """A Machine as a fixture's `machine` section (settings only where they differ from Ollama's defaults)."""
    defaults = Settings()
    names = dict(zip(SETTINGS, ("max_loaded_models", "num_parallel", "max_queue", "context_length", "keep_alive",
                                "gpu_overhead", "kv_cache_type"), strict=True))  # fmt: skip
    environment: dict[str, Any] = {}
    for variable, attribute in names.items():
        value = getattr(machine.settings, attribute)
        if value != getattr(defaults, attribute):
            environment[variable] = _setting_text(attribute, value)
    section: dict[str, Any] = {
        "gpus": [{"name": gpu.name, "memory": gpu.memory} for gpu in machine.gpus],
        "memory": machine.memory,
    }
    return section | ({"environment": environment} if environment else {})


def _setting_text(attribute: str, value: Any) -> Any:
    if attribute == "keep_alive":
        return "-1" if value >= FOREVER_SECONDS else f"{value:g}s"
    return value
