"""Soak the mock: mixed traffic for a few minutes on loopback, printing requests, non-2xx answers by
kind, and resident memory over time.

    python bench/soak.py --seconds 180 --server granian

Every client is bounded (timeouts, a fixed number of threads, a fixed duration). The traffic is what
apps send (ps polling, tags, show, loads and unloads, streamed chats, embeddings, /v1) mixed with
what careless or hostile clients send (bad JSON, unknown models, oversized bodies). Expected refusals
are counted by kind; any 5xx or broken connection is an error. Asserts nothing; exits 1 on errors.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests
from run import free_port, memory_mb

Step = Callable[[requests.Session, str], requests.Response]


def _post(path: str, body: object) -> Step:
    data = json.dumps(body).encode()
    return lambda session, url: session.post(url + path, data=data, timeout=30)


def _raw(path: str, data: bytes) -> Step:
    return lambda session, url: session.post(url + path, data=data, timeout=30)


def _get(path: str) -> Step:
    return lambda session, url: session.get(url + path, timeout=30)


def _streamed(path: str, body: object) -> Step:
    def step(session: requests.Session, url: str) -> requests.Response:
        response = session.post(url + path, json=body, stream=True, timeout=30)
        for _ in response.iter_lines():
            pass
        return response

    return step


HELLO = [{"role": "user", "content": "hi"}]
#: (kind, weight, request): weights roughly as a dashboard plus a chat app would send them.
TRAFFIC: list[tuple[str, int, Step]] = [
    ("GET /api/ps", 30, _get("/api/ps")),
    ("GET /api/tags", 10, _get("/api/tags")),
    ("GET /api/version", 5, _get("/api/version")),
    ("POST /api/show", 5, _post("/api/show", {"model": "llama3.2"})),
    ("load (generate, empty prompt)", 5, _post("/api/generate", {"model": "qwen3:8b", "keep_alive": "10m"})),
    ("unload (generate, keep_alive 0)", 3, _post("/api/generate", {"model": "qwen3:8b", "keep_alive": 0})),
    ("streamed chat", 8, _streamed("/api/chat", {"model": "llama3.2", "messages": HELLO})),
    ("generate", 5, _post("/api/generate", {"model": "llama3.2", "prompt": "hi", "stream": False})),
    ("embed", 4, _post("/api/embed", {"model": "nomic-embed-text", "input": ["a", "b"]})),
    ("/v1 chat", 4, _post("/v1/chat/completions", {"model": "llama3.2", "messages": HELLO})),
    ("GET /v1/models", 2, _get("/v1/models")),
    ("bad JSON", 3, _raw("/api/generate", b'{"model": "llama3.2",')),
    ("unknown model", 3, _post("/api/chat", {"model": "nope:1b", "messages": []})),
    ("keep_alive '-1' (refused)", 2, _post("/api/generate", {"model": "llama3.2", "keep_alive": "-1"})),
    ("deep JSON", 1, _raw("/api/chat", b"[" * 20_000 + b"]" * 20_000)),
    ("body over --max-body", 1, _raw("/api/chat", b"x" * (2 * 1024 * 1024))),
    ("GET /_mock/world", 1, _get("/_mock/world")),
]


class Tally:
    """Answers counted by kind and status, and the errors (5xx, broken connections)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.total = 0
        self.refused: collections.Counter[tuple[str, int]] = collections.Counter()
        self.errors: collections.Counter[tuple[str, str]] = collections.Counter()

    def add(self, kind: str, status: int | None, failure: str = "") -> None:
        with self.lock:
            self.total += 1
            if status is None or status >= 500:
                self.errors[(kind, failure or str(status))] += 1
            elif status >= 300:
                self.refused[(kind, status)] += 1


def _client(url: str, until: float, tally: Tally, seed: int) -> None:
    chooser = random.Random(seed)
    kinds = [kind for kind, _, _ in TRAFFIC]
    weights = [weight for _, weight, _ in TRAFFIC]
    steps = {kind: step for kind, _, step in TRAFFIC}
    with requests.Session() as session:
        while time.monotonic() < until:
            kind = chooser.choices(kinds, weights)[0]
            try:
                tally.add(kind, steps[kind](session, url).status_code)
            except requests.RequestException as error:
                if kind == "body over --max-body":  # the server may close before the upload ends
                    tally.add(kind, 413)
                else:
                    tally.add(kind, None, type(error).__name__)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=180, help="how long to soak (default 180)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--server", choices=("granian", "waitress"), default="granian")
    parser.add_argument("--every", type=int, default=15, help="seconds between memory readings (default 15)")
    arguments = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(Path(sys.executable).with_name("ollama-mock")), "--port", str(port), "--quiet"]
    process = subprocess.Popen([*command, "--server", arguments.server, "--max-body", "1M"], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(url, timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        tally = Tally()
        started = time.monotonic()
        until = started + arguments.seconds
        clients = [
            threading.Thread(target=_client, args=(url, until, tally, seed), daemon=True)
            for seed in range(arguments.clients)
        ]
        for client in clients:
            client.start()
        print(f"soak: {arguments.server}, {arguments.clients} clients, {arguments.seconds} s on {url}")
        print(f"{'elapsed s':>9} {'requests':>9} {'req/s':>7} {'RSS MB':>7}")
        last_total, last_time = 0, started
        while any(client.is_alive() for client in clients):
            time.sleep(min(arguments.every, max(0.1, until - time.monotonic() + 0.5)))
            now, total = time.monotonic(), tally.total
            rate = (total - last_total) / max(now - last_time, 1e-9)
            print(
                f"{now - started:9.0f} {total:9d} {rate:7.0f} {sum(memory_mb(process.pid, 'VmRSS')):7.1f}", flush=True
            )
            last_total, last_time = total, now
        print(f"\n{tally.total} requests; refusals by kind (expected):")
        for (kind, status), count in sorted(tally.refused.items()):
            print(f"  {status}  {kind:34} {count:8d}")
        print("errors (5xx or broken connections):" + (" none" if not tally.errors else ""))
        for (kind, failure), count in sorted(tally.errors.items()):
            print(f"  {failure:22} {kind:34} {count:8d}")
        return 1 if tally.errors else 0
    except KeyboardInterrupt:
        print("soak: interrupted", file=sys.stderr)
        return 130
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    sys.exit(main())
