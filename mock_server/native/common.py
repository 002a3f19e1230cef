"""What every native route shares: the server's state, decoding a body or answering Ollama's 400, empty answers."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request

from ollama_contract_kit.openapi.names import parse_model_name

from ..serving.responses import empty, error_response
from ..state import MockState
from ..world.models import InstalledModel
from .bodies import BodyError, Fields, decode_request


class Refused(Exception):
    """A request the real server refuses before doing anything: its status and error text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status

    def response(self) -> Response:
        """Ollama's `{"error": ...}` answer."""
        return error_response(self.status, str(self))


def state() -> MockState:
    """The state of the mock answering this request."""
    mock: MockState = current_app.extensions["ollama_mock"]
    return mock


def body(struct: str, fields: Fields, *, keep_alive: bool = False) -> dict[str, Any]:
    """The request body decoded as Go decodes `struct`, or Refused(400) with Go's error text."""
    try:
        return decode_request(request.get_data(), struct, fields, keep_alive=keep_alive)
    except BodyError as error:
        raise Refused(400, str(error)) from None


def installed_model(name: str, *, unnamed: tuple[int, str], not_found: str) -> InstalledModel:
    """The installed model a request names; Refused with `unnamed` for no name, 400 for a bad one, 404 else."""
    if not name.strip():
        raise Refused(*unnamed)
    if parse_model_name(name) is None:
        raise Refused(400, "invalid model name")
    model = state().world.find(name)
    if model is None:
        raise Refused(404, not_found)
    return model


def first_name(data: dict[str, Any], *keys: str) -> str:
    """The first non-empty string among `keys` (`model`, then the deprecated `name`), trimmed."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def empty_ok() -> Response:
    """200 with an empty body and no Content-Type: what gin sends when a handler writes nothing."""
    return empty(200)
