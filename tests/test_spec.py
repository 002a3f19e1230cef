"""The contract accepts every real /api/ps body and rejects each kind of broken one for the right reason."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from ollama_contract_kit.openapi import load_document, spec_path, validator_for
from ollama_contract_kit.openapi.validation import validator_at

from .conftest import REAL_PS, load_json, real_captures

PS = validator_for("ollama", "PsResponse")


DOCUMENTS = ["ollama", "openai", "control"]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_spec_documents_are_valid_openapi_3_1(document: str) -> None:
    spec = load_document(document)
    assert spec["openapi"].startswith("3.1")
    validate(copy.deepcopy(spec), base_uri=spec_path(document).as_uri())


@pytest.mark.parametrize("document", DOCUMENTS)
def test_spec_documents_parse_with_any_yaml_reader(document: str) -> None:
    # libyaml (the kit's loader) forgives some plain scalars that PyYAML's own reader (Schemathesis's) refuses.
    text = spec_path(document).read_text(encoding="utf-8")
    assert yaml.load(text, Loader=yaml.SafeLoader) == yaml.load(text, Loader=yaml.CSafeLoader)


def _schemas(node: Any, where: str = "$") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("type"), (str, list)) or "oneOf" in node or "allOf" in node:
            found.append((where, node))
        for key, value in node.items():
            found += _schemas(value, f"{where}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _schemas(value, f"{where}[{index}]")
    return found


@pytest.mark.parametrize("document", DOCUMENTS)
def test_every_schema_has_a_description(document: str) -> None:
    schemas = load_document(document)["components"]["schemas"]
    undescribed = [where for where, schema in _schemas(schemas) if "description" not in schema]
    assert undescribed == []


def _local(document: str, node: dict[str, Any], pointer: str) -> tuple[dict[str, Any], str]:
    """Follow a local `$ref` (components/responses, components/examples); the node and its JSON pointer."""
    while "$ref" in node and node["$ref"].startswith("#/"):
        pointer = node["$ref"][1:]
        target: Any = load_document(document)
        for part in pointer[1:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node, pointer


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _examples(document: str) -> list[tuple[str, str, str, Any]]:
    """Every response's examples: (where, document, JSON pointer of the schema, value); a missing one as None."""
    found = []
    for path, operations in load_document(document)["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            for status, response in operation.get("responses", {}).items():
                at = f"/paths/{_escape(path)}/{method}/responses/{status}"
                resolved, at = _local(document, response, at)
                for media, content in resolved.get("content", {}).items():
                    where = f"{document} {method.upper()} {path} {status} {media}"
                    examples = content.get("examples") or {"missing": None}
                    for name, example in examples.items():
                        value = None if example is None else _local(document, example, "")[0]["value"]
                        found.append((f"{where} {name}", document, f"{at}/content/{_escape(media)}/schema", value))
    return found


EXAMPLES = [example for document in DOCUMENTS for example in _examples(document)]


@pytest.mark.parametrize(("where", "document", "schema", "value"), EXAMPLES, ids=[example[0] for example in EXAMPLES])
def test_every_response_has_an_example_matching_its_schema(where: str, document: str, schema: str, value: Any) -> None:
    assert value is not None, f"{where} has no example"
    assert validator_at(document, schema).problems(value) == []


def test_ps_responses_have_realistic_examples() -> None:
    examples = load_document("ollama")["paths"]["/api/ps"]["get"]["responses"]["200"]["content"]["application/json"][
        "examples"
    ]
    bodies = [example["value"] for example in examples.values()]
    assert {"models": []} in bodies
    assert any(model["expires_at"].startswith("23") for body in bodies for model in body["models"])
    assert any("context_length" not in model for body in bodies for model in body["models"])


@pytest.mark.parametrize("capture", real_captures(), ids=lambda path: path.name[:40])
def test_spec_accepts_real_ps_body(capture: Any) -> None:
    assert PS.problems(load_json(capture)) == []


def test_there_are_enough_real_captures() -> None:
    assert len(real_captures()) >= 45


def test_hand_written_docs_example_without_name_is_rejected() -> None:
    body = load_json(REAL_PS / "002_ollama-openapi-yaml_gemma3-no-name.json")
    assert [str(problem) for problem in PS.problems(body)] == ["$.models[0]: 'name' is a required property"]


GOOD = {
    "name": "mistral:7b",
    "model": "mistral:7b",
    "size": 5560649728,
    "digest": "f974a74358d62a017b37c6f424fcdf2744ca02926c4f952513ddf474b2fa5091",
    "details": {
        "parent_model": "",
        "format": "gguf",
        "family": "llama",
        "families": ["llama"],
        "parameter_size": "7.2B",
        "quantization_level": "Q4_0",
    },
    "expires_at": "2025-08-05T13:35:25.892481+02:00",
    "size_vram": 5560649728,
    "context_length": 4096,
}


def _with(path: str, value: Any) -> dict[str, Any]:
    model = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    target = model
    for part in parents:
        target = target[part]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return {"models": [model]}


_DELETE = object()

# (case, body, JSON path of the problem, a word its message must contain)
BAD_BODIES: list[tuple[str, Any, str, str]] = [
    ("models null", {"models": None}, "$.models", "not of type 'array'"),
    ("models missing", {}, "$", "'models' is a required property"),
    ("models an object", {"models": {"mistral:7b": GOOD}}, "$.models", "not of type 'array'"),
    ("top level an array", [GOOD], "$", "not of type 'object'"),
    ("extra wrapping", {"data": {"models": [GOOD]}}, "$", "'models' is a required property"),
    ("name missing", _with("name", _DELETE), "$.models[0]", "'name' is a required property"),
    ("name a number", _with("name", 7), "$.models[0].name", "not of type 'string'"),
    ("name empty", _with("name", ""), "$.models[0].name", "should be non-empty"),
    ("model missing", _with("model", _DELETE), "$.models[0]", "'model' is a required property"),
    ("size negative", _with("size", -1), "$.models[0].size", "less than the minimum"),
    ("size a string", _with("size", "5.6 GB"), "$.models[0].size", "not of type 'integer'"),
    ("size a float", _with("size", 5560649728.5), "$.models[0].size", "not of type 'integer'"),
    # Go's encoding/json refuses 5560649728.0 for an int64, although JSON Schema calls it an integer.
    ("size a whole float", _with("size", 5560649728.0), "$.models[0].size", "not of type 'integer'"),
    ("context_length a whole float", _with("context_length", 4096.0), "$.models[0].context_length", "not of type"),
    ("size a boolean", _with("size", True), "$.models[0].size", "not of type 'integer'"),
    ("size beyond int64", _with("size", 2**63), "$.models[0].size", "greater than the maximum"),
    ("size_vram negative", _with("size_vram", -5), "$.models[0].size_vram", "less than the minimum"),
    ("size_vram null", _with("size_vram", None), "$.models[0].size_vram", "not of type 'integer'"),
    ("digest with sha256: prefix", _with("digest", "sha256:" + GOOD["digest"]), "$.models[0].digest", "does not match"),
    ("digest upper case", _with("digest", GOOD["digest"].upper()), "$.models[0].digest", "does not match"),
    ("digest short", _with("digest", GOOD["digest"][:12]), "$.models[0].digest", "does not match"),
    ("details missing", _with("details", _DELETE), "$.models[0]", "'details' is a required property"),
    ("details null", _with("details", None), "$.models[0].details", "not of type 'object'"),
    ("details untyped string", _with("details", "gguf llama"), "$.models[0].details", "not of type 'object'"),
    (
        "families a string",
        _with("details.families", "llama"),
        "$.models[0].details.families",
        "not of type 'array', 'null'",
    ),
    (
        "families with a number",
        _with("details.families", ["llama", 2]),
        "$.models[0].details.families[1]",
        "not of type 'string'",
    ),
    ("family missing", _with("details.family", _DELETE), "$.models[0].details", "'family' is a required property"),
    (
        "quantization_level null",
        _with("details.quantization_level", None),
        "$.models[0].details.quantization_level",
        "not of type 'string'",
    ),
    ("expires_at missing", _with("expires_at", _DELETE), "$.models[0]", "'expires_at' is a required property"),
    ("expires_at null", _with("expires_at", None), "$.models[0].expires_at", "not of type 'string'"),
    (
        "expires_at without zone",
        _with("expires_at", "2025-08-05T13:35:25.892481"),
        "$.models[0].expires_at",
        "does not match",
    ),
    (
        "expires_at space separator",
        _with("expires_at", "2025-08-05 13:35:25+02:00"),
        "$.models[0].expires_at",
        "does not match",
    ),
    (
        "expires_at lower-case t",
        _with("expires_at", "2025-08-05t13:35:25Z"),
        "$.models[0].expires_at",
        "does not match",
    ),
    (
        "expires_at +0000 offset",
        _with("expires_at", "2025-08-05T13:35:25+0000"),
        "$.models[0].expires_at",
        "does not match",
    ),
    (
        "expires_at ten fraction digits",
        _with("expires_at", "2025-08-05T13:35:25.1234567891Z"),
        "$.models[0].expires_at",
        "does not match",
    ),
    (
        "expires_at impossible date",
        _with("expires_at", "2025-13-45T13:35:25Z"),
        "$.models[0].expires_at",
        "is not a 'date-time'",
    ),
    ("expires_at unix seconds", _with("expires_at", 1754393725), "$.models[0].expires_at", "not of type 'string'"),
    ("context_length a string", _with("context_length", "4096"), "$.models[0].context_length", "not of type 'integer'"),
    ("context_length negative", _with("context_length", -1), "$.models[0].context_length", "less than the minimum"),
]


@pytest.mark.parametrize(("case", "body", "path", "reason"), BAD_BODIES, ids=[case[0] for case in BAD_BODIES])
def test_spec_rejects_broken_body_for_the_intended_reason(case: str, body: Any, path: str, reason: str) -> None:
    problems = PS.problems(body)
    assert problems, f"{case}: accepted"
    assert {problem.path for problem in problems} == {path}, f"{case}: {problems}"
    assert any(reason in problem.message for problem in problems), f"{case}: {problems}"


def test_bad_body_table_is_large_enough() -> None:
    assert len(BAD_BODIES) >= 20


@pytest.mark.parametrize(
    "valid",
    [
        _with("details.families", None),
        _with("size_vram", _DELETE),
        _with("context_length", _DELETE),
        _with("expires_at", "2318-12-01T18:35:38.854775807Z"),
        _with("expires_at", "2025-08-05T13:35:25-07:00"),
        _with("expires_at", "2025-08-05T13:35:25+05:30"),
        _with("name", "hf.co/bartowski/Ministral-8B-Instruct-2410-GGUF:IQ4_XS"),
        _with("modified_at", "0001-01-01T00:00:00Z"),
        _with("details.quantization_level", "unknown"),
        {"models": []},
        {"models": [], "extension": {"from": "a newer server"}},
    ],
    ids=[
        "families null",
        "no size_vram",
        "no context_length",
        "forever",
        "negative offset",
        "half-hour offset",
        "namespaced host name",
        "extra modified_at",
        "free-form quantization",
        "empty",
        "extra top-level key",
    ],
)
def test_spec_accepts_unusual_but_valid_bodies(valid: Any) -> None:
    assert PS.problems(valid) == []


def test_error_messages_explain_what_was_expected() -> None:
    problems = PS.problems(_with("digest", "sha256:abc"))
    assert "64 lowercase hex" in problems[0].message
    assert json.dumps(str(problems[0]))
