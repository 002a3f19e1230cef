"""The contract's timestamps: RFC 3339 as Go's `time.Time` writes it, parsed into aware datetimes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

_RFC3339 = re.compile(
    r"^(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})T(?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]{1,9}))?(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})$"
)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 as Go marshals `time.Time`: fraction trimmed (or dropped), `Z` for UTC, else `±hh:mm`."""
    offset = moment.utcoffset()
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    if not offset:
        return text + "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def parse_timestamp(text: str) -> datetime:
    """Parse strict RFC 3339 (a `T`, 0-9 fraction digits, `Z` or `±hh:mm`) into an aware datetime.

    Fractions beyond microseconds are truncated, as Python's datetime cannot hold nanoseconds.
    Raises ValueError for anything else (no zone, a space separator, `+0000`, an impossible date).
    """
    match = _RFC3339.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not an RFC 3339 timestamp with a zone")
    fraction = ((match["fraction"] or "") + "000000")[:6]
    zone = "+00:00" if match["zone"] == "Z" else match["zone"]
    try:
        return datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}{zone}")
    except ValueError as error:
        raise ValueError(f"{text!r} is not a valid date and time: {error}") from None
