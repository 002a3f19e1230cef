"""The default answerer: a short, deterministic reply to every request no scripted rule answers.

Its rules, in order (docs/replies.md says the same for users):
1. Tools offered and a tool to call: `tool_choice` names one (or says `required`), or it is the first
   turn (the last message is not a tool's result), or after a tool's result exactly one offered tool
   is still uncalled (an "output tool", as agent frameworks offer). The call's arguments satisfy the
   tool's parameters schema.
2. `format` a JSON Schema: a value valid against it.
3. `format: "json"`: when the messages carry a JSON Schema (as JSON-mode libraries put it in the
   prompt), a value valid against it; else `{"answer": "<the sentence>"}`.
4. Otherwise the sentence `Mock answer from <model> to: <the first eight words>`, with
   `(I see N images.)` for a vision model given images.
A thinking model (or `think` asked of one) first thinks `The user wrote: ... A short answer will do.`
The same request always gets the same reply.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ollama_contract_kit.openapi.go_strings import without_lone_surrogates

from .structured import example_for

#: The most characters of a message searched for a JSON Schema (JSON mode, prompted output).
_SCHEMA_SEARCH_LIMIT = 200_000
#: Where a JSON Schema may begin: an object whose first key is one a schema starts with; at most this many
#: tried a message (a failed parse costs the text's length).
_SCHEMA_START = re.compile(
    r'\{\s*"(?:\$schema|\$defs|\$id|\$ref|type|properties|title|description|required|definitions)"'
)
_SCHEMA_ATTEMPTS = 100


@dataclass(frozen=True)
class Ask:
    """What a request asks of the model, once validated."""

    model: str  # the name as the request gave it (answers echo it verbatim)
    text: str  # the prompt, or the last message
    think: bool = False
    format: Any = None  # None, "json", or a JSON Schema object
    tools: tuple[Mapping[str, Any], ...] = ()
    after_tool: bool = False  # the last message is a tool's result
    images: int = 0
    sees_images: bool = False
    call_ids: bool = True  # tool calls carry an id (Ollama 0.12.10 and later)
    #: The request's path (`/api/chat`, `/v1/responses`), what rules match a route on.
    route: str = ""
    #: The prompt, or the last message of the user's: what rules match text on.
    user_text: str = ""
    #: Every text of the prompt (system, messages), where a JSON-mode schema may hide.
    texts: tuple[str, ...] = ()
    #: The request's headers, names in lower case.
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Tools the conversation has called already, by name.
    called: tuple[str, ...] = ()
    #: A tool the request requires (`tool_choice`), or "required" for any.
    tool_choice: str | None = None
    #: The request's `request_fingerprint` (path and body): what a recorded reply matches on.
    fingerprint: str = ""


@dataclass(frozen=True)
class Reply:
    """The model's whole answer, before `num_predict` or `stop` end it, and how it streams."""

    content: str
    thinking: str = ""
    tool_calls: tuple[dict[str, Any], ...] = field(default=())
    #: The reason to report at the end (None: how it ended).
    done_reason: str | None = None
    #: Seconds before the first token (after the load).
    delay_seconds: float = 0.0
    #: Stream the content in this many pieces, or in exactly these (None: word by word).
    chunks: int | tuple[str, ...] | None = None
    #: Stream the thinking in exactly these pieces (None: word by word).
    thinking_chunks: tuple[str, ...] | None = None
    #: The tokens the answer reports (`eval_count`) when it ends as given (None: its tokens counted).
    eval_count: int | None = None
    #: Tokens a second for this answer (None: the mock's pace).
    tokens_per_second: float | None = None


def _echo(text: str) -> str:
    words = text.split()
    return " ".join(words[:8]) + ("…" if len(words) > 8 else "")


def call_id(seed: str) -> str:
    """A tool-call id as Ollama writes them (`call_` and eight lower-case letters and digits), from `seed`."""
    alphabet = string.ascii_lowercase + string.digits
    digest = hashlib.sha256(seed.encode()).digest()
    return "call_" + "".join(alphabet[byte % len(alphabet)] for byte in digest[:8])


def tool_call(ask: Ask, name: str, arguments: Mapping[str, Any], index: int = 0) -> dict[str, Any]:
    """A native tool call (`{"id", "function": {"index", "name", "arguments"}}`; no id before 0.12.10)."""
    call = {"function": {"index": index, "name": name, "arguments": dict(arguments)}}
    return {"id": call_id(f"{ask.model}\0{ask.text}\0{name}\0{index}"), **call} if ask.call_ids else call


def _function(tool: Mapping[str, Any]) -> Mapping[str, Any]:
    function = tool.get("function")
    return function if isinstance(function, Mapping) else {}


def _tool_to_call(ask: Ask) -> Mapping[str, Any] | None:
    """The tool the default answerer calls, if any (rule 1 above)."""
    if not ask.tools:
        return None
    if ask.tool_choice and ask.tool_choice != "required":
        return next((tool for tool in ask.tools if _function(tool).get("name") == ask.tool_choice), None)
    if not ask.after_tool:
        return ask.tools[0]
    uncalled = [tool for tool in ask.tools if _function(tool).get("name") not in ask.called]
    if ask.tool_choice == "required" and uncalled:
        return uncalled[0]
    # One of several tools left uncalled is the app's way out (an "output tool"); a lone tool that was
    # just answered is not called again, so an agent loop always ends.
    return uncalled[0] if len(ask.tools) > 1 and len(uncalled) == 1 else None


def _call(ask: Ask, tool: Mapping[str, Any]) -> dict[str, Any]:
    function = _function(tool)
    arguments = example_for(function.get("parameters") or {"type": "object"})
    return tool_call(ask, str(function.get("name") or "tool"), arguments if isinstance(arguments, dict) else {})


def schema_in(texts: tuple[str, ...], *, json_asked: bool) -> dict[str, Any] | None:
    """The last JSON Schema written in `texts`, as JSON-mode and prompted-output libraries write one: with
    `format: "json"` asked, any object with `properties`; else one in a message that says JSON, shaped like
    a schema (`type: object` or `$schema`, every property a schema), so data that merely has `properties`
    (GeoJSON, say) is not taken for one."""
    found: dict[str, Any] | None = None
    decoder = json.JSONDecoder(parse_constant=_no_constant)
    for text in texts:
        text = text[:_SCHEMA_SEARCH_LIMIT]
        if '"properties"' not in text or not (json_asked or "json" in text.lower()):
            continue
        position = 0
        for _ in range(_SCHEMA_ATTEMPTS):
            match = _SCHEMA_START.search(text, position)
            if match is None:
                break
            try:
                value, position = decoder.raw_decode(text, match.start())
            except (ValueError, RecursionError):
                position = match.start() + 1
                continue
            if _is_schema(value, json_asked):
                found = value
    return None if found is None else without_lone_surrogates(found)  # an escaped `\ud800` reads as U+FFFD


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _is_schema(value: Any, loosely: bool) -> bool:
    properties = value.get("properties") if isinstance(value, dict) else None
    if not isinstance(properties, dict):
        return False
    return loosely or (
        (value.get("type") == "object" or "$schema" in value)
        and all(isinstance(item, dict) for item in properties.values())
    )


def compose(ask: Ask) -> Reply:
    """The deterministic answer to `ask`: the same request always gets the same reply."""
    echo = _echo(ask.text)
    sentence = f"Mock answer from {ask.model} to: {echo}" if echo else f"Mock answer from {ask.model}."
    if ask.images and ask.sees_images:
        sentence += f" (I see {ask.images} image{'s' if ask.images > 1 else ''}.)"
    thinking = f"The user wrote: {echo or 'nothing'}. A short answer will do." if ask.think else ""
    tool = _tool_to_call(ask)
    if tool is not None:
        return Reply(content="", thinking=thinking, tool_calls=(_call(ask, tool),))
    if isinstance(ask.format, dict):
        content = json.dumps(example_for(ask.format), ensure_ascii=False)
    else:
        # JSON mode, or structured output asked in the prompt alone (as a model would, it follows the schema).
        schema = schema_in(ask.texts, json_asked=ask.format == "json")
        if schema is not None:
            content = json.dumps(example_for(schema), ensure_ascii=False)
        elif ask.format == "json":
            content = json.dumps({"answer": sentence}, ensure_ascii=False)
        else:
            content = sentence
    return Reply(content=content, thinking=thinking)
