"""Faults by control API, by start-up option and by request header, over a real socket."""

from __future__ import annotations

import time

import pytest
import requests

from ollama_contract_kit.mock_server import MockOllama
from ollama_contract_kit.mock_server.serving.faults import FaultError, parse_fault_option


def test_latency_fault_delays_the_answer(ollama_mock: MockOllama) -> None:
    ollama_mock.add_fault("GET /api/ps", "latency", 300, times=1)
    started = time.perf_counter()
    assert requests.get(ollama_mock.url + "/api/ps", timeout=5).status_code == 200
    assert time.perf_counter() - started >= 0.3


def test_status_fault_answers_ollama_error_body(ollama_mock: MockOllama) -> None:
    ollama_mock.add_fault("GET /api/ps", "status", 503)
    response = requests.get(ollama_mock.url + "/api/ps", timeout=5)
    assert response.status_code == 503
    assert response.json() == {"error": "server busy, please try again.  maximum pending requests exceeded"}


def test_truncate_fault_cuts_the_body_mid_transfer(ollama_mock: MockOllama) -> None:
    ollama_mock.add_fault("GET /api/ps", "truncate", times=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(ollama_mock.url + "/api/ps", timeout=5)
    assert requests.get(ollama_mock.url + "/api/ps", timeout=5).ok


def test_malformed_fault_answers_invalid_json_with_200(ollama_mock: MockOllama) -> None:
    ollama_mock.add_fault("GET /api/ps", "malformed", times=1)
    response = requests.get(ollama_mock.url + "/api/ps", timeout=5)
    assert response.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


def test_drop_fault_closes_the_connection_without_an_answer(ollama_mock: MockOllama) -> None:
    ollama_mock.add_fault("GET /api/ps", "drop", times=1)
    with pytest.raises(requests.exceptions.ConnectionError) as raised:
        requests.get(ollama_mock.url + "/api/ps", timeout=5)
    assert "without response" in str(raised.value) or "Connection aborted" in str(raised.value)
    assert requests.get(ollama_mock.url + "/api/ps", timeout=5).ok, "the server keeps serving"


@pytest.mark.parametrize(
    ("header", "status"), [("status=500", 500), ("status=429", 429), ("latency=1,status=502", 502)]
)
def test_fault_header_applies_to_one_request(ollama_mock: MockOllama, header: str, status: int) -> None:
    response = requests.get(ollama_mock.url + "/api/ps", headers={"X-Ollama-Mock-Fault": header}, timeout=5)
    assert response.status_code == status
    assert "error" in response.json()
    assert requests.get(ollama_mock.url + "/api/ps", timeout=5).ok


def test_bad_fault_header_is_a_400_naming_the_header(ollama_mock: MockOllama) -> None:
    response = requests.get(ollama_mock.url + "/api/ps", headers={"X-Ollama-Mock-Fault": "explode"}, timeout=5)
    assert response.status_code == 400
    assert "X-Ollama-Mock-Fault" in response.json()["error"]


def test_faults_are_per_route(ollama_mock: MockOllama) -> None:
    ollama_mock.add_fault("GET /api/tags", "status", 500)
    assert requests.get(ollama_mock.url + "/api/ps", timeout=5).ok
    assert requests.get(ollama_mock.url + "/api/tags", timeout=5).status_code == 500


def test_without_faults_the_mock_honours_the_contract(ollama_mock: MockOllama) -> None:
    ollama_mock.add_fault("GET /api/ps", "status", 500)
    ollama_mock.reset()
    assert requests.get(ollama_mock.url + "/api/ps", timeout=5).ok


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("GET /api/ps=status:503", ("GET /api/ps", "status", 503, None)),
        ("*=latency:200,times=3", ("*", "latency", 200, 3)),
        ("POST /api/generate=drop", ("POST /api/generate", "drop", None, None)),
    ],
)
def test_fault_option_parses(option: str, expected: tuple[object, ...]) -> None:
    fault = parse_fault_option(option)
    assert (fault.route, fault.kind.value, fault.value, fault.times) == expected


@pytest.mark.parametrize(
    "option", ["status:503", "GET /api/ps=boom", "GET /api/ps=status", "GET /api/ps=latency:x", "/api/ps=drop"]
)
def test_bad_fault_option_says_why(option: str) -> None:
    with pytest.raises(FaultError, match="--fault"):
        parse_fault_option(option)
