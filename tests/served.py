"""`ollama-mock` run as users run it: a subprocess on a free loopback port, with granian or waitress."""

from __future__ import annotations

import http.client
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MOCK = [sys.executable, "-m", "ollama_contract_kit.mock_server.cli"]
SERVERS = ["granian", "waitress"]


@dataclass
class Served:
    """A running `ollama-mock` process and its port."""

    process: subprocess.Popen[str]
    port: int

    def memory_kib(self, field: str = "VmRSS") -> int:
        """Resident memory of the server and its children (granian's worker), in KiB; `VmHWM` for the peak."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        total = 0
        for process in [str(self.process.pid), *children]:
            status = Path(f"/proc/{process}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith(f"{field}:")))
        return total

    def ps_seconds(self, token: str | None = None, timeout: float = 2) -> float:
        """Seconds `GET /api/ps` took to answer 200 on a new connection (TimeoutError past `timeout`)."""
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", "/api/ps", headers={"Authorization": f"Bearer {token}"} if token else {})
            assert connection.getresponse().status == 200
        finally:
            connection.close()
        return time.perf_counter() - started

    def stop(self, how: signal.Signals = signal.SIGTERM, timeout: float = 10) -> str:
        """Signal the server, wait for it (at most `timeout` seconds) and return what it wrote to stderr."""
        self.process.send_signal(how)
        _, errors = self.process.communicate(timeout=timeout)
        return errors


@contextmanager
def serve_mock(server: str, *arguments: str) -> Iterator[Served]:
    """Start `ollama-mock --port 0 --server SERVER ARGUMENTS`, wait until it accepts, stop it afterwards."""
    with subprocess.Popen(
        [*MOCK, "--port", "0", "--server", server, *arguments], stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stderr is not None
        found = re.search(r"http://127\.0\.0\.1:(\d+)", process.stderr.readline())
        assert found, "the mock says where it serves"
        served = Served(process, int(found.group(1)))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", served.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        try:
            yield served
        finally:
            if process.poll() is None:
                served.stop()


def allow_open_files(count: int) -> bool:
    """Raise this process's soft limit of open files to at least `count`; False when the hard limit is lower."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < count:
        return False
    if soft != resource.RLIM_INFINITY and soft < count:
        resource.setrlimit(resource.RLIMIT_NOFILE, (count, hard))
    return True
