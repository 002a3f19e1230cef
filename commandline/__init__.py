"""What every command of the kit shares: argument types, console output, safe file writes, and header input."""

from __future__ import annotations

from .arguments import byte_size, command_parser, package_version, positive_number, seconds, whole_number
from .console import INTERRUPTED, Console, run_command, stop_on_signals
from .files import check_writable, write_text_atomically
from .headers import InvalidHeaders, mask_headers, mask_text, parse_headers

__all__ = [
    "INTERRUPTED",
    "Console",
    "InvalidHeaders",
    "byte_size",
    "check_writable",
    "command_parser",
    "mask_headers",
    "mask_text",
    "package_version",
    "parse_headers",
    "positive_number",
    "run_command",
    "seconds",
    "stop_on_signals",
    "whole_number",
    "write_text_atomically",
]
