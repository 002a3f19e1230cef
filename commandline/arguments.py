"""Command-line value types and parser shape shared by the kit's three commands."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from importlib import metadata


def seconds(*, allow_zero: bool) -> Callable[[str], float]:
    """A converter for a number of seconds: more than 0, or 0 and more with `allow_zero`."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
        if value < 0 or (value == 0 and not allow_zero) or value != value:
            bound = "0 or more" if allow_zero else "more than 0"
            raise argparse.ArgumentTypeError(f"expected {bound} seconds, got {text!r}")
        return value

    return convert


def positive_number(unit: str) -> Callable[[str], float]:
    """A converter for a number above 0, of `unit` (named in the error)."""

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"expected a number of {unit} above 0, got {text!r}")
        return value

    return convert


_SIZE = re.compile(r"^\s*([0-9]+)\s*(?:([KMG])(?:i?B)?|B)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def byte_size(text: str) -> int:
    """A converter for a size in bytes above 0: `1048576`, `64M`, `64MiB`, `1G`."""
    match = _SIZE.match(text)
    if match is None or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"expected a size above 0 like 64M, 1G or 1048576 (bytes), got {text!r}")
    return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "").upper()]


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """A converter for a whole number from `low` to `high`."""

    def convert(text: str) -> int:
        if not (text.strip().isascii() and text.strip().isdigit()) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, got {text!r}")
        return int(text)

    return convert


def package_version() -> str:
    """The installed kit's version (`0.1.0`), or `unknown` when run from an uninstalled tree."""
    try:
        return metadata.version("ollama-contract-kit")
    except metadata.PackageNotFoundError:
        return "unknown"


def command_parser(prog: str, description: str, exit_codes: str) -> argparse.ArgumentParser:
    """A parser whose help ends with the command's exit codes, with `--version`."""
    parser = argparse.ArgumentParser(
        prog=prog, description=description, epilog=exit_codes, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"{prog} (ollama-contract-kit) {package_version()}")
    return parser
