"""Proxies side by side in front of one upstream (the granian mock): `ollama-contract proxy`, Prism's
validating proxy and a plain nginx reverse proxy, on `GET /api/ps` at 1 and 32 connections and on a
streamed `POST /api/generate` at 32 connections; then the streamed generate again in front of a canned
upstream replaying the mock's answer (bench/canned_upstream.py), where the proxy, not the upstream, is the
limit. Figures, not assertions; loopback only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

GENERATE = '{"model":"mistral:7b","prompt":"hi"}'
WORKLOADS = ("ps c1", "ps c32", "generate c32")
#: In front of the canned upstream: the streamed generate alone.
CANNED_WORKLOADS = ("generate c32",)
Figure = tuple[float, float, float]


@dataclass
class ProxyFigures:
    """One server's figures: for each workload, requests/s, p50 ms and p99 ms (None when it failed)."""

    name: str
    figures: dict[str, Figure | None]


def nginx_config(folder: Path, port: int, upstream_port: int) -> Path:
    """A loopback reverse proxy to the upstream, keeping connections alive and streaming unbuffered."""
    temp = folder / "nginx"
    temp.mkdir(exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    config = folder / "nginx.conf"
    config.write_text(
        f"""{user}worker_processes 1;
daemon off;
pid {temp}/nginx.pid;
error_log {temp}/error.log crit;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy; fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi; scgi_temp_path {temp}/scgi;
  upstream ollama {{ server 127.0.0.1:{upstream_port}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://ollama; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_set_header Host $http_host; proxy_buffering off;
    }}
  }}
}}
"""
    )
    return config


def ensure_nginx() -> str | None:
    """The nginx binary, installed from Debian's packages when run as root and missing."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "nginx-light"], check=False, capture_output=True)
        found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    return found


def measure_proxies(
    upstream_port: int,
    seconds: int,
    folder: Path,
    prism: Path | None,
    start: Callable[[list[str], str], tuple[subprocess.Popen[bytes], float, int]],
    stop: Callable[[subprocess.Popen[bytes]], None],
    wrk: Callable[..., tuple[float, float, float]],
    free_port: Callable[[], int],
    workloads: tuple[str, ...] = WORKLOADS,
    upstream_name: str = "the mock",
) -> list[ProxyFigures]:
    """Each proxy started in turn in front of the upstream, loaded with `workloads`."""
    script = folder / "generate.lua"
    script.write_text(
        f"wrk.method = 'POST'\nwrk.body = '{GENERATE}'\nwrk.headers['Content-Type'] = 'application/json'\n"
    )
    upstream = f"http://127.0.0.1:{upstream_port}"
    kit = str(Path(sys.executable).with_name("ollama-contract"))
    spec = str(Path(__file__).resolve().parent.parent / "openapi" / "ollama.yaml")
    nginx = ensure_nginx()

    def ours(port: int) -> list[str]:
        return [kit, "proxy", "--quiet", "--upstream", upstream, "--port", str(port)]

    def prism_proxy(port: int) -> list[str]:
        return [str(prism), "proxy", spec, upstream, "-p", str(port), "-h", "127.0.0.1", "-v", "silent"]

    def nginx_proxy(port: int) -> list[str]:
        return [str(nginx), "-p", str(folder), "-c", str(nginx_config(folder, port, upstream_port))]

    servers: list[tuple[str, Callable[[int], list[str]] | None]] = [
        (f"{upstream_name} directly (no proxy)", None),
        ("ollama-contract proxy", ours),
    ]
    if prism is not None:
        servers.append(("Prism 5 proxy (validating)", prism_proxy))
    if nginx is not None:
        servers.append(("nginx (plain reverse proxy)", nginx_proxy))
    results = []
    for name, command in servers:
        port = upstream_port if command is None else free_port()
        process = None if command is None else start(command(port), f"http://127.0.0.1:{port}/api/ps")[0]
        try:
            results.append(ProxyFigures(name, _load(port, seconds, script, wrk, workloads)))
        finally:
            if process is not None:
                stop(process)
    return results


def _load(
    port: int, seconds: int, script: Path, wrk: Callable[..., Figure], workloads: tuple[str, ...]
) -> dict[str, Figure | None]:
    ps, generate = f"http://127.0.0.1:{port}/api/ps", f"http://127.0.0.1:{port}/api/generate"
    shapes = {"ps c1": (ps, 1, None), "ps c32": (ps, 32, None), "generate c32": (generate, 32, script)}
    figures: dict[str, Figure | None] = {}
    for workload in workloads:
        url, connections, lua = shapes[workload]
        try:
            wrk(url, 2, connections, lua)  # warm-up
            figures[workload] = wrk(url, seconds, connections, lua)
        except (SystemExit, subprocess.CalledProcessError):
            figures[workload] = None
    return figures


def record_canned_answers(url: str, out: Path) -> None:
    """What the canned upstream replays: the mock's streamed generate (as lines), its ps and its version."""
    import requests

    with requests.post(url + "/api/generate", data=GENERATE, stream=True, timeout=30) as answer:
        lines = [line.decode() + "\n" for line in answer.iter_lines() if line]
    answers = {
        "generate": lines,
        "ps": requests.get(url + "/api/ps", timeout=30).json(),
        "version": requests.get(url + "/api/version", timeout=30).json()["version"],
    }
    out.write_text(json.dumps(answers), encoding="utf-8")


def canned_upstream_command(port: int, answers: Path) -> list[str]:
    """granian serving bench/canned_upstream.py on `port` (four threads, as the mock), replaying `answers`."""
    granian = str(Path(sys.executable).with_name("granian"))
    return ["env", f"CANNED={answers}", granian, "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
            "--blocking-threads", "4", "--working-dir", str(Path(__file__).resolve().parent), "--log-level", "error",
            "canned_upstream:app"]  # fmt: skip


def print_proxies(
    results: list[ProxyFigures], workloads: tuple[str, ...] = WORKLOADS, upstream: str = "the granian mock"
) -> None:
    """The table: requests/s and latency per workload, then ours over Prism's and nginx's."""
    shown = {"ps c1": ("p50 ms", 1), "ps c32": ("p99 ms", 2), "generate c32": ("p99 ms", 2)}
    title = f"proxy in front of {upstream}"
    print(f"\n{title:40} " + " ".join(f"{w + ' req/s':>17} {shown[w][0]:>7}" for w in workloads))
    for row in results:
        cells = []
        for workload in workloads:
            found = row.figures.get(workload)
            cells.append(f"{found[0]:>17.0f} {found[shown[workload][1]]:>7.2f}" if found else f"{'failed':>17} {'':>7}")
        print(f"{row.name:40} " + " ".join(cells))
    ours = next((row for row in results if row.name.startswith("ollama-contract")), None)
    for other in (row for row in results if row.name.startswith(("Prism", "nginx"))):
        ratios = []
        for workload in workloads:
            mine, theirs = (ours.figures.get(workload) if ours else None), other.figures.get(workload)
            ratios.append(f"{workload} x{mine[0] / theirs[0]:.2f}" if mine and theirs else f"{workload} -")
        print(f"ours/{other.name.split(' ')[0]}: " + ", ".join(ratios))
    direct = results[0].figures.get("ps c1")
    through = ours.figures.get("ps c1") if ours else None
    if direct and through:
        print(f"added at p50 on one connection: {through[1] - direct[1]:.2f} ms")
