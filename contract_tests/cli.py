"""`ollama-contract`: check a server against the contract."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """The command line of `ollama-contract`."""
    parser = argparse.ArgumentParser(
        prog="ollama-contract", description="Check an Ollama server against the /api/ps contract."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="check a live server")
    verify.add_argument("--url", required=True, help="the server, may include a path prefix")
    verify.add_argument("--headers", help="extra headers: JSON, a .json file, or quoted pseudo-JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `ollama-contract`; returns the exit code."""
    build_parser().parse_args(argv)
    print("ollama-contract: verify is not implemented yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
