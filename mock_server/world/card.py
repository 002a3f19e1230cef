"""What a model is beyond `/api/tags`: its layers, template, parameters and Modelfile; recorded, or derived."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .models import InstalledModel

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


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


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
