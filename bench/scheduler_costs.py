"""What the scheduler costs: 1,000 loads and unloads spread over 200 installed models, through HTTP.

The mock serves with instant loads and tokens (`--load-speed 0 --tokens-per-second 0`), so the figure
is the simulation's own work (queue, eviction, sizes) plus the HTTP round trip. At most 3 models stay
loaded (a CPU-only server), so most loads evict one. Only loopback addresses are used; nothing is asserted.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass

from worlds import installed_world

#: Installed models the loads are spread over, and how many load/unload requests are sent.
MODELS = 200
REQUESTS = 1000
#: The mock's flags for this run: work takes no simulated time.
INSTANT = ["--load-speed", "0", "--tokens-per-second", "0"]


@dataclass
class SchedulerCost:
    """How long the requests took, in all and each."""

    requests: int
    seconds: float
    loaded_at_the_end: int

    @property
    def milliseconds_each(self) -> float:
        """The mean time of one request."""
        return self.seconds / self.requests * 1000


def scheduler_world() -> dict[str, object]:
    """The world of this run."""
    return installed_world(MODELS)


def _post(url: str, body: dict[str, object]) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()


def measure_scheduler(base_url: str) -> SchedulerCost:
    """Load models round-robin, unloading every third one right after, and time it all."""
    names = [model["name"] for model in installed_world(MODELS)["models"]]  # type: ignore[index]
    started = time.perf_counter()
    for index in range(REQUESTS):
        name = names[(index * 7) % MODELS]
        keep_alive = 0 if index % 3 == 2 else "5m"
        _post(base_url + "/api/generate", {"model": name, "keep_alive": keep_alive})
    seconds = time.perf_counter() - started
    with urllib.request.urlopen(base_url + "/api/ps", timeout=10) as answer:
        loaded = len(json.loads(answer.read())["models"])
    return SchedulerCost(REQUESTS, seconds, loaded)


def print_scheduler_cost(cost: SchedulerCost) -> None:
    """One line of figures."""
    print(
        f"{cost.requests} loads/unloads over {MODELS} installed models: {cost.seconds:.2f} s "
        f"({cost.milliseconds_each:.2f} ms each), {cost.loaded_at_the_end} loaded at the end"
    )
