"""`ollama-contract`: check a server against the contract (`verify`), or locate the contract (`spec`)."""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ollama_contract_kit.client import InvalidHeaders, InvalidURL
from ollama_contract_kit.commandline.arguments import command_parser, positive_number, seconds, whole_number
from ollama_contract_kit.commandline.console import INTERRUPTED, run_command, stop_on_signals
from ollama_contract_kit.commandline.files import check_writable
from ollama_contract_kit.commandline.headers import parse_headers
from ollama_contract_kit.openapi import spec_path

from .defaults import LIVE_REQUESTS_PER_SECOND, TIMEOUT_SECONDS, UNLOAD_GRACE_SECONDS, VERIFY_MAX_EXAMPLES
from .location import LocationError, server_location

if TYPE_CHECKING:
    from .proxy import ProxySettings
    from .recording import Recorder
    from .report import Verification
    from .traffic import TrafficJudge

EXIT_CODES = """exit codes:
  0  the server conforms
  1  contract violations found (the report says which and why)
  2  usage error (bad argument, headers, URL, or a report path that cannot be written)
  3  nothing could be checked: unreachable, credentials refused, or not Ollama at this URL
  130  interrupted (Ctrl-C, SIGTERM): the server was restored; reports say INTERRUPTED"""
PROXY_EXIT_CODES = """exit codes (on SIGINT/SIGTERM, after the summary and the reports):
  0  the server broke no rule in the traffic seen (the app's own mistakes do not count)
  1  the server broke a rule, or an answer did not arrive whole (each was printed as it happened)
  2  usage error (bad argument, headers, URL, a report path that cannot be written, a port in use)
  3  the upstream is unreachable at start (reports say NOT CHECKED)
  130  interrupted before serving (reports say INTERRUPTED)"""


def build_parser() -> argparse.ArgumentParser:
    """The command line of `ollama-contract`."""
    parser = command_parser("ollama-contract", "Check that a server speaks Ollama's /api/ps contract.", EXIT_CODES)
    commands = parser.add_subparsers(dest="command", metavar="{verify,proxy,spec}")
    verify = commands.add_parser(
        "verify",
        help="check a server (live Ollama, an Ollama-compatible server, a proxy, or the mock)",
        description="Check a server against the contract. Never asks it to generate text, pull or delete; "
        "without --read-only it loads and unloads the smallest installed model and leaves it as found.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument(
        "--url",
        help="the server, may include a path prefix (https://host/ollama); default $OLLAMA_HOST (or $OLLAMA_URL)",
    )
    verify.add_argument(
        "--headers",
        help="extra headers: JSON, a .json file, or quoted pseudo-JSON (default $OLLAMA_HEADERS; values never shown)",
    )
    verify.add_argument("--read-only", action="store_true", help="skip the checks that load and unload a model")
    verify.add_argument("--junit-xml", type=Path, help="also write a JUnit XML report here")
    verify.add_argument("--json", type=Path, dest="json_path", help="also write a JSON report here")
    verify.add_argument(
        "--max-examples",
        type=whole_number(1, 100_000),
        default=VERIFY_MAX_EXAMPLES,
        help=f"Hypothesis examples per operation (default {VERIFY_MAX_EXAMPLES})",
    )
    verify.add_argument(
        "--grace",
        type=seconds(allow_zero=False),
        default=UNLOAD_GRACE_SECONDS,
        help=f"seconds an unloaded model may take to leave /api/ps (default {UNLOAD_GRACE_SECONDS:g})",
    )
    verify.add_argument(
        "--max-rate",
        type=positive_number("requests per second"),
        default=LIVE_REQUESTS_PER_SECOND,
        help=f"requests per second at most (default {LIVE_REQUESTS_PER_SECOND:g})",
    )
    verify.add_argument(
        "--timeout",
        type=seconds(allow_zero=False),
        default=TIMEOUT_SECONDS,
        help=f"seconds to wait for each answer (default {TIMEOUT_SECONDS:g})",
    )
    verify.add_argument(
        "--wait",
        type=seconds(allow_zero=True),
        default=0.0,
        metavar="SECONDS",
        help="give a server that does not answer yet (one starting in the background) this long (default 0)",
    )
    proxy = commands.add_parser(
        "proxy",
        help="a transparent proxy in front of a server, judging the traffic your app sends it",
        description="Forward everything to --upstream unchanged, stream answers back as they arrive, and judge "
        "each answer and the lifecycle the traffic shows with verify's rules. Sends no request of its own "
        "but one GET /api/version (and with --record the read-only GET /api/tags, POST /api/show of each "
        "model and GET /api/ps that record the world, at the start, and GET /api/ps again on stop).",
        epilog=PROXY_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    proxy.add_argument(
        "--upstream",
        help="the server, may include a path prefix (http://host/ollama); default $OLLAMA_HOST (or $OLLAMA_URL)",
    )
    proxy.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    proxy.add_argument("--port", type=whole_number(0, 65535), default=11435, help="port (default 11435)")
    proxy.add_argument(
        "--headers",
        help="headers added upstream: JSON, a .json file, quoted pseudo-JSON or 'Name: value' "
        "(default $OLLAMA_HEADERS); never added to a request the proxy refuses",
    )
    proxy.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also let in requests whose Host is NAME (port aside), as for a local alias; repeatable. "
        "On loopback the proxy refuses any other Host that Ollama would (DNS rebinding)",
    )
    proxy.add_argument(
        "--grace",
        type=seconds(allow_zero=False),
        default=UNLOAD_GRACE_SECONDS,
        help=f"seconds an unloaded model may stay in /api/ps (default {UNLOAD_GRACE_SECONDS:g})",
    )
    proxy.add_argument("--junit-xml", type=Path, help="write a JUnit XML report here when stopped")
    proxy.add_argument("--json", type=Path, dest="json_path", help="write a JSON report here when stopped")
    proxy.add_argument("--quiet", action="store_true", help="print only the summary, not each violation")
    proxy.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="also record the upstream as a world `ollama-mock --fixtures FILE` replays offline: its models, "
        "and a reply rule for each distinct generating request (written on stop; .json, else YAML; no secrets)",
    )
    spec = commands.add_parser("spec", help="print the path of the contract's OpenAPI document")
    which = spec.add_mutually_exclusive_group()
    which.add_argument("--control", action="store_true", help="the mock's control API instead of Ollama's API")
    which.add_argument("--openai", action="store_true", help="Ollama's OpenAI-compatible layer (/v1)")
    which.add_argument(
        "--schemathesis-config",
        action="store_true",
        help="the schemathesis.toml that tells Schemathesis what Ollama answers (for `schemathesis --config-file`)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `ollama-contract`; returns the exit code."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.error(
            "choose a command: verify (check a server), proxy (judge the traffic to one) "
            "or spec (print the contract's path)"
        )
    if arguments.command == "spec":
        if arguments.schemathesis_config:
            print(Path(__file__).with_name("schemathesis.toml"))
        else:
            print(spec_path("control" if arguments.control else "openai" if arguments.openai else "ollama"))
        return 0
    try:
        url = _server_url(arguments)
    except (InvalidURL, LocationError) as error:
        parser.exit(2, f"ollama-contract: {error}\n")
    if url is None:
        option = "--upstream" if arguments.command == "proxy" else "--url"
        parser.exit(2, f"ollama-contract: {arguments.command}: which server? give {option} URL, or set OLLAMA_HOST\n")
    try:
        if arguments.headers is not None:
            headers = parse_headers(arguments.headers, "--headers")
        else:  # CI passes a secret through the environment, not on the command line
            headers = parse_headers(os.environ.get("OLLAMA_HEADERS"), "OLLAMA_HEADERS")
    except InvalidHeaders as error:
        parser.exit(2, f"ollama-contract: {error}\n")
    written = [("--junit-xml", arguments.junit_xml), ("--json", arguments.json_path)]
    for option, path in [*written, ("--record", getattr(arguments, "record", None))]:
        problem = check_writable(path) if path is not None else None
        if problem is not None:
            parser.exit(2, f"ollama-contract: {option}: {problem}\n")
    if arguments.command == "proxy":
        return _proxy(arguments, url, headers)
    return run_command("ollama-contract", lambda: _verify(arguments, url, headers))


def _server_url(arguments: argparse.Namespace) -> str | None:
    """The server: the proxy's `--upstream` or verify's `--url`, else `OLLAMA_HOST` (or `OLLAMA_URL`)."""
    if arguments.command == "proxy":
        location = server_location(arguments.upstream, "--upstream", os.environ)
    else:
        location = server_location(arguments.url, "--url", os.environ)
    return location.url if location is not None else None


def _proxy(arguments: argparse.Namespace, url: str, headers: dict[str, str]) -> int:
    from ollama_contract_kit.openapi.releases import parse_version

    from .proxy import ProxyError, ProxySettings, listen, serve_proxy, upstream_version
    from .traffic import TrafficJudge

    for stream in (sys.stdout, sys.stderr):  # an odd byte in a model name must not cost the summary
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    settings = ProxySettings(url, headers, quiet=arguments.quiet, allowed_hosts=tuple(arguments.allow_host))
    started = time.monotonic()
    judge = TrafficJudge(None, arguments.grace)
    recorder = _recorder(arguments.record, url, headers)
    stop_on_signals()
    try:
        sock = listen(arguments.host, arguments.port)
        version = upstream_version(settings)
        judge.version = parse_version(version) if version else None
        print(f"ollama-contract proxy: upstream Ollama {version or '(version unknown: newest rules)'}", flush=True)
        if recorder is not None:
            _start_recording(recorder)
    except ProxyError as error:
        print(f"ollama-contract proxy: {settings.mask(str(error))}", file=sys.stderr)
        if error.exit_code == 3:
            _proxy_reports(arguments, settings, judge, None, started, not_checked=str(error))
        return error.exit_code
    except KeyboardInterrupt:
        print("ollama-contract proxy: interrupted", file=sys.stderr)
        _proxy_reports(arguments, settings, judge, None, started, interrupted="the start (contacting the upstream)")
        return INTERRUPTED
    try:
        serve_proxy(settings, sock, judge, recorder)
    except KeyboardInterrupt:
        pass  # a signal between two handlers: the summary follows all the same
    except Exception as error:  # never lose the verdict to a bug: say it, then summarise what was seen
        print(f"ollama-contract proxy: stopped by an internal error: {type(error).__name__}: {error}", file=sys.stderr)
    finally:
        sock.close()
    return _proxy_summary(arguments, settings, judge, version, started, recorder)


def _recorder(path: Path | None, url: str, headers: dict[str, str]) -> Recorder | None:
    if path is None:
        return None
    from .recording import Recorder

    return Recorder(path, url, headers)


def _start_recording(recorder: Recorder) -> None:
    """Record the upstream's world before any traffic (ProxyError, exit 3, when it cannot be)."""
    from .proxy import ProxyError
    from .recording import RecordingError

    try:
        recorder.start()
    except RecordingError as error:
        raise ProxyError(str(error), 3) from None
    print(f"ollama-contract proxy: recording to {recorder.path} (written on stop)", flush=True)


def _write_recording(recorder: Recorder, settings: ProxySettings) -> None:
    from ollama_contract_kit.mock_server.world.fixtures import FixtureError

    try:
        line = recorder.write()
    except (FixtureError, OSError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        shown = settings.mask(reason)
        print(f"ollama-contract proxy: cannot write the recording {recorder.path}: {shown}", file=sys.stderr)
        return
    print(f"ollama-contract proxy: {line}")
    for skipped in recorder.skipped_lines():
        print(f"ollama-contract proxy: not recorded: {settings.mask(skipped)}")


def _proxy_summary(
    arguments: argparse.Namespace,
    settings: ProxySettings,
    judge: TrafficJudge,
    version: str | None,
    started: float,
    recorder: Recorder | None = None,
) -> int:
    from ollama_contract_kit.commandline.console import Console

    from .report import render_result

    for number in (signal.SIGINT, signal.SIGTERM):  # a second signal must not cut the reports short
        signal.signal(number, signal.SIG_IGN)
    if recorder is not None:
        _write_recording(recorder, settings)
    console = Console(settings.out)
    verification = _proxy_reports(arguments, settings, judge, version, started)
    server = [v for v in judge.tally.violations if v.side == "server"]
    app = [v for v in judge.tally.violations if v.side == "app"]
    faults = len(judge.tally.faults)
    console.line(
        f"\nollama-contract proxy: stopped after {judge.tally.exchanges} exchanges; "
        f"{len(server)} broken rules by the server, {len(app)} mistakes by the app, "
        f"{faults} answers the upstream broke off or never gave"
    )
    for result in verification.results:
        console.line("\n".join(render_result(result)))
    failed = bool(server) or faults > 0
    console.line("DOES NOT CONFORM" if failed else "CONFORMS (in the traffic seen)")
    return 1 if failed else 0


def _proxy_reports(
    arguments: argparse.Namespace,
    settings: ProxySettings,
    judge: TrafficJudge,
    version: str | None,
    started: float,
    interrupted: str | None = None,
    not_checked: str | None = None,
) -> Verification:
    from .proxy import verification_of

    verification = verification_of(settings, judge, version, time.monotonic() - started)
    if interrupted is not None or not_checked is not None:
        masked = settings.mask(not_checked) if not_checked is not None else None
        verification = dataclasses.replace(verification, interrupted=interrupted, not_checked=masked)
    _write_reports(arguments, verification)
    return verification


def _verify(arguments: argparse.Namespace, url: str, headers: dict[str, str]) -> int:
    from hypothesis.configuration import set_hypothesis_home_dir

    from .progress import ConsoleProgress
    from .runner import Unreachable, verify

    # Hypothesis keeps a cache in ./.hypothesis by default: this command leaves the user's folder clean.
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ollama-contract-kit" / "hypothesis"
    set_hypothesis_home_dir(cache)

    progress = ConsoleProgress()
    started = time.monotonic()
    try:
        verification = verify(
            url,
            headers,
            read_only=arguments.read_only,
            max_examples=arguments.max_examples,
            grace_seconds=arguments.grace,
            timeout=arguments.timeout,
            max_rate=arguments.max_rate,
            wait=arguments.wait,
            progress=progress,
        )
    except Unreachable as error:
        print(f"ollama-contract: {error}", file=sys.stderr)
        verification = _incomplete(arguments, url, started, not_checked=str(error))
    except KeyboardInterrupt:
        verification = _incomplete(arguments, url, started, interrupted="the check that the server answers")
    if verification.not_checked is None:
        progress.finished(verification)
    _write_reports(arguments, verification)
    if verification.not_checked is not None:
        return 3
    if verification.interrupted is not None:
        return INTERRUPTED
    return 0 if verification.conforms else 1


def _incomplete(arguments: argparse.Namespace, url: str, started: float, **why: str) -> Verification:
    from .report import Verification

    return Verification(url, None, arguments.read_only, (), time.monotonic() - started, **why)


def _write_reports(arguments: argparse.Namespace, verification: Verification) -> None:
    from .report import write_json, write_junit

    for path, write in ((arguments.junit_xml, write_junit), (arguments.json_path, write_json)):
        if path is None:
            continue
        try:
            write(verification, path)
        except OSError as error:
            print(f"ollama-contract: cannot write the report {path}: {error.strerror or error}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
