"""The control API under `/_mock/`: world, lifecycle, clock, faults and the request log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from ollama_contract_kit.openapi import validator_for
from ollama_contract_kit.openapi.durations import KeepAliveError, parse_keep_alive
from ollama_contract_kit.openapi.timestamps import GoTime

from .answers.replies import ReplyError, rule_from_json
from .native.bodies import BodyError, decode_json
from .native.wire import ps_entry
from .serving.faults import FaultError, fault_from_json
from .serving.responses import error_response, json_response
from .simulation.machine import machine_to_json
from .state import MockState
from .world.fixtures import FixtureError, build_world_document, installed_to_fixture, running_to_fixture

CONTROL_PREFIX = "/_mock"
control_routes = Blueprint("control", __name__, url_prefix=CONTROL_PREFIX)


class _Invalid(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _state() -> MockState:
    state: MockState = current_app.extensions["ollama_mock"]
    return state


def _json() -> Any:
    raw = request.get_data()
    if not raw.strip():
        return None
    try:
        return decode_json(raw.decode("utf-8"))
    except (BodyError, UnicodeDecodeError) as error:
        raise _Invalid(f"the body is not JSON: {error}") from None


def _body(schema: str) -> Any:
    data = _json()
    problems = validator_for("control", schema).problems(data)
    if problems:
        raise _Invalid(f"{schema}: {problems[0]}")
    return data


@control_routes.errorhandler(_Invalid)
def _invalid(error: _Invalid) -> Response:
    return error_response(error.status, str(error))


def world_json(state: MockState) -> dict[str, Any]:
    """The world as a fixture document, running models with absolute `expires_at`."""
    return (
        {
            "version": state.world.version,
            "models_path": state.models_path,
            "models": [installed_to_fixture(model) for model in state.world.installed()],
            "running": [running_to_fixture(running) for running in state.scheduler.listing().models],
            "registry": [installed_to_fixture(model) for model in state.world.upstream()],
            "machine": machine_to_json(state.scheduler.machine),
        }
        | ({"replies": replies} if (replies := _replies_json(state)) else {})
        | ({"strict_replies": True} if state.replies.strict else {})
    )


def _replies_json(state: MockState) -> list[dict[str, Any]]:
    return [rule.to_json() for rule in state.replies.listed()]


@control_routes.get("/world")
def get_world() -> Response:
    """The current world."""
    return json_response(world_json(_state()))


@control_routes.put("/world")
def replace_world() -> Response:
    """Replace the world with a fixture document."""
    try:
        document = build_world_document(_json(), "request body")
    except FixtureError as error:
        raise _Invalid(str(error)) from None
    _state().apply(document)
    return json_response(world_json(_state()))


@control_routes.post("/reset")
def reset() -> Response:
    """Back to the world, clock, faults and log of the start."""
    _state().reset()
    return json_response(world_json(_state()))


def _model(name: str) -> Any:
    model = _state().world.find(name)
    if model is None:
        raise _Invalid(f"model '{name}' not found", status=404)
    return model


@control_routes.post("/load")
def load() -> Response:
    """Load a model as `/api/generate` would."""
    data = _body("LoadRequest")
    try:
        keep_alive = parse_keep_alive(data.get("keep_alive"))
    except KeepAliveError as error:
        raise _Invalid(str(error)) from None
    state = _state()
    return json_response(ps_entry(state.scheduler.place_now(_model(data["model"]), keep_alive), state.world.release))


@control_routes.post("/unload")
def unload() -> Response:
    """Unload a model at once."""
    data = _body("UnloadRequest")
    state = _state()
    state.scheduler.unload(_model(data["model"]))
    listed = state.scheduler.listing().models
    return json_response({"models": [ps_entry(running, state.world.release) for running in listed]})


def _clock_json() -> Response:
    clock = _state().clock
    return json_response({"now": clock.instant().format(), "frozen": clock.frozen})


@control_routes.get("/clock")
def get_clock() -> Response:
    """The clock."""
    return _clock_json()


@control_routes.put("/clock")
def set_clock() -> Response:
    """Freeze (optionally at a time) or release the clock."""
    data = _body("ClockUpdate")
    clock = _state().clock
    if data["frozen"]:
        clock.freeze(GoTime.parse(data["now"]) if "now" in data else None)
    else:
        clock.resume()
    return _clock_json()


@control_routes.post("/clock/advance")
def advance_clock() -> Response:
    """Move the clock forward."""
    try:
        _state().clock.advance(float(_body("AdvanceRequest")["seconds"]))
    except ValueError as error:
        raise _Invalid(str(error)) from None
    return _clock_json()


def _faults_json() -> Response:
    return json_response({"faults": [fault.to_json() for fault in _state().faults.listed()]})


@control_routes.get("/faults")
def list_faults() -> Response:
    """The faults in force."""
    return _faults_json()


@control_routes.post("/faults")
def add_fault() -> Response:
    """Add a fault."""
    try:
        _state().faults.add(fault_from_json(_body("Fault"), "request body"))
    except FaultError as error:
        raise _Invalid(str(error)) from None
    return _faults_json()


@control_routes.delete("/faults")
def clear_faults() -> Response:
    """Remove every fault."""
    _state().faults.clear()
    return _faults_json()


@control_routes.get("/replies")
def list_replies() -> Response:
    """The scripted replies in force."""
    return json_response({"replies": _replies_json(_state())})


@control_routes.post("/replies")
def add_reply() -> Response:
    """Add a scripted reply after the others."""
    try:
        _state().replies.add(rule_from_json(_json(), "request body"))
    except ReplyError as error:
        raise _Invalid(str(error)) from None
    return list_replies()


@control_routes.delete("/replies")
def clear_replies() -> Response:
    """Remove every scripted reply."""
    _state().replies.clear()
    return list_replies()


@control_routes.get("/requests")
def list_requests() -> Response:
    """The request log, parsed, filtered by `route`, `model`, `method` and `status`."""
    filters = request.args.to_dict()
    unknown = sorted(set(filters) - {"route", "model", "method", "status"})
    if unknown:
        raise _Invalid(f"unknown filter {unknown[0]!r}: filter by route, model, method or status")
    try:
        entries = _state().requests.entries(**filters)
    except ValueError as error:
        raise _Invalid(str(error)) from None
    return json_response({"requests": entries})


@control_routes.delete("/requests")
def clear_requests() -> Response:
    """Empty the request log."""
    _state().requests.clear()
    return json_response({"requests": []})
