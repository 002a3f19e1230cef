"""The client's typed models: every body the contract allows parses and round-trips; broken ones raise."""

from __future__ import annotations

import copy
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ollama_contract_kit.client import ContractError, ModelDetails, RunningModel, parse_ps_body
from ollama_contract_kit.openapi import load_document
from ollama_contract_kit.openapi.timestamps import format_timestamp, parse_timestamp

from .conftest import load_json, real_captures
from .schema_data import schema_values
from .test_spec import BAD_BODIES

PS_BODIES = schema_values("ollama", "PsResponse")


def test_model_fields_mirror_the_contract() -> None:
    schemas = load_document("ollama")["components"]["schemas"]
    assert {f.name for f in fields(RunningModel)} - {"extra"} == set(schemas["RunningModel"]["properties"])
    assert {f.name for f in fields(ModelDetails)} - {"extra"} == set(schemas["ModelDetails"]["properties"])


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PS_BODIES)
def test_every_body_the_contract_allows_parses_and_round_trips(body: dict[str, Any]) -> None:
    models = parse_ps_body(body, "generated")
    assert len(models) == len(body["models"])
    for model, raw in zip(models, body["models"], strict=True):
        assert (model.name, model.model, model.size, model.digest) == (
            raw["name"],
            raw["model"],
            raw["size"],
            raw["digest"],
        )
        assert model.size_vram == raw.get("size_vram") and model.context_length == raw.get("context_length")
        assert model.details.families == (
            None if raw["details"]["families"] is None else tuple(raw["details"]["families"])
        )
        assert model.expires_at.utcoffset() is not None
        assert model.expires_at == parse_timestamp(format_timestamp(model.expires_at)), "round trip through Go's format"
        assert set(model.extra) == set(raw) - {f.name for f in fields(RunningModel)}


@pytest.mark.parametrize("capture", real_captures(), ids=lambda path: path.name[:40])
def test_real_bodies_parse(capture: Any) -> None:
    models = parse_ps_body(load_json(capture), capture.name)
    assert all(model.expires_at.tzinfo is not None for model in models)


@pytest.mark.parametrize(("case", "body", "path", "reason"), BAD_BODIES, ids=[case[0] for case in BAD_BODIES])
def test_broken_bodies_raise_contract_error_naming_the_field(case: str, body: Any, path: str, reason: str) -> None:
    with pytest.raises(ContractError) as raised:
        parse_ps_body(body, "http://x/api/ps")
    assert raised.value.problems[0].startswith(path)
    assert "http://x/api/ps" in str(raised.value)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    PS_BODIES.filter(lambda body: len(body["models"]) > 0),
    st.sampled_from(["name", "size", "digest", "details", "expires_at"]),
    st.data(),
)
def test_breaking_a_required_field_of_any_allowed_body_raises(
    body: dict[str, Any], field: str, data: st.DataObject
) -> None:
    broken = copy.deepcopy(body)
    index = data.draw(st.integers(0, len(broken["models"]) - 1))
    if data.draw(st.booleans()):
        del broken["models"][index][field]
    else:
        broken["models"][index][field] = [] if field != "details" else "gguf"
    with pytest.raises(ContractError) as raised:
        parse_ps_body(broken, "generated")
    assert f"$.models[{index}]" in raised.value.problems[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-08-05T13:35:25.892481+02:00", datetime(2025, 8, 5, 11, 35, 25, 892481, tzinfo=timezone.utc)),
        ("2024-08-05T10:56:26.588713988Z", datetime(2024, 8, 5, 10, 56, 26, 588713, tzinfo=timezone.utc)),
        ("2318-12-01T18:35:38.854775807Z", datetime(2318, 12, 1, 18, 35, 38, 854775, tzinfo=timezone.utc)),
        ("2026-01-01T00:00:00-07:00", datetime(2026, 1, 1, 7, 0, 0, tzinfo=timezone.utc)),
        ("2026-01-01T05:30:00.5+05:30", datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=timezone.utc)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=timezone.utc)),
    ],
)
def test_expires_at_forms_parse_as_aware_instants(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text", ["2026-01-01T00:00:00", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00+0000", "2026-02-30T00:00:00Z"]
)
def test_invalid_timestamps_raise(text: str) -> None:
    with pytest.raises(ValueError, match="2026"):
        parse_timestamp(text)


def _model(size: int, size_vram: int | None, expires_in: timedelta) -> RunningModel:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    details = ModelDetails("", "gguf", "llama", ("llama",), "8B", "Q4_0")
    return RunningModel("m:latest", "m:latest", size, "a" * 64, details, now + expires_in, size_vram, 4096)


def test_helpers_for_expiry_and_vram_share() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    split = _model(1000, 250, timedelta(minutes=5))
    assert split.expires_in(now) == timedelta(minutes=5) and not split.is_forever(now)
    assert split.vram_share == 0.25 and split.id == "a" * 12
    assert _model(1000, None, timedelta(days=365 * 292)).is_forever(now)
    assert _model(1000, None, timedelta(0)).vram_share is None
    assert _model(0, 0, timedelta(0)).vram_share is None
    with pytest.raises(AttributeError):
        split.size = 3  # type: ignore[misc]
