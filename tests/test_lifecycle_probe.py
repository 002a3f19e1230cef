"""Which installed model the lifecycle checks load, and what counts as left as found."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from requests.structures import CaseInsensitiveDict

from ollama_contract_kit.contract_tests.lifecycle import ProbeModel, missing_after, probe_candidates
from ollama_contract_kit.contract_tests.target import Answer
from ollama_contract_kit.openapi.timestamps import format_timestamp

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=timezone.utc)


def _tag(name: str, size: int, family: str = "llama", **extra: Any) -> dict[str, Any]:
    return {"name": name, "size": size, "details": {"family": family, "families": [family]}, **extra}


def _names(installed: list[Any], running: set[str] | None = None) -> list[str]:
    return [model["name"] for model in probe_candidates({"models": installed}, running or set())]


def test_smallest_first_and_running_models_last() -> None:
    installed = [_tag("big:8b", 5_000), _tag("tiny:1b", 700), _tag("mid:3b", 2_000)]
    assert _names(installed) == ["tiny:1b", "mid:3b", "big:8b"]
    assert _names(installed, {"tiny:1b"}) == ["mid:3b", "big:8b", "tiny:1b"]


def test_listed_capabilities_decide() -> None:
    installed = [_tag("vectors:30m", 60, capabilities=["embedding"]), _tag("chat:1b", 700, capabilities=["completion"])]
    assert _names(installed) == ["chat:1b"]


def test_cloud_and_remote_models_are_never_tried() -> None:
    installed = [
        _tag("gpt-oss:120b-cloud", 384),
        _tag("deepseek-v3.1:671b-cloud", 400, remote_host="https://ollama.com:443"),
        _tag("kimi:cloud", 10),
        _tag("proxied:latest", 20, remote_model="proxied"),
        _tag("chat:1b", 700),
    ]
    assert _names(installed) == ["chat:1b"]


def test_without_capabilities_embedding_looking_models_go_last() -> None:
    installed = [
        _tag("nomic-embed-text:latest", 274, family="nomic-bert"),
        _tag("all-minilm:22m", 45, family="bert"),
        _tag("quiet:1m", 10, family="mystery"),
        _tag("chat:1b", 700),
    ]
    assert _names(installed) == ["quiet:1m", "chat:1b", "all-minilm:22m", "nomic-embed-text:latest"]


def test_malformed_tags_give_no_candidates() -> None:
    assert probe_candidates(None, set()) == []
    assert probe_candidates({"models": None}, set()) == []
    assert _names([{"name": "x"}, {"size": 1}, "text", _tag("ok:1b", 1)]) == ["ok:1b"]


def _probe(running_before: list[tuple[str, timedelta]]) -> ProbeModel:
    entries = tuple({"name": name, "expires_at": format_timestamp(NOW + left)} for name, left in running_before)
    load_answer = Answer("POST", "/api/generate", 200, CaseInsensitiveDict(), b"{}")
    return ProbeModel("tiny:1b", 700, load_answer, entries)


def test_missing_after_names_unexpired_models_no_longer_running() -> None:
    probe = _probe([("a:1b", timedelta(hours=1)), ("b:1b", timedelta(seconds=2)), ("c:1b", timedelta(days=1))])
    assert missing_after(probe, NOW, {"c:1b"}) == ["a:1b"]  # b:1b was about to expire anyway
    assert missing_after(probe, NOW, {"a:1b", "c:1b"}) == []
    assert probe.was_running is None
    assert _probe([("tiny:1b", timedelta(minutes=5))]).was_running is not None
