"""What a model is beyond `/api/tags`: layers, GGUF facts, template, Modelfile; recorded, or derived."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from .models import InstalledModel
from .tokenizer import ARRAY_KEYS, derived_array

#: GGUF `general.file_type` of common quantizations (llama.cpp's `llama_ftype`).
_FILE_TYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10, "Q3_K_M": 12}
_FILE_TYPES |= {"Q4_K_S": 14, "Q4_K_M": 15, "Q5_K_S": 16, "Q5_K_M": 17, "Q6_K": 18, "IQ4_XS": 30, "BF16": 32}
_SIZE_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
#: Bytes of a model's config blob (the JSON every manifest ends with).
_CONFIG_BYTES = 487
#: The template Ollama shows for a model without a template layer (`template.DefaultTemplate`).
DEFAULT_TEMPLATE = "{{ .Prompt }}"


@dataclass(frozen=True)
class Layer:
    """One blob of a model's manifest."""

    digest: str  # `sha256:<64 hex>`
    size: int
    kind: str  # model, projector, template, system, license, params, messages, config


@dataclass(frozen=True)
class Shape:
    """The architecture numbers the tensors follow (GGUF `<arch>.*` keys)."""

    blocks: int
    width: int
    heads: int
    kv_heads: int
    feed_forward: int
    vocabulary: int


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


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
    """A fixture `model_info` naming the architecture is the model's whole `model_info` (as recorded)."""
    return "general.architecture" in (model.model_info or {})


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


def template(model: InstalledModel) -> str:
    """The prompt template: the fixture's, else one that fits the model's capabilities."""
    if model.template is not None:
        return model.template
    if model.can("embedding") and not model.can("completion"):
        return DEFAULT_TEMPLATE
    tools = "{{- if .Tools }}<|tools|>{{ range .Tools }}{{ . }}{{ end }}\n{{ end }}" if model.can("tools") else ""
    think = "{{- if .Think }}<|think|>\n{{ end }}" if model.can("thinking") else ""
    return (
        f"{tools}{think}{{{{- if .System }}}}<|system|>\n{{{{ .System }}}}\n{{{{ end }}}}"
        "{{- range .Messages }}<|{{ .Role }}|>\n{{ .Content }}\n{{ end }}<|assistant|>\n"
    )


def _go_value(value: Any) -> str:
    """A parameter value as Go's `%v` prints it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _parameter_lines(parameters: dict[str, Any]) -> list[tuple[str, Any]]:
    return [
        (key, item) for key, value in parameters.items() for item in (value if isinstance(value, list) else [value])
    ]


def parameters_text(model: InstalledModel) -> str:
    """`/api/show`'s `parameters`: `key` padded to 30 columns, then the value as Go's `%#v` prints it.

    Ollama prints them in Go's map order, which differs from process to process; the mock keeps
    the fixture's order, so a recorded server is answered as it answered.
    """
    return "\n".join(
        f"{key:<30} {json.dumps(value, ensure_ascii=False) if isinstance(value, str) else _go_value(value)}"
        for key, value in _parameter_lines(dict(model.parameters))
    )


def _modelfile_value(text: str) -> str:
    if "\n" not in text and text == text.strip():
        return text
    return f'"""{text}"""' if '"' in text else f'"{text}"'


def _go_json_line(value: Any) -> bytes:
    """What Go's `json.Encoder` writes for a params or messages layer: compact, `<>&` escaped, a newline."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=isinstance(value, dict))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(raw, escaped)
    return (text + "\n").encode("utf-8")


def text_layers(model: InstalledModel) -> list[Layer]:
    """The blobs of the model's text (template, system, license, params, messages), each the sha256 of its
    content as Ollama writes it; no template layer for a model showing the default template."""
    contents: list[tuple[str, bytes]] = []
    if template(model) != DEFAULT_TEMPLATE:
        contents.append(("template", template(model).encode("utf-8")))
    if model.system:
        contents.append(("system", model.system.encode("utf-8")))
    if model.license:
        contents.append(("license", model.license.encode("utf-8")))
    if model.parameters:
        contents.append(("params", _go_json_line(dict(model.parameters))))
    if model.messages:
        messages = [{"role": message["role"], "content": message["content"]} for message in model.messages]
        contents.append(("messages", _go_json_line(messages)))
    return [Layer(_sha256(content), len(content), kind) for kind, content in contents]


def weights_digest(model: InstalledModel) -> str:
    """The digest of the model's weights blob (`sha256:<hex>`): the fixture's, else derived from the model's
    digest; what runners are keyed by (shared by copies and by models made FROM it)."""
    return model.weights or _sha256(f"model:{model.digest}".encode())


def _projector(model: InstalledModel) -> Layer | None:
    if not model.can("vision") and model.projector is None:
        return None
    digest = model.projector or _sha256(f"projector:{model.digest}".encode())
    return Layer(digest, min(624_434_368, model.size // 8), "projector")


def layers(model: InstalledModel) -> list[Layer]:
    """The model's blobs in manifest order (the config last), with sizes adding up to its size on disk."""
    extra = [layer for layer in (_projector(model), *text_layers(model)) if layer is not None]
    config = Layer(_sha256(f"config:{model.digest}".encode()), _CONFIG_BYTES, "config")
    weights = max(1, model.size - sum(layer.size for layer in extra) - config.size)
    return [Layer(weights_digest(model), weights, "model"), *extra, config]


def size_on_disk(model: InstalledModel, binaries: list[Layer]) -> int:
    """What `/api/tags` says of `model` when its weights (and projector) are `binaries`: every layer and the config."""
    return sum(layer.size for layer in binaries) + sum(layer.size for layer in text_layers(model)) + _CONFIG_BYTES


def blob_path(models_path: str, digest: str) -> str:
    """Where a blob lives on the server (`<OLLAMA_MODELS>/blobs/sha256-<hex>`)."""
    return f"{models_path.rstrip('/')}/blobs/{digest.replace(':', '-')}"


def modelfile(model: InstalledModel, models_path: str, system: str | None = None) -> str:
    """The Modelfile `ollama show --modelfile` prints (`system` overrides the model's, as `/api/show` may)."""
    shown_system = model.system if system is None else system
    lines = [
        '# Modelfile generated by "ollama show"',
        "# To build a new Modelfile based on this, replace FROM with:",
        f"# FROM {model.display_name}",
        "",
        f"FROM {blob_path(models_path, weights_digest(model))}",
    ]
    projector = _projector(model)
    if projector is not None:
        lines.append(f"FROM {blob_path(models_path, projector.digest)}")
    lines.append(f"TEMPLATE {_modelfile_value(template(model))}")
    if shown_system:
        lines.append(f"SYSTEM {_modelfile_value(shown_system)}")
    lines += [f"PARAMETER {key} {_go_value(value)}" for key, value in _parameter_lines(dict(model.parameters))]
    if model.license:
        lines.append(f"LICENSE {_modelfile_value(model.license)}")
    lines += [f"MESSAGE {message['role']} {_modelfile_value(message['content'])}" for message in model.messages]
    return "\n".join(lines) + "\n"


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
