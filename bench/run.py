"""Benchmark the mock against Stoplight Prism on GET /api/ps: start-up, requests/s, latency, memory;
and what hostile or huge input costs it (bench/input_costs.py).

Run with `make bench` (it installs wrk and Prism when it can). Prints figures; asserts nothing.
Only loopback addresses are used; every load run is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

from input_costs import measure_input_costs, print_costs
from proxies import (
    CANNED_WORKLOADS,
    canned_upstream_command,
    measure_proxies,
    print_proxies,
    record_canned_answers,
)
from scheduler_costs import INSTANT, measure_scheduler, print_scheduler_cost, scheduler_world
from worlds import running_world

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PRISM_DIR = HERE / ".prism"
PRISM = PRISM_DIR / "node_modules" / ".bin" / "prism"
SPEC = REPO / "openapi" / "ollama.yaml"


@dataclass
class Figures:
    """What one server measured."""

    name: str
    startup_seconds: float
    startup_worst_seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    peak_rss_mb: float
    body_bytes: int


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def world(models: int, path: Path) -> Path:
    """A fixture file with `models` models, all running forever (the spec's example model first)."""
    path.write_text(json.dumps(running_world(models)))
    return path


def wait_first_answer(
    url: str, process: subprocess.Popen[bytes], started: float, limit: float = 30
) -> tuple[float, int]:
    while time.perf_counter() - started < limit:
        if process.poll() is not None:
            raise SystemExit(f"bench: the server at {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                body = answer.read()
                return time.perf_counter() - started, len(body)
        except OSError:
            time.sleep(0.002)
    raise SystemExit(f"bench: {url} did not answer within {limit} s")


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue += children.get(pid, [])
    return found


def memory_mb(root: int, field: str) -> list[float]:
    """A /proc status field (`VmHWM` peak, `VmRSS` now) of each of the server's processes, in MB."""
    readings = []
    for pid in process_tree(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(rf"{field}:\s+(\d+) kB", status)
        if match:
            readings.append(int(match.group(1)) / 1024)
    return readings


def peak_rss_mb(root: int) -> float:
    """The largest peak resident set (VmHWM) among the server's processes (granian: its worker)."""
    return max(memory_mb(root, "VmHWM"), default=0.0)


def wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> tuple[float, float, float]:
    """Requests/s, p50 and p99 (ms) of `url` under wrk (`script`: a Lua file that shapes the request)."""
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    output = subprocess.run(
        command + (["-s", str(script)] if script else []),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]

    def percentile(label: str) -> float:
        value, unit = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", output).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    if re.search(r"Non-2xx or 3xx responses", output):
        raise SystemExit(f"bench: {url} answered errors under load:\n{output}")
    return rps, percentile("50"), percentile("99")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start(command: list[str], url: str) -> tuple[subprocess.Popen[bytes], float, int]:
    """Start a server; return it, the seconds to its first answer, and that answer's size."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        startup, body_bytes = wait_first_answer(url, process, started)
    except BaseException:
        stop(process)
        raise
    return process, startup, body_bytes


def measure(name: str, command: list[str], port: int, seconds: int, connections: int, starts: int) -> Figures:
    """Start the server `starts` times (start-up: median and worst), then load the last one."""
    url = f"http://127.0.0.1:{port}/api/ps"
    startups = []
    for _ in range(starts - 1):
        process, startup, _ = start(command, url)
        stop(process)
        startups.append(startup)
    process, startup, body_bytes = start(command, url)
    startups.append(startup)
    try:
        wrk(url, 2, connections)  # warm-up
        rps, p50, p99 = wrk(url, seconds, connections)
        rss = peak_rss_mb(process.pid)
    finally:
        stop(process)
    return Figures(
        name,
        round(statistics.median(startups), 3),
        round(max(startups), 3),
        round(rps),
        round(p50, 2),
        round(p99, 2),
        round(rss, 1),
        body_bytes,
    )


def mock_command(port: int, fixture: Path, server: str) -> list[str]:
    executable = Path(sys.executable).with_name("ollama-mock")
    return [str(executable), "--port", str(port), "--quiet", "--fixtures", str(fixture), "--server", server]


def ensure_tools() -> bool:
    """wrk is required; Prism is installed with npm when possible. Returns whether Prism is available."""
    if shutil.which("wrk") is None:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
            if shutil.which("wrk") is None:
                subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True)
                subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
        if shutil.which("wrk") is None:
            raise SystemExit("bench: wrk is needed: install it (Debian/Ubuntu: sudo apt-get install wrk)")
    if not PRISM.exists() and shutil.which("npm"):
        subprocess.run(
            [
                "npm",
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(PRISM_DIR),
                "@stoplight/prism-cli@5",
            ],
            check=False,
            capture_output=True,
        )
    return PRISM.exists()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="seconds of load per run (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    parser.add_argument("--starts", type=int, default=5, help="start-ups measured per server (default 5)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    arguments = parser.parse_args()
    prism_available = ensure_tools()
    results: list[Figures] = []
    with tempfile.TemporaryDirectory() as folder:
        one = world(1, Path(folder) / "one.json")
        thousand = world(1000, Path(folder) / "thousand.json")
        for server in ("granian", "waitress"):
            port = free_port()
            results.append(
                measure(
                    f"ollama-mock ({server})",
                    mock_command(port, one, server),
                    port,
                    arguments.seconds,
                    arguments.connections,
                    arguments.starts,
                )
            )
        port = free_port()
        results.append(
            measure(
                "ollama-mock (granian), 1000 models",
                mock_command(port, thousand, "granian"),
                port,
                arguments.seconds,
                arguments.connections,
                arguments.starts,
            )
        )
        port = free_port()
        installed = Path(folder) / "installed.json"
        installed.write_text(json.dumps(scheduler_world()))
        process, _, _ = start([*mock_command(port, installed, "granian"), *INSTANT], f"http://127.0.0.1:{port}/api/ps")
        try:
            scheduling = measure_scheduler(f"http://127.0.0.1:{port}")
        finally:
            stop(process)
        proxies = partial(
            measure_proxies,
            seconds=arguments.seconds,
            folder=Path(folder),
            prism=PRISM if prism_available else None,
            start=start,
            stop=stop,
            wrk=wrk,
            free_port=free_port,
        )
        # Instant loads and tokens from here on: what input costs and what the proxies cost, not the model's pace.
        port = free_port()
        process, _, _ = start([*mock_command(port, one, "granian"), *INSTANT], f"http://127.0.0.1:{port}/api/ps")
        try:
            costs = measure_input_costs(f"http://127.0.0.1:{port}")
            process.terminate()
            process.wait(timeout=10)
            process, _, _ = start([*mock_command(port, one, "granian"), *INSTANT], f"http://127.0.0.1:{port}/api/ps")
            proxied = proxies(port)
            answers = Path(folder) / "canned.json"
            record_canned_answers(f"http://127.0.0.1:{port}", answers)
        finally:
            stop(process)
        port = free_port()
        process, _, _ = start(canned_upstream_command(port, answers), f"http://127.0.0.1:{port}/api/ps")
        try:
            canned = proxies(port, workloads=CANNED_WORKLOADS, upstream_name="the canned upstream")
        finally:
            stop(process)
        if prism_available:
            port = free_port()
            command = [str(PRISM), "mock", str(SPEC), "-p", str(port), "-h", "127.0.0.1", "-v", "silent"]
            results.append(
                measure(
                    "Prism 5 (same spec, same example)",
                    command,
                    port,
                    arguments.seconds,
                    arguments.connections,
                    arguments.starts,
                )
            )
    print(
        f"{'server':38} {'start s':>8} {'worst s':>8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'RSS MB':>8} "
        f"{'body B':>8}"
    )
    for item in results:
        print(
            f"{item.name:38} {item.startup_seconds:8.3f} {item.startup_worst_seconds:8.3f} "
            f"{item.requests_per_second:9.0f} {item.p50_ms:8.2f} "
            f"{item.p99_ms:8.2f} {item.peak_rss_mb:8.1f} {item.body_bytes:8d}"
        )
    ours = results[0]
    if prism_available:
        prism = results[-1]
        print(
            f"\nours/Prism: requests/s x{ours.requests_per_second / prism.requests_per_second:.2f}, "
            f"start-up x{ours.startup_seconds / prism.startup_seconds:.2f}, "
            f"p99 x{ours.p99_ms / prism.p99_ms:.2f}, RSS x{ours.peak_rss_mb / prism.peak_rss_mb:.2f}"
        )
    else:
        print("\nPrism not measured: install Node.js and npm (make bench installs @stoplight/prism-cli itself)")
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, {arguments.connections} connections, "
        f"{arguments.seconds} s per run; start-up: median and worst of {arguments.starts} starts"
    )
    print_proxies(proxied)
    print_proxies(canned, CANNED_WORKLOADS, "a canned upstream (the mock's answer replayed)")
    print("\nthe scheduler (granian, instant loads):")
    print_scheduler_cost(scheduling)
    print("\nhostile and huge input (granian; median and worst of 3):")
    print_costs(costs)
    if arguments.json:
        figures = {
            "servers": [asdict(item) for item in results],
            "proxies": [asdict(item) for item in proxied],
            "proxies_canned_upstream": [asdict(item) for item in canned],
            "inputs": [asdict(cost) for cost in costs],
        }
        arguments.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
