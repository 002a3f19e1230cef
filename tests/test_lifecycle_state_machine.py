"""A Hypothesis state machine drives the mock through random load / unload / clock / list sequences."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from ollama_contract_kit.contract_tests.rules import ps_problems
from ollama_contract_kit.mock_server import MockConfig, create_app
from ollama_contract_kit.openapi import validator_for
from ollama_contract_kit.openapi.timestamps import parse_timestamp

LOADABLE = [
    "smollm2:360m",
    "llama3.2:latest",
    "qwen3:8b",
    "codellama:7b",
    "hf.co/bartowski/Ministral-8B-Instruct-2410-GGUF:IQ4_XS",
]
KEEP_ALIVES = st.one_of(st.integers(1, 7200), st.sampled_from(["30s", "5m", "1h", "-1", -1, "0", 0, None]))
FOREVER = timedelta(days=365 * 200)


class MockLifecycle(RuleBasedStateMachine):
    """Our own model of what should be listed, checked against /api/ps after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.app = create_app(MockConfig(log_requests=False))
        self.http = self.app.test_client()
        self.clock = self.app.extensions["ollama_mock"].clock
        self.now = self.clock.freeze(datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc))
        # A machine where nothing is evicted: this model of the lifecycle knows keep-alives, not the scheduler.
        roomy = {"gpus": [{"memory": "80 GiB"}], "environment": {"OLLAMA_MAX_LOADED_MODELS": 10}}
        self.http.put("/_mock/world", json=self.http.get("/_mock/world").get_json() | {"running": [], "machine": roomy})
        self.expected: dict[str, tuple[datetime, float]] = {}

    def _seconds(self, keep_alive: object, model: str) -> float | None:
        if keep_alive is None:
            return self.expected[model][1] if model in self.expected else 300.0
        if keep_alive == "-1":
            return None  # refused: no unit
        value = float(str(keep_alive).rstrip("smh")) * {"s": 1, "m": 60, "h": 3600}.get(str(keep_alive)[-1], 1)
        return 1e12 if value < 0 else value

    @rule(model=st.sampled_from(LOADABLE), keep_alive=KEEP_ALIVES)
    def load(self, model: str, keep_alive: object) -> None:
        body = {"model": model} if keep_alive is None else {"model": model, "keep_alive": keep_alive}
        response = self.http.post("/api/generate", json=body)
        seconds = self._seconds(keep_alive, model)
        if seconds is None:
            assert response.status_code == 400
            return
        assert response.status_code == 200
        if seconds == 0:
            assert response.get_json()["done_reason"] == "unload"
            self.expected.pop(model, None)
        else:
            assert response.get_json()["done_reason"] == "load"
            self.expected[model] = (self.now + (FOREVER if seconds >= 1e12 else timedelta(seconds=seconds)), seconds)

    @rule(model=st.sampled_from(LOADABLE))
    def unload(self, model: str) -> None:
        assert self.http.post("/api/chat", json={"model": model, "keep_alive": 0}).get_json()["done_reason"] == "unload"
        self.expected.pop(model, None)

    @rule(seconds=st.integers(0, 4000))
    def advance(self, seconds: int) -> None:
        self.now = self.clock.advance(seconds)
        self.expected = {name: value for name, value in self.expected.items() if value[0] > self.now}

    @invariant()
    def ps_matches_the_model(self) -> None:
        body = self.http.get("/api/ps").get_json()
        assert validator_for("ollama", "PsResponse").problems(body) == []
        assert ps_problems(body, now=self.now, grace_seconds=0) == []
        listed = {model["name"]: parse_timestamp(model["expires_at"]) for model in body["models"]}
        assert set(listed) == set(self.expected)
        for name, expires_at in listed.items():
            if self.expected[name][1] < 1e12:
                assert expires_at == self.expected[name][0], name


MockLifecycle.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestMockLifecycle = pytest.mark.slow(MockLifecycle.TestCase)
