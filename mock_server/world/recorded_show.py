"""A live server's `/api/show` answer read back into fixture fields, so the mock answers as that server did."""

from __future__ import annotations

import json
import re
from typing import Any

#: A Modelfile `FROM` line naming a blob: the models directory, then `blobs/sha256-<hex>`.
_FROM_BLOB = re.compile(r"^FROM (?P<models>.+)/blobs/sha256-(?P<hex>[0-9a-f]{64})$")


def _go_value(text: str) -> Any:
    """A parameter value as Go's `%#v` printed it: a quoted string, a bool, or a number."""
    if text.startswith('"'):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text[1:-1]
    if text in ("true", "false"):
        return text == "true"
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            continue
    return text


def parameters_from_text(text: str) -> dict[str, Any]:
    """`/api/show`'s `parameters` (`key<padding> value` lines) as a fixture's map, in the server's order;
    a key printed more than once (`stop`) becomes a list."""
    parameters: dict[str, Any] = {}
    for line in text.split("\n"):
        key, _, value = line.partition(" ")
        if not key:
            continue
        parsed = _go_value(value.lstrip(" "))
        if key not in parameters:
            parameters[key] = parsed
        elif isinstance(parameters[key], list):
            parameters[key].append(parsed)
        else:
            parameters[key] = [parameters[key], parsed]
    return parameters


def blobs_from_modelfile(modelfile: str) -> tuple[str | None, list[str]]:
    """The models directory and the digests (`sha256:<hex>`) of the blobs the Modelfile's `FROM` lines name:
    the weights first, then any projector."""
    models_path, digests = None, []
    for line in modelfile.split("\n"):
        found = _FROM_BLOB.match(line)
        if found:
            models_path = models_path or found["models"]
            digests.append(f"sha256:{found['hex']}")
    return models_path, digests


def show_fields(show: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The fixture fields of one model from its `/api/show` answer, and the server's models directory."""
    fields: dict[str, Any] = {"template": show.get("template", "")}
    for key in ("system", "license"):
        if show.get(key):
            fields[key] = show[key]
    if show.get("parameters"):
        fields["parameters"] = parameters_from_text(show["parameters"])
    if show.get("messages"):
        fields["messages"] = [{"role": m.get("role", ""), "content": m.get("content", "")} for m in show["messages"]]
    models_path, digests = blobs_from_modelfile(str(show.get("modelfile", "")))
    if digests:
        fields["weights"] = digests[0]
    if len(digests) > 1:
        fields["projector"] = digests[1]
    if isinstance(show.get("model_info"), dict):
        fields["model_info"] = show["model_info"]
    if isinstance(show.get("tensors"), list):
        fields["tensors"] = show["tensors"]
    if isinstance(show.get("projector_info"), dict):
        fields["projector_info"] = show["projector_info"]
    return fields, models_path
