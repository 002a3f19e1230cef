"""The contract's timestamps: RFC 3339 as Go's `time.Time` writes it (nanoseconds, trailing zeros trimmed).

`GoTime` holds a moment with Go's precision (Python's datetime stops at microseconds), so a time the
mock reads from a fixture or its clock is written back digit for digit. `parse_timestamp` gives an
aware datetime for readers that need no more than microseconds (the client, the checks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo

_RFC3339 = re.compile(
    r"^(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})T(?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]{1,9}))?(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})$"
)
_NANOSECONDS_PER_SECOND = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: The last moment a datetime (and so the mock) can write: Go goes further, no Ollama answer does.
_LAST = (
    int((datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc) - _EPOCH).total_seconds()) * _NANOSECONDS_PER_SECOND
)
#: The first moment a datetime can write (a keep-alive that overflows Go's duration lands ~292 years back).
_FIRST = int((datetime(1, 1, 1, tzinfo=timezone.utc) - _EPOCH).total_seconds()) * _NANOSECONDS_PER_SECOND


def _zone_text(offset: timedelta | None) -> str:
    if not offset:
        return "Z"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _date_time_text(moment: datetime) -> str:
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 as Go marshals `time.Time`: fraction trimmed (or dropped), `Z` for UTC, else `±hh:mm`."""
    text = _date_time_text(moment)
    if moment.microsecond:
        text += "." + f"{moment.microsecond:06d}".rstrip("0")
    return text + _zone_text(moment.utcoffset())


def parse_timestamp(text: str) -> datetime:
    """Parse strict RFC 3339 (a `T`, 0-9 fraction digits, `Z` or `±hh:mm`) into an aware datetime.

    Fractions beyond microseconds are truncated, as Python's datetime cannot hold nanoseconds
    (`GoTime.parse` keeps them). Raises ValueError for anything else (no zone, a space separator,
    `+0000`, an impossible date).
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


@dataclass(frozen=True, order=True)
class GoTime:
    """A moment as Go's `time.Time` holds it: nanoseconds since the Unix epoch, written in `zone`.

    Ordered and compared by the moment alone; the zone only says how it is written.
    """

    nanoseconds: int
    zone: tzinfo = field(default=timezone.utc, compare=False)

    @classmethod
    def from_datetime(cls, moment: datetime, zone: tzinfo | None = None) -> GoTime:
        """The moment of an aware datetime, written in `zone` (default: the datetime's own zone)."""
        if moment.tzinfo is None:
            raise ValueError("a moment needs an aware datetime (with a zone)")
        delta = moment - _EPOCH
        total = (delta.days * 86_400 + delta.seconds) * _NANOSECONDS_PER_SECOND + delta.microseconds * 1000
        return cls(total, zone if zone is not None else moment.tzinfo)

    @classmethod
    def parse(cls, text: str) -> GoTime:
        """Parse strict RFC 3339 keeping every fraction digit; the zone is the text's fixed offset."""
        moment = parse_timestamp(text)
        fraction = (_RFC3339.match(text) or {"fraction": ""})["fraction"] or ""
        below_microseconds = int((fraction + "000000000")[6:9])
        parsed = cls.from_datetime(moment)
        return cls(parsed.nanoseconds + below_microseconds, parsed.zone)

    def to_datetime(self) -> datetime:
        """The moment as an aware datetime in the zone (nanoseconds below a microsecond dropped)."""
        seconds, rest = divmod(self.nanoseconds, _NANOSECONDS_PER_SECOND)
        moment = _EPOCH + timedelta(seconds=seconds, microseconds=rest // 1000)
        return moment.astimezone(self.zone)

    def plus(self, seconds: float) -> GoTime:
        """`seconds` later (earlier when negative), capped at the last moment a datetime can write."""
        moved = self.nanoseconds + round(seconds * _NANOSECONDS_PER_SECOND)
        return GoTime(max(_FIRST, min(_LAST, moved)), self.zone)

    def seconds_since(self, earlier: GoTime) -> float:
        """How many seconds after `earlier` this moment is."""
        return (self.nanoseconds - earlier.nanoseconds) / _NANOSECONDS_PER_SECOND

    def in_zone(self, zone: tzinfo) -> GoTime:
        """The same moment, written in `zone`."""
        return GoTime(self.nanoseconds, zone)

    def unix_seconds(self) -> int:
        """Whole seconds since the epoch, rounded down (Go's `Unix()`)."""
        return self.nanoseconds // _NANOSECONDS_PER_SECOND

    def format(self) -> str:
        """RFC 3339 as Go marshals it: up to nine fraction digits, trailing zeros trimmed; `Z` for UTC."""
        moment = self.to_datetime()
        text = _date_time_text(moment)
        fraction = self.nanoseconds % _NANOSECONDS_PER_SECOND
        if fraction:
            text += "." + f"{fraction:09d}".rstrip("0")
        return text + _zone_text(moment.utcoffset())

    def __str__(self) -> str:
        return self.format()


def go_time_problem(text: str) -> str | None:
    """Why `text` is not a time as Go's `time.Time` marshals it, or None when it is one.

    Go writes RFC 3339 with up to 9 fraction digits, trailing zeros trimmed (none at all for a whole
    second), and `Z` for UTC, else `±hh:mm`.
    """
    match = _RFC3339.match(text)
    if match is None:
        return "not RFC 3339 with a zone (Go writes 2006-01-02T15:04:05.999999999Z07:00)"
    if (match["fraction"] or "").endswith("0"):
        return "the fraction ends in 0 (Go trims trailing zeros)"
    if match["zone"] in ("+00:00", "-00:00"):
        return "UTC written as an offset (Go writes Z)"
    return None


def fraction_digits(text: str) -> int:
    """How many fraction digits an RFC 3339 time carries (0 for none or for text that is no such time)."""
    match = _RFC3339.match(text)
    return len(match["fraction"] or "") if match else 0


def zone_form(text: str) -> str:
    """`Z`, `offset` (`±hh:mm`) or `none`: how an RFC 3339 time names its zone."""
    match = _RFC3339.match(text)
    if match is None:
        return "none"
    return "Z" if match["zone"] == "Z" else "offset"
