"""The fast engine (jsonschema-rs) only ever clears what jsonschema clears: over the real `/api/ps` captures and
the contract's own examples, each broken every way a leaf can be, it never passes a value jsonschema refuses."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from ollama_contract_kit.contract_tests.answers import _fast_validator, _problems, _validator, response_schema
from ollama_contract_kit.openapi import load_document

from .conftest import load_json, real_captures

REPLACEMENTS: list[Any] = [None, "", "yesterday", 1.5, 4096.0, -1, True, [], {}, "2026-13-45T25:61:00Z"]


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:2]):
            yield (*path, index)
            yield from _leaves(item, (*path, index))


def _broken(value: Any) -> Iterator[Any]:
    """`value` with each leaf replaced by each odd value, and each key removed."""
    for path in _leaves(value):
        for replacement in [*REPLACEMENTS, "removed"]:
            changed = copy.deepcopy(value)
            parent = changed
            for part in path[:-1]:
                parent = parent[part]
            if replacement == "removed":
                if isinstance(parent, dict):
                    del parent[path[-1]]
                else:
                    continue
            else:
                parent[path[-1]] = replacement
            yield changed


def _examples() -> Iterator[tuple[str, str, Any]]:
    ps = response_schema("GET", "/api/ps", 200, "application/json")
    assert ps is not None
    for capture in real_captures():
        yield *ps, load_json(capture)
    for document in ("ollama", "openai"):
        for template, item in load_document(document)["paths"].items():
            path = template.replace("{model}", "x").replace("{digest}", "sha256:" + "0" * 64)
            for method, operation in item.items():
                for status, answer in operation.get("responses", {}).items() if method != "parameters" else ():
                    for media, content in answer.get("content", {}).items():
                        found = response_schema(method.upper(), path, int(status), media)
                        for example in content.get("examples", {}).values():
                            if found is not None and "value" in example:
                                yield *found, example["value"]


EXAMPLES = list(_examples())


@pytest.mark.parametrize(("document", "pointer", "value"), EXAMPLES)
def test_the_fast_engine_never_clears_what_jsonschema_refuses(document: str, pointer: str, value: Any) -> None:
    assert _fast_validator(document, pointer) is not None, "the schema compiles for the fast engine"
    for broken in _broken(value):
        slow = [str(problem) for problem in _validator(document, pointer).problems(broken)]
        assert _problems(document, pointer, broken) == slow, f"{pointer}: {broken!r}"
