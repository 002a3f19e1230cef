"""Fixture files: the embedded world is realistic, and each kind of bad fixture fails clearly."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from ollama_contract_kit.mock_server import FixtureError, read_fixture_file
from ollama_contract_kit.mock_server.world.fixtures import DEFAULT_FIXTURE, default_fixture
from ollama_contract_kit.openapi import validator_for
from ollama_contract_kit.openapi.loader import parse_yaml

DIGEST = "297281b699fc51376006233ca400cd664c4f7b80ed88a47ef084f1e4b089803b"
MODEL = f"""
  - name: smollm2:360m
    size: 725566512
    digest: {DIGEST}
    details: {{parent_model: "", format: gguf, family: llama, families: [llama],
              parameter_size: 361.82M, quantization_level: F16}}
"""


def test_embedded_default_world_is_valid_against_the_world_schema() -> None:
    text = (
        resources.files("ollama_contract_kit.mock_server.world").joinpath(DEFAULT_FIXTURE).read_text(encoding="utf-8")
    )
    assert validator_for("control", "World").problems(parse_yaml(text)) == []


def test_default_world_has_the_variety_users_meet() -> None:
    world = default_fixture()
    names = {model.display_name for model in world.models}
    running = {seed.model.display_name: seed for seed in world.running}
    assert any(seed.model.loaded.size_vram == seed.model.loaded.size for seed in world.running), "a GPU model runs"
    assert any(0 < seed.model.loaded.size_vram < seed.model.loaded.size for seed in world.running), "a split model runs"
    assert any(seed.model.loaded.size_vram == 0 for seed in world.running), "a CPU-only model runs"
    assert any(name.startswith("hf.co/") for name in names)
    assert any(model.details["families"] is None for model in world.models)
    assert any(seed.keep_alive_seconds and seed.keep_alive_seconds > 1e9 for seed in world.running), "one runs forever"
    assert names - set(running), "some models are installed but not running"


def test_the_world_mirroring_the_real_server_is_valid_and_says_its_show_facts() -> None:
    mirror = Path(__file__).resolve().parent / "data" / "real-ollama-0.33" / "world.yaml"
    assert validator_for("control", "World").problems(parse_yaml(mirror.read_text(encoding="utf-8"))) == []
    world = read_fixture_file(mirror)
    tiny = next(model for model in world.models if model.display_name == "tiny:latest")
    assert world.models_path == "/usr/share/ollama/.ollama/models" and world.version == "0.33.0-rc2"
    assert tiny.weights == "sha256:becf69aa05085e52d212bdd07b8d48f7702a2ede34a0f4335b7a07f2848c2001"
    assert tiny.model_info and tiny.model_info["llama.attention.head_count_kv"] == 2


def test_yaml_timestamps_stay_text(tmp_path: Path) -> None:
    fixture = tmp_path / "world.yaml"
    fixture.write_text(f"models:{MODEL}    modified_at: 2025-06-02T08:00:00Z\n")
    world = read_fixture_file(fixture)
    assert world.models[0].modified_at.to_datetime().year == 2025


def test_json_fixture_is_accepted(tmp_path: Path) -> None:
    fixture = tmp_path / "world.json"
    fixture.write_text(
        '{"models": [{"name": "tiny", "size": 1, "digest": "' + DIGEST + '", "details": {"parent_model": "", '
        '"format": "gguf", "family": "llama", "families": null, "parameter_size": "1M", '
        '"quantization_level": "Q4_0"}}],'
        ' "running": [{"model": "TINY:latest", "keep_alive": "1h"}]}'
    )
    world = read_fixture_file(fixture)
    assert world.models[0].display_name == "tiny:latest"
    assert world.running[0].keep_alive_seconds == 3600


BAD_FIXTURES = [
    ("not YAML", "models: [\n  - name: x\n   size: 1", "", "not valid YAML"),
    ("not JSON", '{"models": [}', "", "not valid JSON"),
    ("top level a list", "- a\n- b\n", "$", "is not of type 'object'"),
    ("models missing", "running: []\n", "$", "'models' is a required property"),
    ("unknown top-level key (typo)", f"models:{MODEL}runing: []\n", "$", "'runing' was unexpected"),
    (
        "digest with prefix",
        f"models:{MODEL.replace(DIGEST, 'sha256:' + DIGEST)}",
        "$.models[0].digest",
        "does not match",
    ),
    ("size negative", f"models:{MODEL.replace('725566512', '-1')}", "$.models[0].size", "less than the minimum"),
    ("families a string", f"models:{MODEL.replace('[llama]', 'llama')}", "$.models[0].details.families", "not of type"),
    (
        "details missing a field",
        f"models:{MODEL.replace('family: llama, ', '')}",
        "$.models[0].details",
        "'family' is a required",
    ),
    (
        "invalid model name",
        f"models:{MODEL.replace('smollm2:360m', 'bad name!')}",
        "$.models[0].name",
        "not a valid Ollama model name",
    ),
    (
        "model installed twice",
        f"models:{MODEL}{MODEL.replace('smollm2:360m', 'SmolLM2:360m')}",
        "$.models[1].name",
        "installed twice",
    ),
    (
        "running model not installed",
        f"models:{MODEL}running:\n  - model: llama3.2\n",
        "$.running[0].model",
        "not one of the installed",
    ),
    (
        "keep_alive without unit",
        f"models:{MODEL}running:\n  - model: smollm2:360m\n    keep_alive: '10'\n",
        "$.running[0].keep_alive",
        "",
    ),
    (
        "keep_alive and expires_at",
        f"models:{MODEL}running:\n  - model: smollm2:360m\n    keep_alive: 5m\n"
        "    expires_at: '2030-01-01T00:00:00Z'\n",
        "$.running[0]",
        "should not be valid",
    ),
    (
        "size_vram above size",
        f"models:{MODEL}running:\n  - model: smollm2:360m\n    size: 10\n    size_vram: 20\n",
        "$.running[0].size_vram",
        "more than the loaded size",
    ),
    (
        "weights without sha256:",
        f"models:{MODEL}    weights: {DIGEST}\n",
        "$.models[0].weights",
        "does not match",
    ),
    (
        "a tensor without shape",
        f"models:{MODEL}    tensors: [{{name: output.weight, type: F16}}]\n",
        "$.models[0].tensors[0]",
        "'shape' is a required property",
    ),
    ("models_path empty", f"models_path: ''\nmodels:{MODEL}", "$.models_path", "should be non-empty"),
    (
        "expires_at without zone",
        f"models:{MODEL}running:\n  - model: smollm2:360m\n    expires_at: '2030-01-01T00:00:00'\n",
        "$.running[0].expires_at",
        "does not match",
    ),
]


@pytest.mark.parametrize(("case", "text", "path", "reason"), BAD_FIXTURES, ids=[case[0] for case in BAD_FIXTURES])
def test_bad_fixture_names_file_path_and_reason(tmp_path: Path, case: str, text: str, path: str, reason: str) -> None:
    fixture = tmp_path / "bad-world.yaml"
    fixture.write_text(text)
    with pytest.raises(FixtureError) as raised:
        read_fixture_file(fixture)
    message = str(raised.value)
    assert str(fixture) in message
    assert path in message
    assert reason in message


def test_missing_fixture_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match="no-such.yaml: no such file"):
        read_fixture_file(tmp_path / "no-such.yaml")


def test_unreadable_fixture_is_reported_not_raised(tmp_path: Path) -> None:
    fixture = tmp_path / "binary.yaml"
    fixture.write_bytes(b"\xff\xfe\x00models")
    with pytest.raises(FixtureError, match="binary.yaml: cannot read it"):
        read_fixture_file(fixture)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    fixture = tmp_path / "world.yaml"
    fixture.write_text(f"models:{MODEL}running:\n  - model: a\n  - model: b\n")
    with pytest.raises(FixtureError) as raised:
        read_fixture_file(fixture)
    assert raised.value.problems == [
        "$.running[0].model: 'a' is not one of the installed models ($.models)",
        "$.running[1].model: 'b' is not one of the installed models ($.models)",
    ]
