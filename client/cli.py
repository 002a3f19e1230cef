"""`ollama-ps`: list a server's running models like `ollama ps`, from any machine."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from ollama_contract_kit.commandline.arguments import command_parser, seconds, whole_number
from ollama_contract_kit.commandline.console import Console, run_command
from ollama_contract_kit.commandline.headers import InvalidHeaders, parse_headers

from .api import OllamaClient
from .errors import OllamaClientError
from .hosts import InvalidURL
from .table import render_table

EXIT_CODES = """exit codes:
  0  listed (also when the reader of a pipe stops early, as with `| head -1`)
  2  bad arguments, headers or URL
  3  server unreachable, timed out or dropped the connection
  4  the server answered an HTTP error
  5  the answer breaks the /api/ps contract
  130  interrupted (Ctrl-C, SIGTERM)"""


def build_parser() -> argparse.ArgumentParser:
    """The command line of `ollama-ps`."""
    parser = command_parser(
        "ollama-ps", "List the models an Ollama server has loaded (GET /api/ps), as `ollama ps` does.", EXIT_CODES
    )
    parser.add_argument("prefix", nargs="?", default="", help="show only models whose name starts with this")
    parser.add_argument(
        "--url", help="server URL, may include a path prefix (default: $OLLAMA_HOST or 127.0.0.1:11434)"
    )
    parser.add_argument(
        "--headers",
        help="extra headers: a JSON object, a path to a .json file, or quoted pseudo-JSON such as "
        "\"{'Authorization':'Bearer x'}\"; values of secret headers are never printed",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the server's JSON body as received instead of the table (with PREFIX: only matching models)",
    )
    parser.add_argument(
        "--timeout", type=seconds(allow_zero=False), default=10.0, help="seconds to wait for an answer (default 10)"
    )
    parser.add_argument(
        "--retries", type=whole_number(0, 10), default=0, help="retries on connection errors and 5xx (default 0)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `ollama-ps`; returns the exit code."""
    arguments = build_parser().parse_args(argv)
    return run_command("ollama-ps", lambda: _list(arguments))


def _list(arguments: argparse.Namespace) -> int:
    console = Console()
    try:
        with OllamaClient(
            arguments.url,
            headers=parse_headers(arguments.headers, "--headers"),
            timeout=arguments.timeout,
            retries=arguments.retries,
        ) as client:
            if arguments.json:
                body, data = client.ps_body()
                console.line(_json_output(body, data, arguments.prefix))
            else:
                console.line(render_table(client.running_models(), prefix=arguments.prefix))
    except InvalidHeaders as error:
        print(f"ollama-ps: {error}", file=sys.stderr)
        return error.exit_code
    except InvalidURL as error:
        origin = "--url" if arguments.url is not None else "OLLAMA_HOST"
        print(f"ollama-ps: {origin}: {error}", file=sys.stderr)
        return error.exit_code
    except OllamaClientError as error:
        print(f"ollama-ps: {error}", file=sys.stderr)
        return error.exit_code
    return 0


def _json_output(body: bytes, data: dict[str, Any], prefix: str) -> str:
    """The body as the server sent it; with a prefix, only the matching models (in the server's key order)."""
    if not prefix:
        return body.decode("utf-8").rstrip("\n")
    kept = [model for model in data["models"] if str(model.get("name", "")).startswith(prefix)]
    return json.dumps({**data, "models": kept}, ensure_ascii=False, separators=(",", ":"))


if __name__ == "__main__":
    sys.exit(main())
