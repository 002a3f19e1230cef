"""Models moving to and from the registry, and models made from others: pull, push and create."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response

from ollama_contract_kit.openapi.names import parse_model_name
from ollama_contract_kit.openapi.timestamps import GoTime

from ..state import MockState
from ..world import card
from ..world.models import InstalledModel
from .bodies import Fields
from .common import Refused, body, first_name, state
from .progress import Failed, progress_response

transfer_routes = Blueprint("transfers", __name__)

#: Ollama reports a download's progress every 60 ms; paced pulls do the same, within this many lines a layer.
_TICK_SECONDS = 0.06
_MAX_TICKS = 200
_QUANTIZABLE = ("F16", "BF16", "F32")
_TRANSFER_FIELDS: Fields = {
    "model": (str, "string"),
    "name": (str, "string"),
    "stream": (bool, "bool"),
    "insecure": (bool, "bool"),
}


def _streams(data: dict[str, Any]) -> bool:
    return data.get("stream") is not False


def _transfer_lines(mock: MockState, model: InstalledModel, verb: str, present: set[str]) -> Iterator[dict[str, Any]]:
    """One line per layer already there; otherwise progress lines paced over `pull_seconds` by size."""
    layers = card.layers(model)
    total = sum(layer.size for layer in layers) or 1
    for layer in layers:
        line = {"status": f"{verb} {layer.digest[7:19]}", "digest": layer.digest, "total": layer.size}
        if layer.digest in present:
            yield line | {"completed": layer.size}
            continue
        share = mock.config.pull_seconds * layer.size / total
        ticks = max(1, min(_MAX_TICKS, round(share / _TICK_SECONDS)))
        yield line
        for tick in range(1, ticks + 1):
            if share:
                time.sleep(share / ticks)
            yield line | {"completed": layer.size * tick // ticks}


def pull_events(mock: MockState, name: str) -> Iterator[dict[str, Any]]:
    """The events of `ollama pull`; installs the registry's model at the end."""
    yield {"status": "pulling manifest"}
    upstream = mock.world.find_upstream(name)
    if upstream is None:
        raise Failed("pull model manifest: file does not exist")
    previous = mock.world.find(name)
    yield from _transfer_lines(mock, upstream, "pulling", mock.blobs_on_disk())
    yield {"status": "verifying sha256 digest"}
    yield {"status": "writing manifest"}
    if previous is not None and {layer.digest for layer in card.layers(previous)} - {
        layer.digest for layer in card.layers(upstream)
    }:
        yield {"status": "removing unused layers"}
    mock.world.install(replace(upstream, modified_at=mock.clock.instant()))
    yield {"status": "success"}


@transfer_routes.route("/api/pull", methods=["POST"])
def pull() -> Response:
    """Install a model of the world's registry, streaming Ollama's progress lines."""
    try:
        data = body("PullRequest", _TRANSFER_FIELDS)
        name = first_name(data, "model", "name")
        if parse_model_name(name) is None:
            raise Refused(400, "invalid model name")
    except Refused as refused:
        return refused.response()
    return progress_response(pull_events(state(), name), _streams(data))


def _manifest_path(models_path: str, name: str) -> str:
    parsed = parse_model_name(name)
    assert parsed is not None  # checked by the route
    return f"{models_path.rstrip('/')}/manifests/{parsed.host}/{parsed.namespace}/{parsed.model}/{parsed.tag}"


def _push_events(mock: MockState, name: str) -> Iterator[dict[str, Any]]:
    yield {"status": "retrieving manifest"}
    model = mock.world.find(name)
    if model is None:
        yield {"status": "couldn't retrieve manifest"}
        raise Failed(f"open {_manifest_path(mock.models_path, name)}: no such file or directory")
    upstream = mock.world.find_upstream(name)
    present = {layer.digest for layer in card.layers(upstream)} if upstream else set()
    yield from _transfer_lines(mock, model, "pushing", present)
    yield {"status": "pushing manifest"}
    mock.world.publish(model)
    yield {"status": "success"}


@transfer_routes.route("/api/push", methods=["POST"])
def push() -> Response:
    """Put an installed model into the world's registry, streaming Ollama's progress lines."""
    try:
        data = body("PushRequest", _TRANSFER_FIELDS)
        name = first_name(data, "model", "name")
        if not name:
            raise Refused(400, "model is required")
        if parse_model_name(name) is None:
            raise Refused(400, "invalid model name")
    except Refused as refused:
        return refused.response()
    return progress_response(_push_events(state(), name), _streams(data))


_CREATE_FIELDS: Fields = {
    **_TRANSFER_FIELDS,
    "from": (str, "string"),
    "quantize": (str, "string"),
    "quantization": (str, "string"),
    "system": (str, "string"),
    "template": (str, "string"),
    "license": ((str, list), "api.License"),
    "parameters": (dict, "map[string]interface {}"),
    "messages": (list, "[]api.Message"),
    "files": (dict, "map[string]string"),
    "adapters": (dict, "map[string]string"),
}


def _from_files(mock: MockState, files: dict[str, Any]) -> InstalledModel:
    sizes = []
    for file_name, digest in files.items():
        if digest not in mock.blobs_on_disk():
            raise Failed(
                f"blob {digest} of {file_name!r} is not on the server: upload it with POST /api/blobs/{digest}", 400
            )
        sizes.append(mock.blobs.get(digest, 0))
    seed = json.dumps(sorted(files.items()))
    return InstalledModel(
        name="files",
        digest=hashlib.sha256(seed.encode()).hexdigest(),
        size=max(1, sum(sizes)),
        details={
            "parent_model": "",
            "format": "gguf",
            "family": "llama",
            "families": ["llama"],
            "parameter_size": "",
            "quantization_level": "F16",
        },  # fmt: skip
        modified_at=mock.clock.instant(),
        loaded=None,
        template=card.DEFAULT_TEMPLATE,  # a GGUF brings no template layer
        weights=next(iter(files.values())),
    )


#: The types `ggml.ParseFileType` takes (fs/ggml/type.go), and how it names the supported ones.
_QUANTIZE_TYPES = ("F32", "F16", "Q8_0", "Q4_K_S", "Q4_K_M", "Q4_K", "BF16")
_SUPPORTED_TYPES = "F32, F16, Q4_K_S, Q4_K_M, Q8_0"


def _quantized(base: InstalledModel, quantize: str) -> Iterator[dict[str, Any]]:
    level = str(base.details.get("quantization_level", "")).upper()
    if quantize.upper() not in _QUANTIZE_TYPES:
        raise Failed(f"unsupported quantization type {quantize.upper()} - supported types are {_SUPPORTED_TYPES}")
    if level not in _QUANTIZABLE:
        raise Failed("quantization is only supported for F16, BF16 and F32 models")
    for completed in (0, base.size // 2, base.size):
        yield {"status": f"quantizing {level} model to {quantize.upper()}", "digest": "0" * 19,
               "total": base.size, "completed": completed}  # fmt: skip
    yield {"status": "verifying conversion"}


def _made_from(
    base: InstalledModel, name: str, data: dict[str, Any], source: str, quantize: str, now: GoTime
) -> InstalledModel:
    """The model `data` describes, made from `base`: its weights (quantized or shared) and its own text layers."""
    license_text = data.get("license")
    created = replace(
        base,
        name=name,
        details=dict(base.details) | {"parent_model": base.display_name if source else ""},
        modified_at=now,
        template=data.get("template") or base.template,
        system=data.get("system") or base.system,
        license="\n".join(license_text) if isinstance(license_text, list) else (license_text or base.license),
        parameters=dict(base.parameters) | dict(data.get("parameters") or {}),
        messages=tuple(
            {"role": str(message.get("role") or "").lower(), "content": str(message.get("content") or "")}
            for message in data.get("messages") or []
        )
        or base.messages,
        # Same weights, same runner (Ollama keys runners by the weights blob); quantizing makes new ones.
        weights=card.weights_digest(base),
    )
    binaries = [layer for layer in card.layers(base) if layer.kind in ("model", "projector")]
    if quantize:
        created = replace(created, details=dict(created.details) | {"quantization_level": quantize.upper()})
        weights = binaries[0]
        binaries[0] = replace(weights, size=max(1, weights.size * 3 // 10))
    fingerprint = json.dumps([base.digest, quantize, card.modelfile(created, "")]).encode()
    created = replace(created, digest=hashlib.sha256(fingerprint).hexdigest())
    if quantize:  # new weights: a blob of their own
        created = replace(created, weights="", loaded=None)  # its own blob; its footprint estimated anew
        binaries[0] = replace(binaries[0], digest=card.weights_digest(created))
    if len(binaries) > 1:
        created = replace(created, projector=binaries[1].digest)
    return replace(created, size=card.size_on_disk(created, binaries))


def _layer_statuses(
    base: InstalledModel, created: InstalledModel, data: dict[str, Any], present: set[str]
) -> Iterator[dict[str, Any]]:
    """One status per layer of the new manifest, in its order, as Ollama's createModel reports them: the
    base's layers kept as they are, then each layer the request (re)wrote, new or already on disk."""
    rewritten = {kind for kind in ("template", "system", "license", "messages") if data.get(kind)}
    if created.parameters:
        rewritten.add("params")  # Ollama merges the parameters into a params layer written anew
    created_layers = {layer.kind: layer for layer in card.layers(created)}
    for layer in card.layers(base):
        if layer.kind == "model" and created_layers["model"].digest != layer.digest:
            layer = created_layers["model"]  # quantized: new weights in the old one's place
        if layer.kind != "config" and layer.kind not in rewritten:
            yield {"status": f"{_verb(layer, present)} layer {layer.digest}"}
    for kind in ("template", "system", "license", "params", "messages"):
        if kind in rewritten and kind in created_layers:
            yield {"status": f"{_verb(created_layers[kind], present)} layer {created_layers[kind].digest}"}


def _verb(layer: card.Layer, present: set[str]) -> str:
    return "using existing" if layer.digest in present else "creating new"


def _create_events(mock: MockState, name: str, data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    source = str(data.get("from") or "")
    files = data.get("files") or {}
    if not source and not files:
        raise Failed("neither 'from' or 'files' was specified", 400)
    if source:
        if parse_model_name(source) is None:
            raise Failed("invalid model name", 400)
        if mock.world.find(source) is None:
            yield from pull_events(mock, source)
        base = mock.world.find(source)
        assert base is not None  # the pull installed it, or failed
    else:
        yield {"status": "parsing GGUF"}
        base = _from_files(mock, files)
    quantize = str(data.get("quantize") or data.get("quantization") or "")
    if quantize:
        yield from _quantized(base, quantize)
    present = mock.blobs_on_disk()
    created = _made_from(base, name, data, source, quantize, mock.clock.instant())
    yield from _layer_statuses(base, created, data, present)
    yield {"status": "writing manifest"}
    mock.world.install(created)
    yield {"status": "success"}


@transfer_routes.route("/api/create", methods=["POST"])
def create() -> Response:
    """Make a model from an installed (or pulled) one, or from uploaded blobs, streaming Ollama's lines."""
    try:
        data = body("CreateRequest", _CREATE_FIELDS)
        parsed = parse_model_name(first_name(data, "model", "name"))
        if parsed is None:
            raise Refused(400, "invalid model name")
        for file_name, digest in (data.get("files") or {}).items():
            if file_name.startswith("/") or ".." in file_name.split("/"):
                raise Refused(400, "file path must be relative")
            if not digest:
                raise Refused(400, "invalid digest format")
    except Refused as refused:
        return refused.response()
    return progress_response(_create_events(state(), parsed.display_shortest(), data), _streams(data))
