"""Small worlds for the tests: models with known architectures on machines of known size; a tool to offer."""

from __future__ import annotations

from typing import Any

#: A tool as the official clients offer one (what scripted replies call).
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}

DETAILS = {
    "parent_model": "",
    "format": "gguf",
    "family": "llama",
    "families": ["llama"],
    "parameter_size": "133K",
    "quantization_level": "F16",
}
#: The real server's tiny test model (2 layers, 2 KV heads of 16, trained on 4096), as captured from Ollama 0.33.
TINY_ARCHITECTURE = {
    "general.architecture": "llama",
    "llama.block_count": 2,
    "llama.embedding_length": 64,
    "llama.attention.head_count": 4,
    "llama.attention.head_count_kv": 2,
    "llama.context_length": 4096,
}
#: `/api/ps` sizes of that model on a CPU-only 0.33 server, by context (measured; tests/data/real-ollama-0.33).
TINY_SIZES = {4096: 6_564_085, 2048: 3_942_645, 1024: 2_631_925}
#: A 7B-class model: 32 layers, 8 KV heads of 128, trained on 32768.
SEVEN_B_ARCHITECTURE = {
    "llama.block_count": 32,
    "llama.embedding_length": 4096,
    "llama.attention.head_count": 32,
    "llama.attention.head_count_kv": 8,
    "llama.context_length": 32768,
    "llama.vocab_size": 32000,
}
GIB = 1024**3


def model(name: str, index: int, *, size: int = 278_000, **fields: Any) -> dict[str, Any]:
    """A fixture model with distinct digests (weights sorting by `index`): the tiny architecture unless told."""
    entry = {
        "name": name,
        "size": size,
        "digest": f"{index:064x}",
        "weights": f"sha256:{index:064x}",
        "details": DETAILS,
        "model_info": TINY_ARCHITECTURE,
        "modified_at": "2026-12-01T10:00:00Z",
    }
    return entry | fields


def tiny(name: str = "tiny", index: int = 1) -> dict[str, Any]:
    """The captured tiny model, with the footprint the real server reported at 4096."""
    return model(name, index, loaded={"size": TINY_SIZES[4096], "size_vram": 0, "context_length": 4096})


def world(*models: dict[str, Any], gpus: tuple[str, ...] = (), **environment: Any) -> dict[str, Any]:
    """A world of `models` on a machine with `gpus` (sizes like `8 GiB`) and `OLLAMA_*` settings."""
    machine: dict[str, Any] = {"gpus": [{"name": f"GPU {index}", "memory": gpu} for index, gpu in enumerate(gpus)]}
    if environment:
        machine["environment"] = environment
    return {"version": "0.33.0", "models": list(models), "machine": machine}
