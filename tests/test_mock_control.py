"""The control API: world, lifecycle, clock, faults and request log, each answer valid against control.yaml."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from ollama_contract_kit.mock_server import MockConfig, create_app
from ollama_contract_kit.openapi import validator_for
from ollama_contract_kit.openapi.timestamps import parse_timestamp

from .conftest import model_names


def _valid(schema: str, data: Any) -> Any:
    assert validator_for("control", schema).problems(data) == []
    return data


def test_world_round_trips_through_put(http: FlaskClient) -> None:
    world = _valid("World", http.get("/_mock/world").get_json())
    assert len(world["models"]) == 7 and len(world["running"]) == 3 and len(world["registry"]) == 4
    assert http.put("/_mock/world", json=world).status_code == 200
    assert model_names(http.get("/api/ps").get_json()) == [entry["model"] for entry in world["running"]]


def test_put_world_rejects_a_bad_world_with_its_path(http: FlaskClient) -> None:
    response = http.put("/_mock/world", json={"models": [{"name": "x"}]})
    assert response.status_code == 400
    assert "$.models[0]" in response.get_json()["error"]
    assert len(http.get("/api/ps").get_json()["models"]) == 3, "nothing lost"


def test_load_and_unload_through_control(http: FlaskClient) -> None:
    entry = http.post("/_mock/load", json={"model": "smollm2:360m", "keep_alive": "1m"}).get_json()
    assert _valid("World", {"models": []}) and validator_for("ollama", "RunningModel").problems(entry) == []
    assert "smollm2:360m" in model_names(http.get("/api/ps").get_json())
    left = http.post("/_mock/unload", json={"model": "smollm2:360m"}).get_json()
    assert "smollm2:360m" not in model_names(left)


def test_a_load_kept_alive_for_zero_seconds_answers_the_entry_and_is_gone(http: FlaskClient) -> None:
    response = http.post("/_mock/load", json={"model": "smollm2:360m", "keep_alive": "0"})
    assert response.status_code == 200, response.get_data(as_text=True)
    entry = response.get_json()
    assert entry["model"] == "smollm2:360m" and validator_for("ollama", "RunningModel").problems(entry) == []
    assert "smollm2:360m" not in model_names(http.get("/api/ps").get_json())


def test_load_of_unknown_model_is_404(http: FlaskClient) -> None:
    response = http.post("/_mock/load", json={"model": "llama9"})
    assert response.status_code == 404 and response.get_json() == {"error": "model 'llama9' not found"}


def test_clock_freezes_and_advances_expiring_models(http: FlaskClient) -> None:
    frozen = _valid(
        "ClockState", http.put("/_mock/clock", json={"frozen": True, "now": "2030-01-01T00:00:00Z"}).get_json()
    )
    assert frozen["frozen"] is True and parse_timestamp(frozen["now"]).year == 2030
    http.post("/_mock/reset")
    http.put("/_mock/clock", json={"frozen": True})
    http.post("/_mock/clock/advance", json={"seconds": 11 * 60})
    assert model_names(http.get("/api/ps").get_json()) == ["llama3.2:latest", "qwen3:8b"]
    released = http.put("/_mock/clock", json={"frozen": False}).get_json()
    assert released["frozen"] is False


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_mock/clock/advance", {"seconds": -1}),
        ("/_mock/clock", {"now": "x"}),
        ("/_mock/load", {"model": 3}),
        ("/_mock/faults", {"route": "GET /api/ps", "kind": "explode"}),
        ("/_mock/faults", {"route": "GET /api/ps", "kind": "status"}),
        ("/_mock/faults", {"route": "GET /api/ps", "kind": "status", "value": 200}),
    ],
)
def test_control_rejects_bad_bodies_with_a_reason(http: FlaskClient, path: str, body: Any) -> None:
    response = http.open(path, method="PUT" if path == "/_mock/clock" else "POST", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_faults_are_listed_and_cleared(http: FlaskClient) -> None:
    listed = http.post(
        "/_mock/faults", json={"route": "GET /api/ps", "kind": "status", "value": 503, "times": 1}
    ).get_json()
    assert _valid("FaultList", listed)["faults"] == [
        {"route": "GET /api/ps", "kind": "status", "value": 503, "times": 1}
    ]
    assert http.get("/api/ps").status_code == 503
    assert http.get("/api/ps").status_code == 200, "used up after one request"
    http.post("/_mock/faults", json={"route": "*", "kind": "status", "value": 500})
    assert http.get("/api/tags").status_code == 500
    assert http.delete("/_mock/faults").get_json() == {"faults": []}
    assert http.get("/api/tags").status_code == 200


def test_request_log_records_ollama_calls_with_secrets_masked(http: FlaskClient) -> None:
    http.delete("/_mock/requests")
    http.get("/api/ps?x=1", headers={"Authorization": "Bearer sekrit", "X-Api-Key": "k3y"})
    log = _valid("RequestLog", http.get("/_mock/requests").get_json())["requests"]
    assert [(entry["method"], entry["path"], entry["status"]) for entry in log] == [("GET", "/api/ps?x=1", 200)]
    assert log[0]["headers"]["Authorization"] == "Bearer ***"
    assert log[0]["headers"]["X-Api-Key"] == "***"
    assert "sekrit" not in str(log)


def test_reset_restores_everything(http: FlaskClient) -> None:
    http.post("/api/generate", json={"model": "smollm2:360m"})
    http.put("/_mock/clock", json={"frozen": True})
    http.post("/_mock/faults", json={"route": "*", "kind": "latency", "value": 1})
    world = _valid("World", http.post("/_mock/reset").get_json())
    assert len(world["running"]) == 3
    assert http.get("/_mock/clock").get_json()["frozen"] is False
    assert http.get("/_mock/faults").get_json() == {"faults": []}


def test_no_control_option_removes_the_control_api() -> None:
    http = create_app(MockConfig(control=False, log_requests=False)).test_client()
    assert http.get("/_mock/world").status_code == 404
