"""The input tokens a `/v1/messages` stream announces in `message_start`, estimated as Ollama estimates
them before the prompt is read (`EstimateInputTokens` in `anthropic/anthropic.go`).

A quarter of the request's length in bytes, at least 1 when there is anything: the system prompt,
each message's role and its blocks' text and thinking (a `tool_use` or `tool_result` block counts
whole, as Go re-encodes it), and each tool's name, description and `input_schema` exactly as sent
(Go keeps the schema as raw bytes, so its spacing counts).
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from collections.abc import Mapping
from typing import Any

from ..serving.encoding import go_json, go_map

#: `ContentBlock`'s fields in Go's order, with whether each is left out when empty.
_BLOCK_FIELDS = (
    "type",
    "text",
    "citations",
    "source",
    "id",
    "name",
    "input",
    "tool_use_id",
    "content",
    "is_error",
    "thinking",
    "signature",
)
_SOURCE_FIELDS = ("type", "media_type", "data", "url")


class _Sourced(dict[str, Any]):
    """A JSON object that remembers the text it was read from."""

    source = ""


def _sourced_objects() -> json.JSONDecoder:
    """A decoder whose objects keep their source text (the C scanner cannot: it ignores `parse_object`)."""
    decoder = json.JSONDecoder()

    def parse_object(text_and_end: tuple[str, int], *rest: Any) -> tuple[_Sourced, int]:
        text, start = text_and_end
        value, end = json.decoder.JSONObject(text_and_end, *rest)  # type: ignore[attr-defined]
        sourced = _Sourced(value)
        sourced.source = text[start - 1 : end]
        return sourced, end

    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    return decoder


def _bytes(text: Any) -> int:
    return len(str(text).encode("utf-8"))


def _schema_lengths(raw: str, tools: list[Any]) -> list[int]:
    """The bytes of each tool's `input_schema` as the client sent it (`null` is 4 bytes, none is 0)."""
    try:
        sent_tools = _sourced_objects().raw_decode(raw.lstrip())[0].get("tools") or []
    except RecursionError:  # nested deeper than the pure-Python scanner goes: count them compact
        sent_tools = tools
    lengths = []
    for tool in sent_tools:
        schema = tool.get("input_schema") if isinstance(tool, dict) else None
        if isinstance(schema, _Sourced):
            lengths.append(_bytes(schema.source))
        else:
            lengths.append(len(go_json(schema)) if isinstance(tool, dict) and "input_schema" in tool else 0)
    return lengths


def _encoded_block(block: Mapping[str, Any]) -> dict[str, Any]:
    """A block as Go re-encodes its `ContentBlock` (fields in order, empty ones left out)."""
    encoded: dict[str, Any] = {}
    for key in _BLOCK_FIELDS:
        value = block.get(key)
        if value is None or (value in ("", False, []) and key not in ("text", "thinking", "content")):
            continue
        if key == "source" and isinstance(value, Mapping):
            value = {field: value[field] for field in _SOURCE_FIELDS if value.get(field) or field == "type"}
        elif key == "input" and isinstance(value, Mapping):
            value = {name: go_map(argument) for name, argument in value.items()}  # top-level order kept
        elif key not in ("text", "thinking"):
            value = go_map(value)
        encoded[key] = value
    return encoded


def _block_length(block: Any) -> int:
    if not isinstance(block, Mapping):
        return 0
    total = sum(_bytes(block[key]) for key in ("text", "thinking") if isinstance(block.get(key), str))
    if block.get("type") in ("tool_use", "tool_result"):
        total += len(go_json(_encoded_block(block)))
    return total


def _content_length(content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return _bytes(content)
    if isinstance(content, list):
        return sum(_block_length(block) for block in content)
    return len(go_json(go_map(content)))


def estimate_input_tokens(data: Mapping[str, Any], raw: str) -> int:
    """Ollama's estimate for the request `data` (decoded from the body text `raw`)."""
    total = _content_length(data.get("system"))
    messages = data.get("messages") or []
    for message in messages:
        total += _bytes(message.get("role") or "")
        content = message.get("content")
        total += _content_length([{"type": "text", "text": content}] if isinstance(content, str) else content)
    tools = data.get("tools") or []
    if tools:
        for tool, schema_bytes in zip(tools, _schema_lengths(raw, tools), strict=True):
            total += _bytes(tool.get("name") or "") + _bytes(tool.get("description") or "") + schema_bytes
    tokens = total // 4
    return 1 if tokens == 0 and (messages or data.get("system") is not None) else tokens
