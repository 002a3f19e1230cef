"""What a model is beyond `/api/tags`: layers, GGUF facts, template, Modelfile; derived where a fixture is silent."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from .models import InstalledModel

#: GGUF `general.file_type` of common quantizations (llama.cpp's `llama_ftype`).
_FILE_TYPES = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9, "Q2_K": 10, "Q3_K_M": 12}
_FILE_TYPES |= {"Q4_K_S": 14, "Q4_K_M": 15, "Q5_K_S": 16, "Q5_K_M": 17, "Q6_K": 18, "IQ4_XS": 30, "BF16": 32}
_SIZE_SUFFIX = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
#: Bytes of a model's config blob (the JSON every manifest ends with).
_CONFIG_BYTES = 487


@dataclass(frozen=True)
class Layer:
    """One blob of a model's manifest."""

    digest: str  # `sha256:<64 hex>`
    size: int
    kind: str  # model, template, system, license, params, messages, projector, config


def _sha256(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def parameter_count(model: InstalledModel) -> int | None:
    """The number of parameters `details.parameter_size` says (`3.2B` is 3,200,000,000), if it says one."""
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)([KMBT])", str(model.details.get("parameter_size", "")).strip())
    return round(float(match.group(1)) * _SIZE_SUFFIX[match.group(2)]) if match else None


def embedding_length(model: InstalledModel) -> int:
    """The width of the model's embeddings: from the fixture, else a plausible one for its size."""
    given = (model.model_info or {}).get(f"{architecture(model)}.embedding_length") or model.details.get(
        "embedding_length"
    )
    if isinstance(given, int) and given > 0:
        return given
    if model.can("embedding"):
        return 768
    count = parameter_count(model) or 0
    for bound, width in ((5e8, 960), (1.5e9, 2048), (4e9, 3072), (1e10, 4096)):
        if count < bound:
            return width
    return 5120


def architecture(model: InstalledModel) -> str:
    """GGUF `general.architecture`: the fixture's, else the model's family."""
    given = (model.model_info or {}).get("general.architecture")
    return str(given or model.details.get("family") or "llama")


def trained_context_length(model: InstalledModel) -> int:
    """The context the model was trained with (what `/api/show` reports; `/api/ps` shows the runner's)."""
    given = (model.model_info or {}).get(f"{architecture(model)}.context_length") or model.details.get("context_length")
    if isinstance(given, int) and given > 0:
        return given
    stated = model.loaded.context_length if model.loaded is not None else 0
    return max(stated, 2048 if model.can("embedding") else 131072)


def model_info(model: InstalledModel) -> dict[str, Any]:
    """`/api/show`'s `model_info`: derived GGUF keys with the fixture's own merged over them, sorted like Go."""
    arch = architecture(model)
    quantization = str(model.details.get("quantization_level", "")).upper()
    derived: dict[str, Any] = {
        "general.architecture": arch,
        "general.file_type": _FILE_TYPES.get(quantization, 15),
        "general.quantization_version": 2,
        f"{arch}.attention.head_count": 32,
        f"{arch}.block_count": 28,
        f"{arch}.context_length": trained_context_length(model),
        f"{arch}.embedding_length": embedding_length(model),
        "tokenizer.ggml.model": "bert" if model.can("embedding") else "gpt2",
        "tokenizer.ggml.tokens": None,  # Ollama sends non-empty GGUF arrays as null unless verbose
        "tokenizer.ggml.token_type": None,
    }
    count = parameter_count(model)
    if count is not None:
        derived["general.parameter_count"] = count
    if model.can("embedding"):
        derived[f"{arch}.pooling_type"] = 1
    merged = derived | dict(model.model_info or {})
    return dict(sorted(merged.items()))


def template(model: InstalledModel) -> str:
    """The prompt template: the fixture's, else one that fits the model's capabilities."""
    if model.template is not None:
        return model.template
    if model.can("embedding") and not model.can("completion"):
        return "{{ .Prompt }}"
    tools = "{{- if .Tools }}<|tools|>{{ range .Tools }}{{ . }}{{ end }}\n{{ end }}" if model.can("tools") else ""
    think = "{{- if .Think }}<|think|>\n{{ end }}" if model.can("thinking") else ""
    return (
        f"{tools}{think}{{{{- if .System }}}}<|system|>\n{{{{ .System }}}}\n{{{{ end }}}}"
        "{{- range .Messages }}<|{{ .Role }}|>\n{{ .Content }}\n{{ end }}<|assistant|>\n"
    )


def _parameter_lines(parameters: dict[str, Any]) -> list[tuple[str, Any]]:
    lines: list[tuple[str, Any]] = []
    for key, value in parameters.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append((key, int(item) if isinstance(item, float) and item.is_integer() else item))
    return lines


def parameters_text(model: InstalledModel) -> str:
    """`/api/show`'s `parameters`: `key` padded to 30 columns, then the value as Go's `%#v` prints it."""
    return "\n".join(
        f"{key:<30} {json.dumps(value, ensure_ascii=False) if isinstance(value, str) else _go_value(value)}"
        for key, value in _parameter_lines(dict(model.parameters))
    )


def _go_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _modelfile_value(text: str) -> str:
    if "\n" not in text and text == text.strip():
        return text
    return f'"""{text}"""' if '"' in text else f'"{text}"'


def weights_digest(model: InstalledModel) -> str:
    """The digest of the model's weights blob (`sha256:<hex>`): what runners are keyed by (shared by copies)."""
    return model.weights or _sha256(f"model:{model.digest}")


def layers(model: InstalledModel) -> list[Layer]:
    """The model's blobs in manifest order (the config last), with sizes adding up to its size on disk."""
    extra: list[Layer] = []
    if model.can("vision"):
        extra.append(Layer(_sha256(f"projector:{model.digest}"), min(624_434_368, model.size // 8), "projector"))
    for kind, content in (
        ("template", template(model)),
        ("system", model.system),
        ("license", model.license),
        ("params", json.dumps(dict(model.parameters), sort_keys=True) if model.parameters else ""),
        ("messages", json.dumps(list(map(dict, model.messages))) if model.messages else ""),
    ):
        if content:
            extra.append(Layer(_sha256(f"{kind}:{content}"), len(content.encode("utf-8")), kind))
    config = Layer(_sha256(f"config:{model.digest}"), _CONFIG_BYTES, "config")
    weights = max(1, model.size - sum(layer.size for layer in extra) - config.size)
    return [Layer(weights_digest(model), weights, "model"), *extra, config]


def modelfile(model: InstalledModel) -> str:
    """The Modelfile `ollama show --modelfile` prints."""
    blobs = {layer.kind: "/root/.ollama/models/blobs/" + layer.digest.replace(":", "-") for layer in layers(model)}
    lines = [
        '# Modelfile generated by "ollama show"',
        "# To build a new Modelfile based on this, replace FROM with:",
        f"# FROM {model.display_name}",
        "",
        f"FROM {blobs['model']}",
    ]
    if "projector" in blobs:
        lines.append(f"FROM {blobs['projector']}")
    lines.append(f"TEMPLATE {_modelfile_value(template(model))}")
    if model.system:
        lines.append(f"SYSTEM {_modelfile_value(model.system)}")
    lines += [f"PARAMETER {key} {value}" for key, value in _parameter_lines(dict(model.parameters))]
    if model.license:
        lines.append(f"LICENSE {_modelfile_value(model.license)}")
    lines += [f"MESSAGE {message['role']} {_modelfile_value(message['content'])}" for message in model.messages]
    return "\n".join(lines) + "\n"


def tensors(model: InstalledModel) -> list[dict[str, Any]]:
    """A few of the model's tensors, as `/api/show` lists them for every GGUF model."""
    width = embedding_length(model)
    quantization = str(model.details.get("quantization_level", "F16")).upper()
    kind = quantization if quantization in _FILE_TYPES else "Q4_K"
    return [
        {"name": "token_embd.weight", "type": kind, "shape": [width, 32000]},
        {"name": "blk.0.attn_norm.weight", "type": "F32", "shape": [width]},
        {"name": "output_norm.weight", "type": "F32", "shape": [width]},
    ]
