"""`ollama-mock`: serve the mock, or `ollama-mock record` a live server into a fixture file."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ollama_contract_kit.client.errors import OllamaClientError
from ollama_contract_kit.commandline.arguments import byte_size, command_parser, seconds, whole_number
from ollama_contract_kit.commandline.console import run_command
from ollama_contract_kit.commandline.files import check_writable
from ollama_contract_kit.commandline.headers import InvalidHeaders, parse_headers
from ollama_contract_kit.openapi.releases import NEWEST, OLDEST

from .app import create_app
from .config import DEFAULT_MAX_BODY, MockConfig
from .server import DEFAULT_THREADS, IDLE_TIMEOUT, MockServerError
from .serving.faults import Fault, FaultError, parse_fault_option
from .serving.servers import GRANIAN_THREADS, SERVERS, default_server, reserve_port, serve_granian, serve_waitress
from .simulation.machine import SETTINGS, MachineError
from .simulation.pacing import Pace
from .world.fixtures import FixtureError, read_fixture_file, version_problems

EXIT_CODES = """exit codes:
  0  stopped cleanly (SIGINT/SIGTERM)
  1  cannot serve (port in use, address unavailable)
  2  bad arguments, fixture file or fault"""
RECORD_EXIT_CODES = """exit codes:
  0  recorded
  2  bad arguments, or the fixture file cannot be written
  3  the live server is unreachable or answered an error
  130  interrupted (Ctrl-C, SIGTERM): nothing was written"""


def plural(count: int, noun: str) -> str:
    """`1 model`, `3 models`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _timezone(text: str) -> tzinfo | None:
    if text == "local":
        return None
    if text.upper() in ("UTC", "Z"):
        return timezone.utc
    if text[:1] in "+-" and len(text) == 6 and text[3] == ":":
        try:
            hours, minutes = int(text[1:3]), int(text[4:6])
        except ValueError:
            pass
        else:
            sign = -1 if text[0] == "-" else 1
            if hours > 23 or minutes > 59:
                raise argparse.ArgumentTypeError(f"an offset runs from -23:59 to +23:59, got {text!r}")
            return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise argparse.ArgumentTypeError(
            f"expected local, UTC, ±hh:mm or a zone name like Europe/Berlin, got {text!r}"
        ) from None


def _release(text: str) -> str:
    problems = version_problems(text.strip(), "")
    if problems:
        raise argparse.ArgumentTypeError(problems[0].removeprefix(": "))
    return text.strip()


def _fault(text: str) -> Fault:
    try:
        return parse_fault_option(text)
    except FaultError as error:
        raise argparse.ArgumentTypeError(str(error).removeprefix(f"--fault {text!r}: ")) from None


#: The server settings a flag sets: the flags, the variable, the value's type, its name, and what it does.
_SETTING_FLAGS: tuple[tuple[tuple[str, ...], str, Any, str, str], ...] = (
    (("--max-loaded-models", "--max-loaded"), "OLLAMA_MAX_LOADED_MODELS", whole_number(0, 10_000), "N",
     "models loaded at once before the idle one goes (0: 3 per GPU)"),
    (("--num-parallel",), "OLLAMA_NUM_PARALLEL", whole_number(1, 1024), "N",
     "requests a runner serves at once (default 1)"),
    (("--max-queue",), "OLLAMA_MAX_QUEUE", whole_number(0, 1_000_000), "N",
     "requests waiting for a load before 503 server busy (default 512)"),
    (("--context-length",), "OLLAMA_CONTEXT_LENGTH", whole_number(0, 16_777_216), "N",
     "the default context (0: by VRAM, 4096/32768/262144)"),
    (("--keep-alive",), "OLLAMA_KEEP_ALIVE", str, "DURATION",
     "how long an idle model stays loaded, e.g. 5m, 1h, -1 (default 5m)"),
)  # fmt: skip


def serve_parser() -> argparse.ArgumentParser:
    """The command line of `ollama-mock` (serving)."""
    parser = command_parser(
        "ollama-mock",
        "Serve a mock Ollama (GET /api/ps and its neighbours) from fixture models. "
        "Run `ollama-mock record --help` to snapshot a live server into a fixture.",
        EXIT_CODES,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=whole_number(0, 65535), default=11434, help="port (default 11434, Ollama's)")
    parser.add_argument("--fixtures", type=Path, help="a JSON or YAML world file (default: the embedded models)")
    parser.add_argument("--base-path", default="", help="serve everything under this prefix, e.g. /ollama")
    parser.add_argument(
        "--token",
        default=os.environ.get("OLLAMA_MOCK_TOKEN"),
        help="require 'Authorization: Bearer TOKEN' (default $OLLAMA_MOCK_TOKEN)",
    )
    parser.add_argument("--no-control", action="store_true", help="do not serve the control API under /_mock/")
    parser.add_argument(
        "--origins",
        default=os.environ.get("OLLAMA_ORIGINS", ""),
        help="extra allowed CORS origins, comma-separated, like OLLAMA_ORIGINS (default $OLLAMA_ORIGINS)",
    )
    parser.add_argument(
        "--ollama-version",
        type=_release,
        default=None,
        metavar="V",
        help=f"speak as Ollama release V (its /api/version and wire format), {'.'.join(map(str, OLDEST))} "
        f"to {NEWEST} (default: the fixture's version, else {NEWEST})",
    )
    parser.add_argument(
        "--timezone",
        type=_timezone,
        default=None,
        help="zone of expires_at: local (default), UTC, +05:30, Europe/Berlin",
    )
    parser.add_argument(
        "--unload-delay",
        type=seconds(allow_zero=True),
        default=0.0,
        help="seconds an unloaded model stays listed (default 0)",
    )
    parser.add_argument(
        "--pull-seconds",
        type=seconds(allow_zero=True),
        default=0.0,
        help="seconds the download of a pull or push takes, for testing progress bars (default 0: instant)",
    )
    settings = parser.add_argument_group(
        "server settings",
        "As Ollama reads them: the flag, else the environment variable of that name, else the fixture's "
        "machine.environment, else Ollama's default.",
    )
    for flags, variable, kind, metavar, meaning in _SETTING_FLAGS:
        settings.add_argument(*flags, dest=variable, type=kind, metavar=metavar, help=f"${variable}: {meaning}")
    pace = parser.add_argument_group("pace", "How fast the simulated machine works (real time while the clock runs).")
    pace.add_argument(
        "--tokens-per-second",
        type=seconds(allow_zero=True),
        default=Pace().tokens_per_second,
        metavar="N",
        help=f"tokens generated a second (default {Pace().tokens_per_second:g}; 0: as fast as possible)",
    )
    pace.add_argument(
        "--load-speed",
        type=seconds(allow_zero=True),
        default=Pace().load_bytes_per_second / 1e9,
        metavar="GB_PER_S",
        help=f"gigabytes of a model loaded a second (default {Pace().load_bytes_per_second / 1e9:g}; 0: instant)",
    )
    parser.add_argument(
        "--max-body",
        type=byte_size,
        default=DEFAULT_MAX_BODY,
        metavar="SIZE",
        help="refuse request bodies larger than this with 413, e.g. 64M (default), 1G; blob uploads are exempt",
    )
    parser.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="ROUTE=KIND[:VALUE][,times=N]",
        help="a fault from the start, e.g. 'GET /api/ps=status:503' or '*=latency:200' (repeatable)",
    )
    parser.add_argument(
        "--threads",
        type=whole_number(1, 256),
        default=None,
        help=f"threads running the app (default {GRANIAN_THREADS} with granian, where each slow upload holds one; "
        f"{DEFAULT_THREADS} with waitress)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=whole_number(1, 86_400),
        default=IDLE_TIMEOUT,
        metavar="S",
        help=f"close a connection that sends nothing for S seconds: idle, or in a request head or body "
        f"(default {IDLE_TIMEOUT})",
    )
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default=None,
        help="HTTP server: granian (default where processes can fork; fastest) or waitress",
    )
    parser.add_argument(
        "--strict-replies",
        action="store_true",
        help="strict replay (for CI): refuse with 400 a generating request no reply rule of the world matches, "
        "instead of the default answer (a world's strict_replies: true does the same)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    parser.add_argument(
        "--check", action="store_true", help="validate the fixture file and the faults as a start would, and exit"
    )
    return parser


def record_parser() -> argparse.ArgumentParser:
    """The command line of `ollama-mock record`."""
    parser = command_parser(
        "ollama-mock record",
        "Snapshot a live server (version, models and their /api/show, running models) into a fixture file for"
        " --fixtures.",
        RECORD_EXIT_CODES,
    )
    parser.add_argument("--url", help="the live server (default: $OLLAMA_HOST or 127.0.0.1:11434)")
    parser.add_argument("--headers", help="extra headers: JSON, a .json file, or quoted pseudo-JSON")
    parser.add_argument("--out", type=Path, required=True, help="the fixture file to write (.json, else YAML)")
    parser.add_argument("--timeout", type=seconds(allow_zero=True), default=10.0, help="seconds to wait (default 10)")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="record /api/show's full GGUF arrays (tokenizer tokens, scores, merges: megabytes for a real model);"
        " without it, a verbose /api/show of the recorded world derives them",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `ollama-mock`; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["record"]:
        return record(arguments[1:])
    return serve(arguments)


def record(argv: Sequence[str]) -> int:
    """`ollama-mock record`."""
    arguments = record_parser().parse_args(argv)
    from ollama_contract_kit.client.api import OllamaClient

    from .world.record import snapshot, write_fixture

    problem = check_writable(arguments.out)
    if problem is not None:
        print(f"ollama-mock record: --out: {problem}", file=sys.stderr)
        return 2

    def run() -> int:
        try:
            with OllamaClient(
                arguments.url, headers=parse_headers(arguments.headers, "--headers"), timeout=arguments.timeout
            ) as client:
                recorded = snapshot(client, verbose=arguments.verbose)
            write_fixture(recorded.document, arguments.out)
        except OllamaClientError as error:
            print(f"ollama-mock record: {error}", file=sys.stderr)
            return 2 if error.exit_code == 2 else 3
        except (FixtureError, InvalidHeaders, OSError) as error:
            print(f"ollama-mock record: {error}", file=sys.stderr)
            return 2
        document = recorded.document
        print(
            f"ollama-mock record: wrote {plural(len(document['models']), 'model')} "
            f"({len(document['running'])} running) to {arguments.out}",
            file=sys.stderr,
        )
        for name, how in recorded.estimated.items():
            print(
                f"ollama-mock record: {name} was not loaded; its loaded footprint is estimated {how}", file=sys.stderr
            )
        return 0

    return run_command("ollama-mock record", run)


def server_settings(arguments: argparse.Namespace) -> dict[str, str]:
    """The `OLLAMA_*` settings of the command line, else of the environment (checked when the world is applied)."""
    chosen = {name: os.environ[name] for name in SETTINGS if os.environ.get(name, "").strip()}
    return chosen | {
        name: str(getattr(arguments, name)) for name in SETTINGS if getattr(arguments, name, None) is not None
    }


def serve(argv: Sequence[str]) -> int:
    """`ollama-mock` (serving)."""
    arguments = serve_parser().parse_args(argv)
    try:
        world = read_fixture_file(arguments.fixtures) if arguments.fixtures else None
    except FixtureError as error:
        print(f"ollama-mock: --fixtures {error}", file=sys.stderr)
        return 2
    config = MockConfig(
        world=world,
        base_path=arguments.base_path,
        token=arguments.token or None,
        control=not arguments.no_control,
        origins=tuple(origin for origin in arguments.origins.split(",") if origin.strip()),
        bind_host=arguments.host,
        timezone=arguments.timezone,
        unload_delay=arguments.unload_delay,
        settings=server_settings(arguments),
        pace=Pace(tokens_per_second=arguments.tokens_per_second, load_bytes_per_second=arguments.load_speed * 1e9),
        pull_seconds=arguments.pull_seconds,
        ollama_version=arguments.ollama_version,
        max_body=arguments.max_body,
        faults=tuple(arguments.fault),
        log_requests=not arguments.quiet,
        strict_replies=arguments.strict_replies,
    )
    try:
        app = create_app(config)  # --check builds it too: a fault the start refuses is refused here
    except FaultError as error:
        print(f"ollama-mock: --fault: {error}", file=sys.stderr)
        return 2
    except MachineError as error:
        print(f"ollama-mock: {error}", file=sys.stderr)
        return 2
    if arguments.check:
        faults = f", and {plural(len(config.faults), 'valid fault')}" if config.faults else ""
        print(f"ollama-mock: {arguments.fixtures or 'the embedded world'} is a valid world{faults}", file=sys.stderr)
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    server = arguments.server or default_server()
    threads = arguments.threads or (GRANIAN_THREADS if server == "granian" else DEFAULT_THREADS)
    try:
        port = reserve_port(arguments.host, arguments.port)
    except MockServerError as error:
        print(f"ollama-mock: {error}", file=sys.stderr)
        return 1
    state = app.extensions["ollama_mock"]
    host = f"[{arguments.host}]" if ":" in arguments.host else arguments.host
    url = f"http://{host}:{port}{config.normalized_base_path()}"
    print(
        f"ollama-mock: serving Ollama {state.world.version} on {url} with {server} "
        f"({plural(len(state.world.installed()), 'model')} installed, {len(state.scheduler.listing().models)} running"
        f"{'; control API at ' + url + '/_mock/' if config.control else ''}"
        f"{'; bearer token required' if config.token else ''})",
        file=sys.stderr,
        flush=True,
    )
    if state.not_started:
        cap = state.scheduler.machine.max_loaded(state.world.release)
        reason = f"OLLAMA_MAX_LOADED_MODELS {cap}: evicted by later ones, or expired"
        print(f"ollama-mock: not running ({reason}): {', '.join(state.not_started)}", file=sys.stderr, flush=True)
    try:
        run_server = serve_granian if server == "granian" else serve_waitress
        run_server(app, arguments.host, port, threads, arguments.idle_timeout)
    except MockServerError as error:
        print(f"ollama-mock: {error}", file=sys.stderr)
        return 1
    print("ollama-mock: stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
