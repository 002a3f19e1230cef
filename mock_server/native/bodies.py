"""Request bodies decoded the way Go's `c.ShouldBindJSON` decodes them, with its error texts."""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ollama_contract_kit.openapi.durations import KeepAliveError, parse_keep_alive
from ollama_contract_kit.openapi.go_strings import without_lone_surrogates

_BASE64 = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_GO_TYPES = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object"}


#: A request's typed fields: JSON key to the Python type(s) it must have and the Go type an error names.
Fields = Mapping[str, tuple[type | tuple[type, ...], str]]


class BodyError(ValueError):
    """The body cannot be decoded; the message is the real server's error text (status 400)."""


class _OutOfRange(Exception):
    """A JSON number Go's float64 cannot hold (`1e999`, 400 digits)."""

    def __init__(self, literal: str) -> None:
        super().__init__(literal)
        self.literal = literal


#: Integers up to this many digits are surely finite as float64; longer ones are checked.
_SAFE_DIGITS = 300


def _go_float(literal: str) -> float:
    number = float(literal)
    if math.isinf(number):
        raise _OutOfRange(literal)
    return number


def _go_int(literal: str) -> int:
    if len(literal) > _SAFE_DIGITS:
        _go_float(literal)  # Go holds an untyped number as float64: longer literals overflow it
    return int(literal)


class _Constant(Exception):
    """`NaN`, `Infinity` or `-Infinity`: Python reads them, Go's decoder does not."""


def _no_constant(literal: str) -> Any:
    raise _Constant(literal)


_DECODER = json.JSONDecoder(parse_float=_go_float, parse_int=_go_int, parse_constant=_no_constant)
#: A `\uD800`-`\uDFFF` escape: the text may decode to a lone surrogate (a backslash before it aside).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")


def decode_json(text: str) -> Any:
    """The first JSON value of `text`, as Go's decoder reads it; BodyError with Go's texts otherwise.

    Unlike Python, Go refuses `NaN`/`Infinity` and numbers beyond float64, and it does not overflow
    the stack on deep nesting (it stops at 10,000 levels; this decoder stops sooner, with Go's text).
    Like Go, it reads an escaped lone surrogate (`"\\ud800"`) as U+FFFD.
    """
    text = text.lstrip(" \t\r\n")
    if not text:
        raise BodyError("missing request body")
    try:
        value, _ = _DECODER.raw_decode(text)
    except _OutOfRange as error:
        raise BodyError(f"json: cannot unmarshal number {error.literal} into Go value of type float64") from None
    except RecursionError:
        raise BodyError("exceeded max depth") from None
    except _Constant as error:
        where = "in numeric literal" if str(error).startswith("-") else "looking for beginning of value"
        raise BodyError(f"invalid character {str(error).lstrip('-')[0]!r} {where}") from None
    except json.JSONDecodeError as error:
        if error.pos >= len(text.rstrip()):
            raise BodyError("unexpected EOF") from None
        raise BodyError(f"invalid character {text[error.pos]!r} looking for beginning of value") from None
    return without_lone_surrogates(value) if _SURROGATE_ESCAPE.search(text) else value


def go_kind(value: Any) -> str:
    """How Go's decoder names the kind of a JSON value in its errors (`string`, `number`, `object`...)."""
    return _GO_TYPES.get(type(value), "null")


def image_count(images: Any, field: str) -> int:
    """How many images; BodyError with Go's base64 or type error when one is not plain standard base64."""
    if images is None:
        return 0
    if not isinstance(images, list):
        raise BodyError(
            f"json: cannot unmarshal {go_kind(images)} into Go struct field {field} of type []api.ImageData"
        )
    for image in images:
        if not isinstance(image, str):
            raise BodyError(
                f"json: cannot unmarshal {go_kind(image)} into Go struct field {field} of type api.ImageData"
            )
        bad = next((index for index, byte in enumerate(image.encode()) if byte not in _BASE64), None)
        if bad is None:
            try:
                base64.b64decode(image, validate=True)
            except binascii.Error:  # Go names the start of the quantum that cannot be completed
                bad = len(image) - len(image) % 4 if len(image) % 4 else max(0, image.find("="))
        if bad is not None:
            raise BodyError(f"illegal base64 data at input byte {bad}")
    return len(images)


def _check_message(message: Any) -> None:
    if not isinstance(message, dict):
        raise BodyError(
            f"json: cannot unmarshal {go_kind(message)} into Go struct field ChatRequest.messages of type api.Message"
        )
    for key in ("role", "content", "thinking"):
        field = message.get(key)
        if field is not None and not isinstance(field, str):
            raise BodyError(
                f"json: cannot unmarshal {go_kind(field)} into Go struct field Message.messages.{key} of type string"
            )
    image_count(message.get("images"), "Message.messages.images")
    calls = message.get("tool_calls")
    if calls is not None and (not isinstance(calls, list) or not all(isinstance(call, dict) for call in calls)):
        raise BodyError(
            f"json: cannot unmarshal {go_kind(calls)} into Go struct field Message.messages.tool_calls of type "
            "[]api.ToolCall"
        )


#: What the items of a typed list or map field must be.
_ITEM_TYPES: dict[str, tuple[type, str]] = {
    "map[string]string": (str, "string"),
    "api.Tools": (dict, "api.Tool"),
    "[]int": (int, "int"),
    "api.License": (str, "string"),
}


def _check_items(struct: str, key: str, go_type: str, items: list[Any] | dict[str, Any]) -> None:
    wanted = _ITEM_TYPES.get(go_type)
    if wanted is None:
        return
    expected, item_type = wanted
    for item in items.values() if isinstance(items, dict) else items:
        if not isinstance(item, expected) or isinstance(item, bool):
            raise BodyError(
                f"json: cannot unmarshal {go_kind(item)} into Go struct field {struct}.{key} of type {item_type}"
            )


def decode_request(raw: bytes, struct: str, fields: Fields, *, keep_alive: bool = True) -> dict[str, Any]:
    """Decode the first JSON value of `raw` into a request dict; check the typed `fields`.

    `struct` is the Go type name (`GenerateRequest`); `fields` maps a JSON key to the Python type
    it must have and the Go type named in the error. With `keep_alive`, that field is parsed into
    seconds (routes whose Go struct has no such field ignore it, as Go's decoder does).
    """
    value = decode_json(raw.decode("utf-8", errors="replace"))
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise BodyError(f"json: cannot unmarshal {go_kind(value)} into Go value of type api.{struct}")
    for key, (expected, go_type) in fields.items():
        field = value.get(key)
        if field is None:
            continue
        if not isinstance(field, expected) or (expected is not bool and isinstance(field, bool)):
            if expected is int and isinstance(field, float) and not isinstance(field, bool):
                raise BodyError(
                    f"json: cannot unmarshal number {field!r} into Go struct field {struct}.{key} of type {go_type}"
                )
            raise BodyError(
                f"json: cannot unmarshal {go_kind(field)} into Go struct field {struct}.{key} of type {go_type}"
            )
    if fields.get("messages", (list, ""))[1] == "[]api.Message":
        for message in value.get("messages") or ():
            _check_message(message)
    for key, (_, go_type) in fields.items():
        items = value.get(key)
        if isinstance(items, (list, dict)) and go_type.startswith(("[]", "map[string]string", "api.")):
            _check_items(struct, key, go_type, items)
    if not keep_alive:
        return value
    try:
        value["keep_alive"] = parse_keep_alive(value.get("keep_alive"))
    except KeepAliveError as error:
        raise BodyError(str(error)) from None
    return value
