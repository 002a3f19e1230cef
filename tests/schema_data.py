"""Hypothesis data generated from the contract's own schemas, by Schemathesis's JSON Schema generator."""

from __future__ import annotations

import copy
from typing import Any

import schemathesis
from hypothesis import strategies as st

from ollama_contract_kit.openapi import load_document

_OPENAPI_ONLY = ("example", "examples", "discriminator", "xml", "externalDocs", "deprecated", "readOnly", "writeOnly")


def inline_schema(document: str, name: str) -> dict[str, Any]:
    """The named schema with every `$ref` replaced by its target (our schemas have no cycles)."""

    def resolve(node: Any, current: str) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target_document, _, pointer = node["$ref"].partition("#")
                target = target_document.removesuffix(".yaml") or current
                resolved = load_document(target)
                for part in pointer.strip("/").split("/"):
                    resolved = resolved[part]
                siblings = {key: value for key, value in node.items() if key != "$ref"}
                return resolve(copy.deepcopy(resolved), target) | resolve(siblings, current)
            return {key: resolve(value, current) for key, value in node.items() if key not in _OPENAPI_ONLY}
        if isinstance(node, list):
            return [resolve(item, current) for item in node]
        return node

    schema: dict[str, Any] = resolve({"$ref": f"{document}.yaml#/components/schemas/{name}"}, document)
    return schema


def _whole_numbers_as_integers(value: Any) -> Any:
    """`0.0` written `0`: JSON Schema calls both integers; Go's decoder (and the contract) only the second."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers_as_integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_integers(item) for item in value]
    return value


def schema_values(document: str, name: str) -> st.SearchStrategy[Any]:
    """Values the named schema accepts: the body of a one-operation API whose request is that schema."""
    api = {
        "openapi": "3.1.0",
        "info": {"title": f"{name} values", "version": "1"},
        "paths": {
            "/value": {
                "post": {
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": inline_schema(document, name)}},
                    },
                    "responses": {"200": {"description": "accepted"}},
                }
            }
        },
    }
    operation = schemathesis.openapi.from_dict(api)["/value"]["POST"]
    return operation.as_strategy().map(lambda case: _whole_numbers_as_integers(case.body))
