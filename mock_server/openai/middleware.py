"""What every /v1 middleware does before Ollama's handler runs: decode the body into its Go struct,
refuse what it cannot translate (gin's `c.JSON`: charset, no newline), and find the model."""

from __future__ import annotations

import json
from typing import Any

from flask import request

from ollama_contract_kit.openapi.names import parse_model_name

from ..native.bodies import BodyError, Fields, decode_json, decode_request, go_kind
from ..native.common import Refused, state
from ..world.models import InstalledModel

#: `reasoning.effort` as `think` (`thinkFromReasoningEffort`): tiers beyond Ollama's clamp to the nearest.
EFFORTS: dict[str, bool | str] = {"none": False, "minimal": "low", "low": "low", "medium": "medium", "high": "high"}
EFFORTS |= {"max": "max", "xhigh": "max", "ultra": "max"}
_EFFORT_CHOICES = '"minimal", "low", "medium", "high", "xhigh", "ultra", "max", or "none"'
#: The data URLs Ollama takes for an image (`decodeImageURL`).
IMAGE_PREFIXES = tuple(f"data:image/{kind};base64," for kind in ("jpeg", "jpg", "png", "webp")) + ("data:;base64,",)
#: The range of Go's `int` on the 64-bit machines Ollama runs on.
_GO_INT = (-(2**63), 2**63 - 1)


class Invalid(Exception):
    """A request the middleware refuses with 400 (gin's `c.JSON`: charset, no newline)."""


def decoded(go_type: str, fields: Fields) -> dict[str, Any]:
    """The body decoded into `go_type` (`openai.ResponsesRequest`) as gin's `ShouldBindJSON` does, its
    typed `fields` checked; Invalid with Go's text (an empty body is `EOF`)."""
    raw = request.get_data()
    if not raw.strip():
        raise Invalid("EOF")
    try:
        value = decode_json(raw.decode("utf-8", errors="replace"))
        if not isinstance(value, dict) and value is not None:
            raise Invalid(f"json: cannot unmarshal {go_kind(value)} into Go value of type {go_type}")
        data = decode_request(raw, go_type.rpartition(".")[2], fields, keep_alive=False)
    except BodyError as failure:
        raise Invalid(str(failure)) from None
    struct = go_type.rpartition(".")[2]
    for key, (_, field_type) in fields.items():
        number = data.get(key)
        if field_type == "int" and isinstance(number, int) and not _GO_INT[0] <= number <= _GO_INT[1]:
            raise Invalid(f"json: cannot unmarshal number {number} into Go struct field {struct}.{key} of type int")
    return data


def field_error(value: Any, struct: str, path: str, go_type: str) -> Invalid:
    """Go's error for a nested field of the wrong kind (`ResponsesReasoning.reasoning.effort`)."""
    return Invalid(f"json: cannot unmarshal {go_kind(value)} into Go struct field {struct}.{path} of type {go_type}")


def think_from_effort(effort: str) -> bool | str | None:
    """The `think` of a reasoning effort (None for none given); Invalid with Ollama's text for an unknown one."""
    if not effort:
        return None
    if effort not in EFFORTS:
        raise Invalid(f"invalid reasoning value: {json.dumps(effort, ensure_ascii=False)} (must be {_EFFORT_CHOICES})")
    return EFFORTS[effort]


def installed(name: str, not_found: str) -> InstalledModel:
    """The installed model `name` means, or Refused(404, not_found)."""
    model = state().world.find(name) if parse_model_name(name) else None
    if model is None:
        raise Refused(404, not_found)
    return model
