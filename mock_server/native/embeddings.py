"""`POST /api/embed` and the legacy `/api/embeddings`: deterministic vectors, and the model loads as on Ollama."""

from __future__ import annotations

import hashlib
import math
import random
import struct
from functools import lru_cache
from typing import Any

from flask import Blueprint, Response

from ollama_contract_kit.openapi.names import parse_model_name

from ..serving.responses import error_response, json_response
from ..world import gguf
from ..world.models import InstalledModel
from .common import Refused, body, installed_model
from .inference import schedule_request, scripted_failure

embedding_routes = Blueprint("embeddings", __name__)

#: What llama-server answers (and Ollama relays) when a model without pooling is asked to embed.
NOT_AN_EMBEDDING_MODEL = "This server does not support embeddings. Start it with `--embeddings`"


def _float32(value: float) -> float:
    """`value` as Go prints a float32: the shortest decimal that reads back as the same float32."""
    single = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        shortest = float(f"{single:.{digits}g}")
        if struct.pack("f", shortest) == struct.pack("f", single):
            return shortest
    return float(single)


@lru_cache(maxsize=1024)
def _unit_vector(digest: str, text: str, length: int) -> tuple[float, ...]:
    seed = hashlib.sha256(f"{digest}\0{text}".encode()).digest()
    generator = random.Random(seed)
    raw = [generator.gauss(0.0, 1.0) for _ in range(length)]
    norm = math.sqrt(sum(value * value for value in raw)) or 1.0
    return tuple(value / norm for value in raw)


def embedding(model: InstalledModel, text: str, dimensions: int = 0) -> list[float]:
    """The model's vector for `text`: the same text always gives the same unit vector, others differ.

    With `0 < dimensions < width` it is cut to that many values and normalized again, as Ollama does.
    """
    vector = list(_unit_vector(model.digest, text, gguf.embedding_length(model)))
    if 0 < dimensions < len(vector):
        vector = vector[:dimensions]
        norm = math.sqrt(sum(value * value for value in vector)) or 1.0
        vector = [value / norm for value in vector]
    return vector


def tokens(text: str) -> int:
    """A token count for `text` (one a word; at least one for non-empty text)."""
    return max(1, len(text.split())) if text else 0


def _model(name: str, unnamed: tuple[int, str]) -> InstalledModel:
    return installed_model(name, unnamed=unnamed, not_found=f'model "{name}" not found, try pulling it first')


def _inputs(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise Refused(400, "invalid input type")


@embedding_routes.route("/api/embed", methods=["POST"])
def embed() -> Response:
    """Embed a string or a list; the model loads (and shows in `/api/ps`) whatever it is."""
    try:
        data = body(
            "EmbedRequest",
            {
                "model": (str, "string"),
                "truncate": (bool, "bool"),
                "dimensions": (int, "int"),
                "options": (dict, "map[string]interface {}"),
            },  # fmt: skip
            keep_alive=True,
        )
        name = str(data.get("model") or "")
        if not name:
            raise Refused(404, "model '' not found")
        if parse_model_name(name) is None:
            raise Refused(400, "invalid model name")
        inputs = _inputs(data.get("input"))
        model = _model(name, (404, "model '' not found"))
    except Refused as refused:
        return refused.response()
    try:
        generation = schedule_request(model, data)
    except Refused as refused:
        return refused.response()
    try:
        scripted_failure(name, inputs[0] if inputs else "")
        if not inputs:
            return json_response({"model": name, "embeddings": []})
        if not model.can("embedding"):
            return error_response(501, NOT_AN_EMBEDDING_MODEL)
        counts = [tokens(text) for text in inputs]
        if data.get("truncate") is False and max(counts) > generation.context:
            return error_response(400, "the input length exceeds the context length")
        dimensions = int(data.get("dimensions") or 0)
        vectors = [[_float32(value) for value in embedding(model, text, dimensions)] for text in inputs]
        prompt_tokens = sum(min(count, generation.context) for count in counts)
        generation.read(prompt_tokens)
        timings = generation.metrics(prompt_tokens, None)
        return json_response(
            {
                "model": name,
                "embeddings": vectors,
                "total_duration": timings["total_duration"],
                "load_duration": timings["load_duration"],
                "prompt_eval_count": prompt_tokens,
            }
        )
    except Refused as refused:
        return refused.response()
    finally:
        generation.close()  # with keep_alive 0 the runner expires right after the request


@embedding_routes.route("/api/embeddings", methods=["POST"])
def embeddings() -> Response:
    """The legacy single-prompt route: float64 values, 400 for a missing model, 500 (with llama-server's text) for
    a model that cannot embed."""
    try:
        data = body(
            "EmbeddingRequest",
            {"model": (str, "string"), "prompt": (str, "string"), "options": (dict, "map[string]interface {}")},
            keep_alive=True,
        )
        name = str(data.get("model") or "")
        model = _model(name, (400, "model is required"))
        if not model.parsed_name.same_spelling(name):
            raise Refused(404, f'model "{name}" not found, try pulling it first')  # no case-insensitive match here
    except Refused as refused:
        return refused.response()
    try:
        generation = schedule_request(model, data)
    except Refused as refused:
        return refused.response()
    try:
        prompt = str(data.get("prompt") or "")
        scripted_failure(name, prompt)
        if not prompt:
            return json_response({"embedding": []})
        if not model.can("embedding"):
            return error_response(500, NOT_AN_EMBEDDING_MODEL)  # the runner's error, relayed as a 500 here
        generation.read(tokens(prompt))
        return json_response({"embedding": embedding(model, prompt)})
    except Refused as refused:
        return refused.response()
    finally:
        generation.close()
