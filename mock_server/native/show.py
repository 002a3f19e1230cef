"""`POST /api/show`: what a model is, from the world (nothing loads)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from ollama_contract_kit.openapi.names import parse_model_name
from ollama_contract_kit.openapi.releases import has

from ..serving.responses import json_response
from ..world import card, gguf
from ..world.models import PS_DETAIL_FIELDS, InstalledModel
from .common import Refused, body, first_name, state

show_routes = Blueprint("show", __name__)


def show_body(
    model: InstalledModel, models_path: str, *, system: str | None = None, verbose: bool = False
) -> dict[str, Any]:
    """The `/api/show` answer, keys in Go's order, empty ones left out as `omitempty` does."""
    answer: dict[str, Any] = {}
    if model.license:
        answer["license"] = model.license
    answer["modelfile"] = card.modelfile(model, models_path, system)
    parameters = card.parameters_text(model)
    if parameters:
        answer["parameters"] = parameters
    answer["template"] = card.template(model)
    shown_system = model.system if system is None else system
    if shown_system:
        answer["system"] = shown_system
    answer["details"] = {
        field: model.details.get(field, None if field == "families" else "") for field in PS_DETAIL_FIELDS
    }
    if model.messages:
        answer["messages"] = [{"role": m["role"], "content": m["content"]} for m in model.messages]
    answer["model_info"] = gguf.model_info(model, verbose)
    projector_info = gguf.projector_info(model, verbose)
    if projector_info:
        answer["projector_info"] = projector_info
    answer["tensors"] = gguf.tensors(model)
    if model.capabilities and has(state().world.release, "show_capabilities"):
        answer["capabilities"] = list(model.capabilities)
    answer["modified_at"] = model.modified_at.format()
    return answer


@show_routes.route("/api/show", methods=["POST"])
def show() -> Response:
    """Details, model_info, template, Modelfile and capabilities of an installed model; 404 otherwise."""
    try:
        data = body(
            "ShowRequest",
            {
                "model": (str, "string"),
                "name": (str, "string"),
                "system": (str, "string"),
                "verbose": (bool, "bool"),
                "options": (dict, "map[string]interface {}"),
            },  # fmt: skip
        )
        name = first_name(data, "model", "name")
        if not name:
            raise Refused(400, "model is required")
        parsed = parse_model_name(name)
        if parsed is None:
            raise Refused(400, "invalid model name")
        model = state().world.find(name)
        if model is None:
            raise Refused(404, f"model '{parsed.display_shortest()}' not found")
    except Refused as refused:
        return refused.response()
    system = data.get("system") or None
    return json_response(show_body(model, state().models_path, system=system, verbose=data.get("verbose") is True))
