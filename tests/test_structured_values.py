"""The structured-output values: valid against any schema the JSON Schema validator accepts as a plausible
`format`, and, for any JSON at all taken as a schema (a prompt's schema is whatever its writer wrote), an
answer that is small, JSON, and never an exception."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from ollama_contract_kit.mock_server import MockOllama, Pace
from ollama_contract_kit.mock_server.answers.structured import example_for

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
#: Any JSON, keys often those of JSON Schema.
_KEYS = st.sampled_from(
    ["type", "properties", "items", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "minItems", "maxItems",
     "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "format", "required"]
) | st.text(max_size=6)  # fmt: skip
any_json = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=30,
)
_TYPES = st.sampled_from(["string", "integer", "number", "boolean", "null"])
#: Plausible schemas: typed leaves with bounds, objects of them, arrays of them.
plausible = st.recursive(
    st.builds(
        lambda kind, low: {"type": kind, **({"minimum": low} if kind in ("integer", "number") else {})},
        _TYPES,
        st.integers(-100, 100),
    )  # fmt: skip
    | st.builds(lambda low: {"type": "string", "minLength": low}, st.integers(0, 50))
    | st.builds(lambda values: {"enum": values}, st.lists(st.text(max_size=5), min_size=1, max_size=3)),
    lambda inner: (
        st.builds(
            lambda props: {"type": "object", "properties": props, "required": sorted(props)},
            st.dictionaries(st.text(min_size=1, max_size=5), inner, max_size=4),
        )  # fmt: skip
        | st.builds(lambda item, low: {"type": "array", "items": item, "minItems": low}, inner, st.integers(0, 3))
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(schema=plausible)
def test_the_value_is_valid_against_a_plausible_schema(schema: dict[str, Any]) -> None:
    jsonschema.validate(example_for(schema), schema)


@settings(max_examples=300, deadline=None)
@given(schema=any_json)
def test_any_json_as_a_schema_gives_a_small_json_value(schema: Any) -> None:
    text = json.dumps(example_for(schema), allow_nan=False)
    assert len(text) < 1_000_000


def test_a_hostile_schema_in_a_prompt_is_answered_small_and_at_once() -> None:
    fan_out = {f"d{level}": {"type": "object", "properties": {f"p{i}": {"$ref": f"#/$defs/d{level + 1}"}
               for i in range(30)}} for level in range(8)}  # fmt: skip
    hostile = {"type": "object", "$defs": fan_out, "properties": {
        "g": {"const": "\ud800"},
        "a": {"type": "array", "minItems": 10**9, "items": {"type": "array", "minItems": 10**9,
              "items": {"type": "string", "minLength": 10**9}}},
        "b": {"enum": {"x": 1}}, "c": {"anyOf": "x"}, "d": {"type": "__class__"},
        "e": {"minimum": "low", "type": "integer"}, "f": {"type": "integer", "minimum": 10**400},
        "h": {"$ref": "#/$defs/d0"}}}  # fmt: skip
    # As a prompt carries it: JSON text, the surrogate an escape; JSON-mode and prompted output alike.
    prompt = "Answer in JSON: " + json.dumps(hostile)
    with MockOllama(log_requests=False, pace=Pace.instant()) as mock:
        for format_asked in ({"format": "json"}, {}):
            body = {"model": "llama3.2", "messages": [{"role": "user", "content": prompt}], "stream": False}
            answer = requests.post(mock.url + "/api/chat", json=body | format_asked, timeout=30)
            assert answer.status_code == 200, answer.text
            value = json.loads(answer.json()["message"]["content"])
            assert set(value) == set("abcdefgh") and len(answer.content) < 1_000_000
            assert value["g"] == "\ufffd", "a lone surrogate is written as U+FFFD, as Go writes it"
