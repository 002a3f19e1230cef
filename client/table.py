"""The table `ollama ps` prints, computed the way Ollama's CLI computes each column."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from .models import RunningModel

HEADERS = ("NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL")
_PADDING = "    "
_UNITS = ((1000**4, "TB"), (1000**3, "GB"), (1000**2, "MB"), (1000, "KB"))


def human_bytes(size: int) -> str:
    """Ollama's `format.HumanBytes`: decimal units; `10 GB` and up truncated, below one decimal."""
    for factor, unit in _UNITS:
        if size >= factor:
            value = size / factor
            if value >= 10 or value == math.trunc(value):
                return f"{int(value)} {unit}"
            return f"{value:.1f} {unit}"
    return f"{size} B"


def processor(size: int, size_vram: int | None) -> str:
    """The PROCESSOR column: `100% GPU`, `100% CPU`, `48%/52% CPU/GPU` or `Unknown`."""
    vram = size_vram or 0
    if vram == 0:
        return "100% CPU"
    if vram == size:
        return "100% GPU"
    if vram > size or size == 0:
        return "Unknown"
    cpu_percent = math.floor((size - vram) / size * 100 + 0.5)
    return f"{cpu_percent}%/{100 - cpu_percent}% CPU/GPU"


def human_duration(seconds_total: float) -> str:
    """Ollama's `humanDuration` wording for a positive duration."""
    seconds = int(seconds_total)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = int(seconds_total / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = math.floor(seconds_total / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds_total / 3600) // 24 // 365} years"


def until(expires_at: datetime, now: datetime) -> str:
    """The UNTIL column: `Stopping...` when past, `Forever` beyond 20 years, else `N minutes from now`."""
    ahead = (expires_at - now).total_seconds()
    if ahead < 0:
        return "Stopping..."
    if int(ahead / 3600) // 24 // 365 > 20:
        return "Forever"
    if ahead == 0:
        return "Less than a second ago"
    return human_duration(ahead) + " from now"


def table_rows(models: Iterable[RunningModel], now: datetime | None = None) -> list[tuple[str, ...]]:
    """The cells of each row."""
    moment = now or datetime.now(timezone.utc)
    return [
        (
            model.name,
            model.id,
            human_bytes(model.size),
            processor(model.size, model.size_vram),
            str(model.context_length or 0),
            until(model.expires_at, moment),
        )
        for model in models
    ]


def render_table(models: Sequence[RunningModel], now: datetime | None = None, prefix: str = "") -> str:
    """The whole table, header first; rows filtered by name prefix like `ollama ps NAME`."""
    rows = [HEADERS, *table_rows([m for m in models if m.name.startswith(prefix)], now)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(HEADERS))]
    lines = [_PADDING.join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)
