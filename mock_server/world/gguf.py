"""A model's GGUF facts as `/api/show` tells them: architecture, `model_info` and tensors; recorded, or derived."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .models import InstalledModel
from .tokenizer import ARRAY_KEYS, derived_array

#: GGUF `general.file_type` of common quantizations (llama.cpp's `llama_ftype`).
_FILE_TYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10, "Q3_K_M": 12}
_FILE_TYPES |= {"Q4_K_S": 14, "Q4_K_M": 15, "Q5_K_S": 16, "Q5_K_M": 17, "Q6_K": 18, "IQ4_XS": 30, "BF16": 32}
_SIZE_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}


@dataclass(frozen=True)
class Shape:
    """The architecture numbers the tensors follow (GGUF `<arch>.*` keys)."""

    blocks: int
    width: int
    heads: int
    kv_heads: int
    feed_forward: int
    vocabulary: int


def parameter_count(model: InstalledModel) -> int | None:
    """The number of parameters: GGUF's, else what `details.parameter_size` says (`3.2B`), if anything."""
    given = (model.model_info or {}).get("general.parameter_count")
    if isinstance(given, int) and given > 0:
        return given
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([KMBT])", str(model.details.get("parameter_size", "")).strip())
    return round(float(match.group(1)) * _SIZE_SUFFIX[match.group(2)]) if match else None


def architecture(model: InstalledModel) -> str:
    """GGUF `general.architecture`: the fixture's, else the model's family."""
    given = (model.model_info or {}).get("general.architecture")
    return str(given or model.details.get("family") or "llama")


def _given(model: InstalledModel, key: str) -> int | None:
    value = (model.model_info or {}).get(f"{architecture(model)}.{key}")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def embedding_length(model: InstalledModel) -> int:
    """The width of the model's embeddings: from the fixture, else a plausible one for its size."""
    given = _given(model, "embedding_length") or model.details.get("embedding_length")
    if isinstance(given, int) and given > 0:
        return given
    if model.can("embedding"):
        return 768
    count = parameter_count(model) or 0
    for bound, width in ((5e8, 960), (1.5e9, 2048), (4e9, 3072), (1e10, 4096)):
        if count < bound:
            return width
    return 5120


def trained_context_length(model: InstalledModel) -> int:
    """The context the model was trained with (what `/api/show` reports; `/api/ps` shows the runner's)."""
    given = _given(model, "context_length") or model.details.get("context_length")
    if isinstance(given, int) and given > 0:
        return given
    stated = model.loaded.context_length if model.loaded is not None else 0
    return max(stated, 2048 if model.can("embedding") else 131072)


def shape(model: InstalledModel) -> Shape:
    """The architecture: the fixture's GGUF keys, the rest derived like a llama of the model's size."""
    width = embedding_length(model)
    heads = _given(model, "attention.head_count") or max(1, width // (64 if width <= 1024 else 128))
    kv_heads = _given(model, "attention.head_count_kv") or (heads // 4 if heads % 4 == 0 else heads)
    feed_forward = _given(model, "feed_forward_length") or (width * 8 // 3 + 255) // 256 * 256
    vocabulary = _given(model, "vocab_size") or (30522 if model.can("embedding") else 32000)
    blocks = _given(model, "block_count")
    if blocks is None:
        count = parameter_count(model)
        per_block = 2 * width * width + 2 * width * (width // heads) * kv_heads + 3 * width * feed_forward
        blocks = max(1, round((count - 2 * vocabulary * width) / per_block)) if count else 28
    return Shape(blocks, width, heads, kv_heads, feed_forward, vocabulary)


def _recorded(model: InstalledModel) -> bool:
    """A fixture `model_info` naming the tokenizer is a whole GGUF key set (every GGUF has one), as recorded
    from a server: nothing is derived into it. Fewer keys (the architecture's numbers) are merged."""
    return "tokenizer.ggml.model" in (model.model_info or {})


def _derived_model_info(model: InstalledModel) -> dict[str, Any]:
    arch = architecture(model)
    quantization = str(model.details.get("quantization_level", "")).upper()
    numbers = shape(model)
    derived: dict[str, Any] = {
        "general.architecture": arch,
        "general.file_type": _FILE_TYPES.get(quantization, 15),
        "general.quantization_version": 2,
        f"{arch}.attention.head_count": numbers.heads,
        f"{arch}.attention.head_count_kv": numbers.kv_heads,
        f"{arch}.block_count": numbers.blocks,
        f"{arch}.context_length": trained_context_length(model),
        f"{arch}.embedding_length": numbers.width,
        f"{arch}.feed_forward_length": numbers.feed_forward,
        f"{arch}.vocab_size": numbers.vocabulary,
        "tokenizer.ggml.model": "bert" if model.can("embedding") else "gpt2",
        "tokenizer.ggml.tokens": None,  # arrays not recorded: derived when verbose
        "tokenizer.ggml.token_type": None,
    }
    count = parameter_count(model)
    if count is not None:
        derived["general.parameter_count"] = count
    if model.can("embedding"):
        derived[f"{arch}.pooling_type"] = 1
    return derived


def model_info(model: InstalledModel, verbose: bool = False) -> dict[str, Any]:
    """`/api/show`'s `model_info`, keys sorted like Go's maps.

    As Ollama: a non-empty array is `null` unless `verbose`; verbose, the tokenizer arrays the
    fixture does not hold are derived from the vocabulary.
    """
    given = dict(model.model_info or {})
    merged = given if _recorded(model) else _derived_model_info(model) | given
    answer = _gguf_view(merged, verbose)
    if verbose:
        for key in ARRAY_KEYS:
            if key in answer and answer[key] is None:
                answer[key] = derived_array(key, shape(model).vocabulary, merged)
    return answer


def _gguf_view(values: dict[str, Any], verbose: bool) -> dict[str, Any]:
    """GGUF key/values as `/api/show` sends them: sorted, a non-empty array `null` unless verbose."""
    return {
        key: None if not verbose and isinstance(value, list) and value else value
        for key, value in sorted(values.items())
    }


def projector_info(model: InstalledModel, verbose: bool = False) -> dict[str, Any] | None:
    """`/api/show`'s `projector_info`: the fixture's, else a small one for a vision model, else None."""
    if model.projector_info is not None:
        return _gguf_view(dict(model.projector_info), verbose)
    if model.can("vision"):
        return {"clip.has_vision_encoder": True, "clip.vision.image_size": 336}
    return None


def _weight_type(model: InstalledModel) -> str:
    """The tensor type of the big matrices: the quantization without its K-quant mix (`Q4_K_M` is `Q4_K`)."""
    quantization = str(model.details.get("quantization_level", "")).upper()
    if quantization not in _FILE_TYPES:
        return "Q4_K"
    return re.sub(r"^(Q[0-9]_K)_[SML]$", r"\1", quantization)


def tensors(model: InstalledModel) -> list[dict[str, Any]]:
    """`/api/show`'s `tensors`: the fixture's, else a llama's of the model's architecture (`shape`).

    GGUF files order their tensors as the tool that wrote them chose; the derived ones follow the
    captured real model's order: model-wide tensors by name, then block by block, each by name.
    """
    if model.tensors is not None:
        return [dict(tensor) for tensor in model.tensors]
    numbers = shape(model)
    kind = _weight_type(model)
    width, head = numbers.width, numbers.width // numbers.heads
    matrices = {
        "attn_k": [width, head * numbers.kv_heads],
        "attn_norm": [width],
        "attn_output": [head * numbers.heads, width],
        "attn_q": [width, head * numbers.heads],
        "attn_v": [width, head * numbers.kv_heads],
        "ffn_down": [numbers.feed_forward, width],
        "ffn_gate": [width, numbers.feed_forward],
        "ffn_norm": [width],
        "ffn_up": [width, numbers.feed_forward],
    }
    found = [
        {"name": "output.weight", "type": kind, "shape": [width, numbers.vocabulary]},
        {"name": "output_norm.weight", "type": "F32", "shape": [width]},
        {"name": "token_embd.weight", "type": kind, "shape": [width, numbers.vocabulary]},
    ]
    for block in range(numbers.blocks):
        for name, dimensions in matrices.items():
            found.append(
                {
                    "name": f"blk.{block}.{name}.weight",
                    "type": "F32" if len(dimensions) == 1 else kind,
                    "shape": dimensions,
                }
            )
    return found
