"""The mock's `/api/ps` tells the truth about what requests asked for: reloads, eviction, memory, queue, time.

The key scenarios run against `ollama-mock` served by granian and by waitress, through the real HTTP
stack; the rest against the in-thread test handle.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from ollama_contract_kit.mock_server import MockConfig, MockOllama
from ollama_contract_kit.mock_server.simulation.pacing import Pace
from ollama_contract_kit.mock_server.simulation.scheduler import SERVER_BUSY
from ollama_contract_kit.mock_server.world.fixtures import build_world_document
from ollama_contract_kit.openapi.timestamps import GoTime

from .served import SERVERS, serve_mock
from .worlds import GIB, SEVEN_B_ARCHITECTURE, TINY_SIZES, model, tiny, world


@contextmanager
def served(server: str, tmp_path: Path, data: dict[str, Any], *arguments: str) -> Iterator[str]:
    """`ollama-mock` with `server` on a world, yielding its URL."""
    fixture = tmp_path / "world.json"
    fixture.write_text(json.dumps(data), encoding="utf-8")
    with serve_mock(server, "--fixtures", str(fixture), "--quiet", *arguments) as mock:
        yield f"http://127.0.0.1:{mock.port}"


def running(url: str) -> dict[str, dict[str, Any]]:
    answer = requests.get(url + "/api/ps", timeout=10)
    assert answer.status_code == 200, answer.text
    return {entry["name"]: entry for entry in answer.json()["models"]}


def generate(url: str, **body: Any) -> dict[str, Any]:
    answer = requests.post(url + "/api/generate", json={"stream": False, **body}, timeout=30)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


@pytest.mark.parametrize("server", SERVERS)
def test_num_ctx_reloads_the_runner_and_ps_shows_the_new_context_and_size(server: str, tmp_path: Path) -> None:
    # Loads take a quarter of a second and more here: a reload and a reused runner differ in load_duration.
    with served(server, tmp_path, world(tiny()), "--load-speed", "0.01") as url:
        cold = generate(url, model="tiny", prompt="hi")
        assert running(url)["tiny:latest"]["size"] == TINY_SIZES[4096]
        for context in (2048, 1024):
            reloaded = generate(url, model="tiny", prompt="hi", options={"num_ctx": context})
            entry = running(url)["tiny:latest"]
            assert (entry["context_length"], entry["size"]) == (context, TINY_SIZES[context]), "as the real server"
            assert reloaded["load_duration"] >= 0.2e9, "a new context reloads the runner"
        capped = generate(url, model="tiny", prompt="hi", options={"num_ctx": 8192})
        entry = running(url)["tiny:latest"]
        assert (entry["context_length"], entry["size"]) == (4096, TINY_SIZES[4096]), "capped at the trained context"
        assert capped["load_duration"] >= 0.2e9
        same = generate(url, model="tiny", prompt="hi", options={"num_ctx": 8192})
        assert same["load_duration"] < 0.2e9 <= cold["load_duration"], "the same options reuse the runner"
        temperature = generate(url, model="tiny", prompt="hi", options={"num_ctx": 4096, "temperature": 0.1})
        assert temperature["load_duration"] < 0.2e9, "sampling options never reload"


@pytest.mark.parametrize("server", SERVERS)
def test_the_fourth_model_evicts_the_idle_runner_with_the_shortest_keep_alive(server: str, tmp_path: Path) -> None:
    models = [tiny(name, index) for index, name in enumerate(["a", "b", "c", "d", "e"], start=1)]
    with served(server, tmp_path, world(*models)) as url:  # CPU only: at most 3 models (3 per GPU, one set on CPU)
        for name, keep_alive in (("a", "1h"), ("b", "5m"), ("c", "10m")):
            generate(url, model=name, keep_alive=keep_alive)
        generate(url, model="d", keep_alive="10m")
        assert set(running(url)) == {"a:latest", "c:latest", "d:latest"}, "b had the shortest keep-alive"
        generate(url, model="e", keep_alive="10m")
        # c and d tie on keep-alive: Ollama then takes the weights blob that sorts first (c's digest ...03).
        assert set(running(url)) == {"a:latest", "d:latest", "e:latest"}


def test_a_busy_runner_is_passed_over_for_an_idle_one() -> None:
    models = [tiny(name, index) for index, name in enumerate(["a", "b", "c", "d"], start=1)]
    with in_thread(world(*models), pace=Pace(tokens_per_second=10)) as mock:
        generate(mock.url, model="a", keep_alive="1h")
        generate(mock.url, model="c", keep_alive="10m")
        first_token = threading.Event()
        streaming = threading.Thread(target=_stream_until_done, args=(mock.url, "b", first_token))
        streaming.start()  # b has the shortest keep-alive, but it is answering
        assert first_token.wait(10)
        generate(mock.url, model="d", keep_alive="10m")
        assert set(running(mock.url)) == {"a:latest", "b:latest", "d:latest"}, "c, idle, went instead of busy b"
        streaming.join(10)


def _stream_until_done(url: str, name: str, started: threading.Event) -> None:
    body = {"model": name, "prompt": "tell me a long story", "keep_alive": "5m"}
    with requests.post(url + "/api/generate", json=body, stream=True, timeout=30) as answer:
        for _ in answer.iter_lines():
            started.set()


def in_thread(data: dict[str, Any], **config: Any) -> MockOllama:
    """The in-thread mock serving the world `data` (not started)."""
    return MockOllama(MockConfig(world=build_world_document(data, "test world"), log_requests=False, **config))


def together(call: Callable[[], Any], times: int) -> list[Any]:
    """`call` made `times` times at once; the results in the order they finished."""
    with ThreadPoolExecutor(times) as pool:
        return [future.result(30) for future in as_completed(pool.submit(call) for _ in range(times))]


@pytest.mark.parametrize("server", SERVERS)
def test_a_model_too_big_for_the_free_vram_evicts_then_spills_to_cpu(server: str, tmp_path: Path) -> None:
    seven_b = {"model_info": SEVEN_B_ARCHITECTURE, "size": 4_500_000_000}
    models = [
        model("first", 1, **seven_b),
        model("second", 2, **seven_b),
        model("huge", 3, **seven_b | {"size": 12_000_000_000}),
    ]
    with served(server, tmp_path, world(*models, gpus=("8 GiB",))) as url:
        generate(url, model="first")
        first = running(url)["first:latest"]
        assert first["size_vram"] == first["size"] > 4_500_000_000, "weights, KV cache and compute, all on the GPU"
        generate(url, model="second")
        assert set(running(url)) == {"second:latest"}, "the second did not fit beside the first: it was evicted"
        generate(url, model="huge")
        huge = running(url)["huge:latest"]
        assert set(running(url)) == {"huge:latest"}
        assert 0 < huge["size_vram"] < 8 * GIB < huge["size"], "alone and still too big: part of it runs on the CPU"


def test_the_default_context_follows_the_vram_and_ollama_context_length() -> None:
    big = model("big", 1, size=4_500_000_000, model_info=SEVEN_B_ARCHITECTURE | {"llama.context_length": 131072})
    expected = {(): 4096, ("16 GiB",): 4096, ("24 GiB",): 32768, ("24 GiB", "24 GiB"): 131072}
    for gpus, context in expected.items():
        with in_thread(world(big, gpus=gpus)) as mock:
            generate(mock.url, model="big")
            assert running(mock.url)["big:latest"]["context_length"] == context, gpus
    chosen = world(big, gpus=("24 GiB",), OLLAMA_CONTEXT_LENGTH=8192)
    with in_thread(chosen) as mock:
        generate(mock.url, model="big")
        assert running(mock.url)["big:latest"]["context_length"] == 8192
    with in_thread(chosen, settings={"OLLAMA_CONTEXT_LENGTH": "2048"}) as mock:
        generate(mock.url, model="big")
        assert running(mock.url)["big:latest"]["context_length"] == 2048, "a flag (or variable) beats the world"


@pytest.mark.parametrize("server", SERVERS)
def test_a_burst_beyond_the_queue_gets_the_503(server: str, tmp_path: Path) -> None:
    models = [tiny(name, index) for index, name in enumerate(["a", "b", "c", "d"], start=1)]
    data = world(*models, OLLAMA_MAX_LOADED_MODELS=4)
    # Each load takes about a third of a second; one is loaded at a time and one more may wait.
    with served(server, tmp_path, data, "--max-queue", "1", "--load-speed", "0.02") as url:
        names = iter("abcd")
        answers = together(lambda: requests.post(url + "/api/generate", json={"model": next(names)}, timeout=30), 4)
    refused = [answer for answer in answers if answer.status_code == 503]
    assert len(refused) >= 2 and len(answers) - len(refused) <= 2
    assert all(answer.json() == {"error": SERVER_BUSY} for answer in refused)
    assert all(answer.elapsed.total_seconds() < 0.3 for answer in refused), "refused at once, not after the loads"


@pytest.mark.parametrize("server", SERVERS)
def test_a_stream_arrives_over_time_and_each_chunk_has_its_own_time(server: str, tmp_path: Path) -> None:
    with served(server, tmp_path, world(tiny()), "--tokens-per-second", "20") as url:
        generate(url, model="tiny")
        arrivals, chunks = [], []
        body = {"model": "tiny", "prompt": "why is the sky blue today"}
        with requests.post(url + "/api/generate", json=body, stream=True, timeout=30) as answer:
            for line in answer.iter_lines():
                arrivals.append(time.monotonic())
                chunks.append(json.loads(line))
    tokens = len(chunks) - 1
    assert tokens >= 8
    assert arrivals[-1] - arrivals[0] >= 0.8 * (tokens - 1) / 20, "20 tokens a second, as asked"
    stamps = [GoTime.parse(chunk["created_at"]) for chunk in chunks]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps), "distinct, in order"
    assert any(len(chunk["created_at"].split(".")[1]) > 6 for chunk in chunks), "nanoseconds, as Go writes them"
    final = chunks[-1]
    assert final["eval_count"] == tokens and abs(final["eval_duration"] - tokens * 0.05e9) < 0.01e9


def test_num_parallel_decides_whether_two_requests_generate_side_by_side() -> None:
    for parallel, overlapping in ((1, False), (2, True)):
        mock = in_thread(world(tiny()), pace=Pace(tokens_per_second=40), settings={"OLLAMA_NUM_PARALLEL": parallel})
        with mock:
            generate(mock.url, model="tiny")
            spans = together(lambda: _span(mock.url), 2)  # noqa: B023 - used before the loop moves on
        (first_start, first_end), (second_start, second_end) = sorted(spans)
        assert (second_start < first_end) is overlapping, f"OLLAMA_NUM_PARALLEL={parallel}"


def _span(url: str) -> tuple[GoTime, GoTime]:
    body = {"model": "tiny", "prompt": "count to ten slowly please"}
    with requests.post(url + "/api/generate", json=body, stream=True, timeout=30) as answer:
        stamps = [GoTime.parse(json.loads(line)["created_at"]) for line in answer.iter_lines()]
    return stamps[0], stamps[-2]


def test_requests_waiting_for_a_load_see_the_same_load() -> None:
    pace = Pace(load_bytes_per_second=10e6)
    with in_thread(world(tiny()), pace=pace) as mock:
        started = time.monotonic()
        results = together(lambda: generate(mock.url, model="tiny", prompt="hi"), 3)
        elapsed = time.monotonic() - started
        assert list(running(mock.url)) == ["tiny:latest"]
    load = pace.load_seconds(TINY_SIZES[4096])
    # One load each, one after another, would take three loads; a busy machine adds well under one.
    assert elapsed < 2 * load, "one load for all three, not one each"
    assert all(result["load_duration"] >= 0.5 * load * 1e9 for result in results), "each waited for it"


def test_expires_at_moves_while_a_fresh_runner_answers_then_starts_at_the_end() -> None:
    with in_thread(world(tiny()), pace=Pace(tokens_per_second=10)) as mock:
        first_token = threading.Event()
        streaming = threading.Thread(target=_stream_until_done, args=(mock.url, "tiny", first_token))
        streaming.start()
        assert first_token.wait(10)
        before = GoTime.parse(running(mock.url)["tiny:latest"]["expires_at"])
        time.sleep(0.15)
        during = GoTime.parse(running(mock.url)["tiny:latest"]["expires_at"])
        assert during > before, "busy on its first request: now + keep-alive, at each call"
        streaming.join(10)
        ended = GoTime.parse(running(mock.url)["tiny:latest"]["expires_at"])
        assert ended == GoTime.parse(running(mock.url)["tiny:latest"]["expires_at"]), "idle: fixed"
        generate(mock.url, model="tiny", prompt="hi", keep_alive="1h")
        generate(mock.url, model="tiny", prompt="hi")
        left = GoTime.parse(running(mock.url)["tiny:latest"]["expires_at"]).seconds_since(mock.state.clock.instant())
        assert 3590 < left <= 3600, "a request's keep-alive sticks to the runner"


def test_a_keep_alive_that_overflows_go_unloads_after_the_request() -> None:
    with in_thread(world(tiny())) as mock:
        answer = generate(mock.url, model="tiny", keep_alive=1e99)
        assert answer["done_reason"] == "load", "not an unload request: the model loads"
        assert running(mock.url) == {}, "1e99 s overflows Go's duration: negative, so it expires at once"


def test_models_with_the_same_weights_share_one_runner() -> None:
    with in_thread(world(tiny())) as mock:
        created = requests.post(
            mock.url + "/api/create", json={"model": "pirate", "from": "tiny", "system": "Arr.", "stream": False}
        )
        assert created.status_code == 200, created.text
        generate(mock.url, model="pirate", prompt="hi")
        generate(mock.url, model="tiny", prompt="hi")
        assert list(running(mock.url)) == ["pirate:latest"], "one runner, named for the model that loaded it"
        assert running(mock.url)["pirate:latest"]["details"]["parent_model"] == "", "ps never says the parent"
        generate(mock.url, model="tiny", keep_alive=0)
        assert running(mock.url) == {}, "unloading either name unloads the shared runner"
