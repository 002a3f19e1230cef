"""32 threads at once mixing load, unload, list and clock moves against a running mock: no 5xx, always consistent.

Each thread does a fixed number of rounds, so the test asks the same of a fast machine and a loaded one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from ollama_contract_kit.contract_tests.rules import ps_problems
from ollama_contract_kit.mock_server import MockOllama
from ollama_contract_kit.openapi import validator_for

pytestmark = pytest.mark.slow  # subprocesses or long runs: `make check` leaves them out

THREADS = 32
#: Load/list/unload/list cycles per worker thread, and clock moves per clock thread.
ROUNDS = 6
DETAILS = {
    "parent_model": "",
    "format": "gguf",
    "family": "llama",
    "families": ["llama"],
    "parameter_size": "1B",
    "quantization_level": "Q4_0",
}


@pytest.fixture(scope="module")
def mock() -> Iterator[MockOllama]:
    world = {
        "models": [
            {"name": f"worker{index}:1b", "size": 1000 + index, "digest": f"{index:064x}", "details": DETAILS}
            for index in range(THREADS)
        ],
        # Every worker's model stays loaded: the cap on loaded models is not what this test is about.
        "machine": {"environment": {"OLLAMA_MAX_LOADED_MODELS": THREADS}},
    }
    with MockOllama(log_requests=False) as server:
        server.use_world(world)
        yield server


_COUNT_LOCK = threading.Lock()


def _count(counts: dict[str, int], what: str) -> None:
    with _COUNT_LOCK:
        counts[what] += 1


def _worker(url: str, index: int, start: threading.Barrier, problems: list[str], counts: dict[str, int]) -> None:
    own = f"worker{index}:1b"
    start.wait()  # every thread is ready: the rounds overlap from the first request
    with requests.Session() as session:
        for _ in range(ROUNDS):
            if index % 8 == 0:  # a few threads move the clock and read; models load forever, so none expire
                answer = session.post(url + "/_mock/clock/advance", json={"seconds": 30}, timeout=10)
                _expect(answer, problems, "advance")
                _listed(session, url, problems)
                _count(counts, "advance")
                continue
            loaded = session.post(url + "/api/generate", json={"model": own, "keep_alive": -1}, timeout=10)
            _expect(loaded, problems, "load")
            if own not in _listed(session, url, problems):
                problems.append(f"{own} missing after its load was acknowledged")
            unloaded = session.post(url + "/api/generate", json={"model": own, "keep_alive": 0}, timeout=10)
            _expect(unloaded, problems, "unload")
            if own in _listed(session, url, problems):
                problems.append(f"{own} listed after its unload was acknowledged")
            _count(counts, "cycles")


def _expect(answer: requests.Response, problems: list[str], what: str) -> None:
    if answer.status_code != 200:
        problems.append(f"{what} answered {answer.status_code}: {answer.text[:100]}")


def _listed(session: requests.Session, url: str, problems: list[str]) -> set[str]:
    answer = session.get(url + "/api/ps", timeout=10)
    _expect(answer, problems, "list")
    body: Any = answer.json()
    problems += [str(p) for p in validator_for("ollama", "PsResponse").problems(body)] + ps_problems(body)
    return {model["name"] for model in body["models"]}


def test_concurrent_load_unload_list_and_clock_stay_consistent(mock: MockOllama) -> None:
    problems: list[str] = []
    counts = {"cycles": 0, "advance": 0}
    start = threading.Barrier(THREADS)
    threads = [
        threading.Thread(target=_worker, args=(mock.url, index, start, problems, counts)) for index in range(THREADS)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    print(
        f"\nconcurrency: {counts['cycles']} load/list/unload/list cycles and {counts['advance']} clock moves "
        f"by {THREADS} threads in {time.monotonic() - started:.1f} s"
    )
    assert problems == []
    clock_threads = len(range(0, THREADS, 8))
    assert counts == {"cycles": (THREADS - clock_threads) * ROUNDS, "advance": clock_threads * ROUNDS}
    assert not any(entry["status"] >= 500 for entry in mock.requests)
