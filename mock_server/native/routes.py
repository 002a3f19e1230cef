"""Ollama's read-only basics: health, version, tags and ps."""

from __future__ import annotations

from flask import Blueprint, Response

from ..serving.responses import json_response, raw_json_response
from .common import state as _state
from .wire import tags_entry

ollama_routes = Blueprint("ollama", __name__)


@ollama_routes.route("/", methods=["HEAD", "GET"])
def running() -> Response:
    """`Ollama is running`."""
    return Response(b"Ollama is running", content_type="text/plain; charset=utf-8")


@ollama_routes.route("/api/version", methods=["HEAD", "GET"])
def version() -> Response:
    """The version the world declares."""
    return json_response({"version": _state().world.version})


@ollama_routes.route("/api/tags", methods=["HEAD", "GET"])
def tags() -> Response:
    """The installed models, newest first."""
    world = _state().world
    return json_response({"models": [tags_entry(model, world.release) for model in world.installed()]})


@ollama_routes.route("/api/ps", methods=["GET"])
def ps() -> Response:
    """The running models, latest expiry first."""
    return raw_json_response(_state().ps_body())
