"""Request bodies decoded the way Go's `c.ShouldBindJSON` decodes them, with its error texts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..world.durations import KeepAliveError, parse_keep_alive

_GO_TYPES = {str: "string", bool: "bool", int: "number", float: "number", list: "array", dict: "object"}


#: A request's typed fields: JSON key to the Python type(s) it must have and the Go type an error names.
Fields = Mapping[str, tuple[type | tuple[type, ...], str]]


class BodyError(ValueError):
    """The body cannot be decoded; the message is the real server's error text (status 400)."""


def _go_type(value: Any) -> str:
    return _GO_TYPES.get(type(value), "null")


def _check_message(message: Any) -> None:
    if not isinstance(message, dict):
        raise BodyError(
            f"json: cannot unmarshal {_go_type(message)} into Go struct field ChatRequest.messages of type api.Message"
        )
    for key in ("role", "content"):
        field = message.get(key)
        if field is not None and not isinstance(field, str):
            raise BodyError(
                f"json: cannot unmarshal {_go_type(field)} into Go struct field Message.messages.{key} of type string"
            )


def decode_request(raw: bytes, struct: str, fields: Fields, *, keep_alive: bool = True) -> dict[str, Any]:
    """Decode the first JSON value of `raw` into a request dict; check the typed `fields`.

    `struct` is the Go type name (`GenerateRequest`); `fields` maps a JSON key to the Python type
    it must have and the Go type named in the error. With `keep_alive`, that field is parsed into
    seconds (routes whose Go struct has no such field ignore it, as Go's decoder does).
    """
    text = raw.decode("utf-8", errors="replace").lstrip(" \t\r\n")
    if not text:
        raise BodyError("missing request body")
    try:
        value, _ = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as error:
        if error.pos >= len(text.rstrip()):
            raise BodyError("unexpected EOF") from None
        raise BodyError(f"invalid character {text[error.pos]!r} looking for beginning of value") from None
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise BodyError(f"json: cannot unmarshal {_go_type(value)} into Go value of type api.{struct}")
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
                f"json: cannot unmarshal {_go_type(field)} into Go struct field {struct}.{key} of type {go_type}"
            )
    for message in value.get("messages") or ():
        _check_message(message)
    if not keep_alive:
        return value
    try:
        value["keep_alive"] = parse_keep_alive(value.get("keep_alive"))
    except KeepAliveError as error:
        raise BodyError(str(error)) from None
    return value
