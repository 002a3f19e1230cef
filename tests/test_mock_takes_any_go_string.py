"""Any string Go's JSON decoder accepts, in any field of any route, is answered as Ollama answers it:
a lone surrogate escape (`"\\ud800"`) reads as U+FFFD, never a 500."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_contract_kit.mock_server import MockOllama, Pace
from ollama_contract_kit.openapi import load_document

from .schema_data import inline_schema

CHAT = "qwen3:8b"
EMBED = "nomic-embed-text:latest"
MESSAGES = [{"role": "user", "content": "hi"}]
#: A body each route answers 2xx to, so the field under test reaches the route's own code.
BASE_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/generate"): {"model": CHAT, "prompt": "hi"},
    ("POST", "/api/chat"): {"model": CHAT, "messages": MESSAGES},
    ("POST", "/api/show"): {"model": CHAT},
    ("POST", "/api/embed"): {"model": EMBED, "input": "hi"},
    ("POST", "/api/embeddings"): {"model": EMBED, "prompt": "hi"},
    ("POST", "/api/pull"): {"model": "gemma3:1b"},
    ("POST", "/api/push"): {"model": CHAT},
    ("POST", "/api/create"): {"model": "made:latest", "from": CHAT},
    ("POST", "/api/copy"): {"source": CHAT, "destination": "copied:latest"},
    ("DELETE", "/api/delete"): {"model": CHAT},
    ("POST", "/v1/chat/completions"): {"model": CHAT, "messages": MESSAGES},
    ("POST", "/v1/completions"): {"model": CHAT, "prompt": "hi"},
    ("POST", "/v1/embeddings"): {"model": EMBED, "input": "hi"},
    ("PUT", "/_mock/world"): {"models": []},
    ("POST", "/_mock/load"): {"model": CHAT},
    ("POST", "/_mock/unload"): {"model": CHAT},
    ("PUT", "/_mock/clock"): {"frozen": True},
    ("POST", "/_mock/clock/advance"): {"seconds": 1},
    ("POST", "/_mock/faults"): {"route": "GET /api/ps", "kind": "status", "value": 503, "times": 1},
}
#: Fields the routes read that the contract does not describe (Ollama's /v1 layer reads more than it documents).
UNDOCUMENTED = {
    "/v1/chat/completions": ["reasoning_effort", "reasoning", "response_format", "stop", "user"],
    "/v1/completions": ["suffix", "stop"],
    "/v1/embeddings": ["encoding_format", "dimensions"],
}
#: Where a string sits deeper than the top level: a message's fields.
NESTED = {
    "/api/chat": ["messages.0.content", "messages.0.role", "messages.0.thinking"],
    "/v1/chat/completions": ["messages.0.content", "messages.0.role"],
}
#: The key itself is the string under test.
AS_KEY = "<key>"
#: Ollama's own 5xx for a string: a `format` other than "json" fails in the runner once the model has
#: loaded (llm/llama_server.go: `invalid format: %q`), a 500.
#: Fields whose odd values Ollama itself answers with 500: an invalid format; a quantization type it does
#: not know (`ggml.ParseFileType`, reported by create's stream, 500 when not streamed).
OLLAMAS_OWN_5XX = {("/api/generate", "format"), ("/api/chat", "format"), ("/api/create", "quantize")}


def _documented_fields(method: str, path: str) -> list[str]:
    for document in ("ollama", "openai", "control"):
        operation = load_document(document)["paths"].get(path, {}).get(method.lower())
        if operation is not None:
            reference = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            return list(inline_schema(document, reference.rsplit("/", 1)[-1]).get("properties", {}))
    raise AssertionError(f"{method} {path} is in no contract document")


PAIRS = [
    (method, path, field)
    for (method, path) in BASE_BODIES
    for field in [*_documented_fields(method, path), *UNDOCUMENTED.get(path, []), *NESTED.get(path, []), AS_KEY]
]

#: One piece of a JSON string literal: a plain character (escaped where JSON needs it; a surrogate has no
#: UTF-8 form, so only its escape can be sent) or any `\uXXXX` escape, lone surrogates and valid pairs included.
_PIECE = st.one_of(
    st.characters(exclude_categories=["Cs"]).map(lambda character: json.dumps(character, ensure_ascii=False)[1:-1]),
    st.integers(0, 0xFFFF).map(lambda unit: f"\\u{unit:04x}"),
    st.sampled_from(["\\ud800", "\\udfff", "\\ud83d\\ude00", "\\ud83d", "\\ude00\\ud83d", "\\\\ud800"]),
)
json_string_literals = st.lists(_PIECE, max_size=12).map(lambda pieces: '"' + "".join(pieces) + '"')

_LONE = re.compile(r"[\ud800-\udfff]")


def _go_reading(literal: str) -> str:
    """The literal as Go's decoder reads it, written back with only valid characters."""
    return json.dumps(_LONE.sub("\ufffd", json.loads(literal)), ensure_ascii=False)


def _body_with(method: str, path: str, field: str, literal: str) -> bytes:
    """The route's base body with `field` (a dotted path, or the key) set to the raw JSON `literal`."""
    body = json.loads(json.dumps(BASE_BODIES[(method, path)]))
    marker = "\u0000marker\u0000"
    if field == AS_KEY:
        body[marker] = "x"
    else:
        *parents, last = field.split(".")
        target: Any = body
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = marker
    return json.dumps(body).replace(json.dumps(marker), literal).encode()


def _answer(mock: MockOllama, method: str, path: str, body: bytes) -> tuple[int, str]:
    mock.reset()
    response = requests.request(method, mock.url + path, data=body, timeout=10)
    return response.status_code, response.text


@pytest.fixture(scope="module")
def mock() -> Any:
    with MockOllama(log_requests=False, pace=Pace.instant()) as server:  # answers judged, not their pace
        yield server


@pytest.mark.parametrize(("method", "path", "field"), PAIRS)
def test_a_lone_surrogate_in_any_field_is_answered_as_with_u_fffd(
    mock: MockOllama, method: str, path: str, field: str
) -> None:
    status, text = _answer(mock, method, path, _body_with(method, path, field, '"a\\ud800b"'))
    twin_status, _ = _answer(mock, method, path, _body_with(method, path, field, '"a\ufffdb"'))
    assert "internal error" not in text
    assert status == twin_status, f"{method} {path} {field}: {status} {text[:300]}"
    assert status < 500 or (path, field) in OLLAMAS_OWN_5XX, text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=st.sampled_from(PAIRS), literal=json_string_literals)
def test_any_string_go_accepts_gets_the_answer_go_would_give(
    mock: MockOllama, pair: tuple[str, str, str], literal: str
) -> None:
    method, path, field = pair
    status, text = _answer(mock, method, path, _body_with(method, path, field, literal))
    twin_status, twin_text = _answer(mock, method, path, _body_with(method, path, field, _go_reading(literal)))
    assert "internal error" not in text
    assert status == twin_status, f"{method} {path} {field}={literal}: {status} {text[:300]} vs {twin_text[:300]}"
    assert status < 500 or (path, field) in OLLAMAS_OWN_5XX, text
