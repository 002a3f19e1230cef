"""`ollama-contract`: check a server against the contract (`verify`), or locate the contract (`spec`)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ollama_contract_kit.client import InvalidHeaders, InvalidURL, base_url
from ollama_contract_kit.client.arguments import command_parser, seconds, whole_number
from ollama_contract_kit.client.headers import parse_headers
from ollama_contract_kit.openapi import spec_path

from .defaults import TIMEOUT_SECONDS, UNLOAD_GRACE_SECONDS, VERIFY_MAX_EXAMPLES

EXIT_CODES = """exit codes:
  0  the server conforms
  1  contract violations found (the report says which and why)
  2  usage error
  3  the server is unreachable, not answering, or refuses the credentials"""


def build_parser() -> argparse.ArgumentParser:
    """The command line of `ollama-contract`."""
    parser = command_parser("ollama-contract", "Check that a server speaks Ollama's /api/ps contract.", EXIT_CODES)
    commands = parser.add_subparsers(dest="command", metavar="{verify,spec}")
    verify = commands.add_parser(
        "verify",
        help="check a server (live Ollama, an Ollama-compatible server, a proxy, or the mock)",
        description="Check a server against the contract. Never asks it to generate text, pull or delete; "
        "without --read-only it loads and unloads the smallest installed model and leaves it as found.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("--url", required=True, help="the server, may include a path prefix (https://host/ollama)")
    verify.add_argument(
        "--headers", help="extra headers: JSON, a .json file, or quoted pseudo-JSON (values never shown)"
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
        "--timeout",
        type=seconds(allow_zero=False),
        default=TIMEOUT_SECONDS,
        help=f"seconds to wait for each answer (default {TIMEOUT_SECONDS:g})",
    )
    spec = commands.add_parser("spec", help="print the path of the contract's OpenAPI document")
    spec.add_argument("--control", action="store_true", help="the mock's control API instead of Ollama's API")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `ollama-contract`; returns the exit code."""
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.error("choose a command: verify (check a server) or spec (print the contract's path)")
    if arguments.command == "spec":
        print(spec_path("control" if arguments.control else "ollama"))
        return 0
    try:
        url = base_url(arguments.url)
        headers = parse_headers(arguments.headers, "--headers")
    except (InvalidURL, InvalidHeaders) as error:
        parser.exit(2, f"ollama-contract: {'--url: ' if isinstance(error, InvalidURL) else ''}{error}\n")
    # Hypothesis caches data under ./.hypothesis by default: keep the user's folder clean.
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ollama-contract-kit" / "hypothesis"
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(cache))
    from .report import render_text, write_json, write_junit
    from .verify import Unreachable, verify

    try:
        verification = verify(
            url,
            headers,
            read_only=arguments.read_only,
            max_examples=arguments.max_examples,
            grace_seconds=arguments.grace,
            timeout=arguments.timeout,
        )
    except Unreachable as error:
        print(f"ollama-contract: {error}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
    print(render_text(verification))
    if arguments.junit_xml:
        write_junit(verification, arguments.junit_xml)
    if arguments.json_path:
        write_json(verification, arguments.json_path)
    return 0 if verification.conforms else 1


if __name__ == "__main__":
    sys.exit(main())
