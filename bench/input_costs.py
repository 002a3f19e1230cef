"""What hostile or huge input costs the mock: a 1 MB keep_alive refused, a 2,000-model world replaced, a
world of a million non-objects refused, lone surrogates read as U+FFFD.

The first two were quadratic once (8 s and 3.7 s), the third took 3.6 GB, the last answered 500;
`make bench` prints these figures beside the load figures. Only loopback addresses are used; nothing
is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from worlds import running_world


@dataclass
class Cost:
    """One input's median and worst seconds over a few tries, and the status it got."""

    name: str
    median_seconds: float
    worst_seconds: float
    status: int


def _timed(request: urllib.request.Request) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        error.read()
        status = error.code
    return time.perf_counter() - started, status


def _measure(name: str, request: urllib.request.Request, tries: int) -> Cost:
    runs = [_timed(request) for _ in range(tries)]
    seconds = [elapsed for elapsed, _ in runs]
    return Cost(name, statistics.median(seconds), max(seconds), runs[-1][1])


def measure_input_costs(url: str, tries: int = 3) -> list[Cost]:
    """Time each hostile input against the mock at `url` (its control API must be on)."""
    keep_alive = json.dumps({"model": "mistral:7b", "keep_alive": "0s" * 500_000 + "5"}).encode()
    nested = b'{"model":"mistral:7b","options":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    json_type = {"Content-Type": "application/json"}
    costs = [
        _measure(
            "POST /api/generate, 1 MB keep_alive",
            urllib.request.Request(url + "/api/generate", keep_alive, json_type, method="POST"),
            tries,
        ),
        _measure(
            "POST /api/chat, JSON nested 100,000 deep",
            urllib.request.Request(url + "/api/chat", nested, json_type, method="POST"),
            tries,
        ),
    ]
    non_objects = b'{"models":[' + b",".join([b"1"] * 1_000_000) + b"]}"
    costs.append(
        _measure(
            "PUT /_mock/world, 1,000,000 non-objects",
            urllib.request.Request(url + "/_mock/world", non_objects, json_type, method="PUT"),
            tries,
        )
    )
    lone_surrogates = {
        "POST /api/generate, keep_alive \\ud800": ("/api/generate", b'{"model":"mistral:7b","keep_alive":"\\ud800"}'),
        "POST /v1/chat/completions, \\ud800 said": (
            "/v1/chat/completions",
            b'{"model":"mistral:7b","messages":[{"role":"user","content":"a\\ud800b"}]}',
        ),
    }
    for name, (path, body) in lone_surrogates.items():
        costs.append(_measure(name, urllib.request.Request(url + path, body, json_type, method="POST"), tries))
    for models in (2000, 10_000):
        costs.append(
            _measure(
                f"PUT /_mock/world, {models:,} running models",
                urllib.request.Request(
                    url + "/_mock/world", json.dumps(running_world(models)).encode(), json_type, method="PUT"
                ),
                tries,
            )
        )
    return costs


def print_costs(costs: list[Cost]) -> None:
    """The figures as a table."""
    print(f"{'input':44} {'median s':>9} {'worst s':>8} {'status':>7}")
    for cost in costs:
        print(f"{cost.name:44} {cost.median_seconds:9.3f} {cost.worst_seconds:8.3f} {cost.status:7d}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:11434", help="a running ollama-mock (loopback)")
    parser.add_argument("--tries", type=int, default=3, help="tries per input (default 3)")
    arguments = parser.parse_args()
    print_costs(measure_input_costs(arguments.url.rstrip("/"), arguments.tries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
