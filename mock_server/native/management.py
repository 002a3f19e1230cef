"""Model management that loads nothing: copy, delete, blobs, and the cloud status."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from flask import Blueprint, Response, request

from ollama_contract_kit.openapi.names import parse_model_name

from ..serving.responses import empty, error_response, json_response
from .common import Refused, body, empty_ok, first_name, state

management_routes = Blueprint("management", __name__)

_BLOB_DIGEST = re.compile(r"^sha256[:-][0-9a-fA-F]{64}$")
_READ_CHUNK = 1 << 16


@management_routes.route("/api/copy", methods=["POST"])
def copy() -> Response:
    """Copy a model under a new name (overwriting one there): 200 with an empty body."""
    try:
        data = body("CopyRequest", {"source": (str, "string"), "destination": (str, "string")})
        source, destination = str(data.get("source") or ""), str(data.get("destination") or "")
        if parse_model_name(source) is None:
            raise Refused(400, f'source "{source}" is invalid')
        target = parse_model_name(destination)
        if target is None:
            raise Refused(400, f'destination "{destination}" is invalid')
        model = state().world.find(source)
        if model is None:
            raise Refused(404, f'model "{source}" not found')
    except Refused as refused:
        return refused.response()
    state().world.install(replace(model, name=target.display_shortest(), modified_at=state().clock.instant()))
    return empty_ok()


@management_routes.route("/api/delete", methods=["DELETE"])
def delete() -> Response:
    """Delete a model: 200 with an empty body. Like Ollama, a running model stays loaded until it expires."""
    try:
        data = body("DeleteRequest", {"model": (str, "string"), "name": (str, "string")})
        name = first_name(data, "model", "name")
        if not name:
            raise Refused(400, "model is required")
        if parse_model_name(name) is None:
            raise Refused(400, f'name "{name}" is invalid')
        model = state().world.find(name)
        if model is None:
            raise Refused(404, f"model '{name}' not found")
    except Refused as refused:
        return refused.response()
    state().world.remove(model)
    return empty_ok()


def _known_blob(digest: str) -> bool:
    return digest.lower().replace("-", ":", 1) in state().blobs_on_disk()


#: Blob uploads are hashed as they stream in, so no body limit applies to them.
BLOB_PATH = "/api/blobs/"


@management_routes.route(BLOB_PATH + "<digest>", methods=["HEAD"])
def blob_exists(digest: str) -> Response:
    """200 when the blob is on the server's disk, 404 otherwise (no body: it is HEAD)."""
    if not _BLOB_DIGEST.match(digest):
        return error_response(400, "invalid digest format")
    if _known_blob(digest):
        return empty(200)
    return error_response(404, f'blob "{digest}" not found')


@management_routes.route(BLOB_PATH + "<digest>", methods=["POST"])
def upload_blob(digest: str) -> Response:
    """Take an upload: 201 when its sha256 is the digest, 200 when the blob exists already, 400 otherwise."""
    if not _BLOB_DIGEST.match(digest):
        return error_response(400, "invalid digest format")
    if _known_blob(digest):
        return empty(200)
    hasher, size = hashlib.sha256(), 0
    while chunk := request.stream.read(_READ_CHUNK):
        hasher.update(chunk)
        size += len(chunk)
    actual = "sha256:" + hasher.hexdigest()
    if actual != digest:  # the server names what it computed, always lower case with a colon
        return error_response(400, f'digest mismatch, expected "{digest}", got "{actual}"')
    state().blobs[actual] = size
    return empty(201)


@management_routes.route("/api/status", methods=["GET"])
def status() -> Response:
    """The cloud status (Ollama 0.16.2 and later): off, as `OLLAMA_NO_CLOUD=1` turns it off, which is how the
    mock's cloud routes answer (web search 403, sign-in and account routes failing offline)."""
    return json_response({"cloud": {"disabled": True, "source": "env"}})
