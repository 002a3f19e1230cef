"""The benchmarks' worlds: the spec's example model (`mistral:7b`) and as many copies as asked, all running."""

from __future__ import annotations

from typing import Any

DIGEST = "f974a74358d62a017b37c6f424fcdf2744ca02926c4f952513ddf474b2fa5091"
DETAILS = {
    "parent_model": "",
    "format": "gguf",
    "family": "llama",
    "families": ["llama"],
    "parameter_size": "7.2B",
    "quantization_level": "Q4_0",
}


def running_world(models: int) -> dict[str, Any]:
    """A fixture document with `models` models (the spec's example first), every one running forever."""
    installed = [
        {
            "name": "mistral:7b" if index == 0 else f"model{index}:7b",
            "size": 4113301824,
            "digest": DIGEST if index == 0 else f"{index:064x}",  # models of their own weights: a runner each
            "details": DETAILS,
            "loaded": {"size": 5560649728, "size_vram": 5560649728, "context_length": 4096},
        }
        for index in range(models)
    ]
    return {"models": installed, "running": [{"model": model["name"], "keep_alive": -1} for model in installed]}


def installed_world(models: int) -> dict[str, Any]:
    """`models` installed models of their own weights, none running, on a CPU-only server (3 loaded at most)."""
    return {"models": running_world(models)["models"], "machine": {"gpus": []}}
