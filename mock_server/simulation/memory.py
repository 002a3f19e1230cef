"""How much memory a runner takes, and how much of it the GPUs hold.

Since 0.30 Ollama runs every GGUF model in llama-server and `/api/ps` adds up the buffers llama-server
reports (`llm/llama_server.go` MemorySize), each written as `%.2f MiB` and read back truncated. The
buffers that grow with the context are modelled as llama.cpp sizes them (CPU, flash attention on):

- KV cache: `block_count × n_kv × head_count_kv × (key_length + value_length) × bytes` (f16: 2 bytes);
- the attention mask in the compute buffer: `n_kv × n_ubatch × 2`;

where `n_kv` is the context × parallel requests, padded to 256, and `n_ubatch` the batch. For a model
with two layers, two KV heads of 16 values and a 512 batch that is 1,280 bytes a token, as measured on
a real 0.33 server. The rest is constant: the weights (the file's size) and a compute base of 1 MiB
plus the logits (`n_ubatch × vocabulary × 4`). A fixture that states a model's loaded size keeps it
at its context; other contexts move from there by the context's share.

The GPU split is llama.cpp's `--fit` (not in Ollama's source): the mock offloads whole layers while they
fit in the free VRAM less a 1 GiB margin, and everything when the whole runner fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..world import gguf
from ..world.models import InstalledModel
from .machine import GIB, KV_BYTES, Machine

MIB = 1024**2
#: llama.cpp rounds the context a runner allocates up to a multiple of this.
_CONTEXT_PADDING = 256
#: What llama.cpp's `--fit` keeps free on each GPU (the mock's assumption; llama.cpp's default target).
FIT_MARGIN = GIB
#: Ollama evicts before a GPU load when the runner would take more than this share of the free VRAM.
PREFLIGHT_SHARE = 0.8
_DEFAULT_VOCABULARY = 32000
_COMPUTE_BASE = MIB


@dataclass(frozen=True)
class Shape:
    """What the memory of a model's runner depends on, read from its GGUF facts (`/api/show` model_info)."""

    block_count: int
    head_count_kv: int
    key_length: int
    value_length: int
    vocabulary: int
    trained_context: int


#: Shapes read lately, by the identity of the model they were read from (a changed world brings new models).
_SHAPES: dict[int, tuple[InstalledModel, Shape]] = {}
_SHAPES_KEPT = 4096


def shape_of(model: InstalledModel) -> Shape:
    """The model's layers, KV heads and sizes, vocabulary and trained context (derived where unstated)."""
    known = _SHAPES.get(id(model))
    if known is not None and known[0] is model:  # holding the model keeps its id from being reused
        return known[1]
    if len(_SHAPES) >= _SHAPES_KEPT:
        _SHAPES.clear()
    shape = _read_shape(model)
    _SHAPES[id(model)] = (model, shape)
    return shape


def _read_shape(model: InstalledModel) -> Shape:
    info = gguf.model_info(model)
    arch = gguf.architecture(model)

    def number(key: str, default: int) -> int:
        value = info.get(f"{arch}.{key}")
        return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default

    heads = number("attention.head_count", 32)
    width = number("embedding_length", gguf.embedding_length(model))
    tokens = info.get("tokenizer.ggml.tokens")
    return Shape(
        block_count=number("block_count", 28),
        head_count_kv=number("attention.head_count_kv", heads),
        key_length=number("attention.key_length", max(1, width // heads)),
        value_length=number("attention.value_length", max(1, width // heads)),
        vocabulary=len(tokens) if isinstance(tokens, list) and tokens else number("vocab_size", _DEFAULT_VOCABULARY),
        trained_context=gguf.trained_context_length(model),
    )


def effective_context(requested: int, trained: int) -> int:
    """`effectiveContext`: the context asked for, capped at the one the model was trained with."""
    return min(requested, trained) if trained > 0 else requested


def automatic_batch(context: int, parallel: int) -> int:
    """The batch Ollama picks when nothing sets one (`generationBatchForContext`): 512, 1024 or 2048."""
    tokens = context * parallel
    return 512 if tokens <= 4096 else 1024 if tokens <= 32768 else 2048


def _as_reported(size: float) -> int:
    """A buffer as Ollama reads it back from llama-server's `%.2f MiB` log line."""
    return int(round(size / MIB, 2) * MIB)


def _context_bytes(shape: Shape, context: int, parallel: int, batch: int, kv_type: str) -> tuple[float, float]:
    """The KV cache and the attention mask for `context` tokens a request × `parallel` requests."""
    slots = context * parallel
    padded = -(-slots // _CONTEXT_PADDING) * _CONTEXT_PADDING
    kv = shape.block_count * padded * shape.head_count_kv * (shape.key_length + shape.value_length)
    return kv * KV_BYTES[kv_type], float(padded * min(batch, padded) * 2)


def embeds_only(model: InstalledModel) -> bool:
    """True for an embedding model (it generates nothing: one request at a time, its own batch)."""
    return model.can("embedding") and not model.can("completion")


def default_batch(model: InstalledModel, context: int, parallel: int) -> int:
    """The batch of a runner nothing sets one for: an embedding model's `min(2048, context)`, else automatic."""
    return min(2048, context) if embeds_only(model) else automatic_batch(context, parallel)


def runner_size(model: InstalledModel, context: int, parallel: int, batch: int, machine: Machine) -> int:
    """The bytes a runner of `model` takes with that context (already capped), parallel requests and batch.

    A model whose fixture states its loaded size keeps exactly that size at the stated context (with
    the world's settings and the default batch); the context's share moves with the context asked for.
    """
    shape = shape_of(model)
    kv_type = machine.settings.kv_cache_type
    kv, mask = _context_bytes(shape, context, parallel, batch, kv_type)
    stated = model.loaded
    if stated is not None:
        stated_context = effective_context(stated.context_length, shape.trained_context)
        stated_batch = default_batch(model, stated_context, parallel)
        stated_kv, stated_mask = _context_bytes(shape, stated_context, parallel, stated_batch, kv_type)
        return max(MIB, round(stated.size + (kv + mask) - (stated_kv + stated_mask)))
    compute = _COMPUTE_BASE + min(batch, context * parallel) * shape.vocabulary * 4 + mask
    return _as_reported(model.size) + _as_reported(kv) + _as_reported(compute)


@dataclass(frozen=True)
class Placement:
    """Where a runner's memory sits: how much on GPUs, and on which."""

    size_vram: int
    gpus: tuple[int, ...]


def place(
    model: InstalledModel, size: int, num_gpu: int, free: dict[int, int], stated_vram: int | None = None
) -> Placement:
    """Put a runner of `size` bytes on the GPUs with `free` bytes each (index to bytes).

    Like Ollama, the best single GPU that can hold it within `PREFLIGHT_SHARE` of its free memory is
    chosen (most free first), else all of them together; then llama.cpp's fit offloads every layer when
    the runner fits within the margin, else as many whole layers as fit. `num_gpu` 0 keeps it on the
    CPU, and a positive `num_gpu` offloads at most that many layers. A fixture's stated VRAM share is
    kept, as long as the GPUs have room for it.
    """
    if not free or num_gpu == 0:
        return Placement(0, ())
    fitting = [index for index, room in free.items() if size <= PREFLIGHT_SHARE * room]
    chosen = (max(fitting, key=lambda index: (free[index], -index)),) if fitting else tuple(sorted(free))
    room = max(0, sum(free[index] for index in chosen) - FIT_MARGIN * len(chosen))
    if stated_vram is not None and stated_vram <= room:
        return Placement(stated_vram, chosen if stated_vram else ())
    layers = shape_of(model).block_count
    wanted_layers = layers if num_gpu < 0 else min(num_gpu, layers)
    if wanted_layers == layers and size <= room:
        return Placement(size, chosen)
    per_layer = size / (layers + 1)  # one share for what is not a layer (output, compute)
    fitted = min(wanted_layers, int(room // per_layer))
    vram = round(per_layer * fitted)
    return Placement(vram, chosen if vram else ())
