"""`ollama ps`'s table: our columns equal the ones Ollama printed for the real captures."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ollama_contract_kit.client import parse_ps_body, render_table
from ollama_contract_kit.client.table import human_bytes, human_duration, processor, until

from .conftest import REAL_PS, load_json

TABLES = sorted(REAL_PS.glob("*.ollama-ps.txt"))


def test_there_are_real_tables_to_compare_with() -> None:
    assert len(TABLES) >= 40


@pytest.mark.parametrize("table", TABLES, ids=lambda path: path.name[:40])
def test_table_matches_what_ollama_printed(table: Path) -> None:
    expected = table.read_text().rstrip("\n").splitlines()
    capture = table.with_name(table.name.replace(".ollama-ps.txt", ".json"))
    models = parse_ps_body(load_json(capture), capture.name)
    soonest = min((model.expires_at for model in models), default=datetime.now(timezone.utc))
    ours = render_table(models, now=soonest - timedelta(minutes=4, seconds=30)).splitlines()
    until_column = expected[0].index("UNTIL")
    assert [line[:until_column] for line in ours] == [line[:until_column] for line in expected]
    assert ours[0] == expected[0]
    # UNTIL is relative to the unknown moment of capture: only its form can be compared.
    for ours_line, expected_line in zip(ours[1:], expected[1:], strict=True):
        assert re.fullmatch(r"\d+ minutes from now", ours_line[until_column:])
        assert re.fullmatch(r"(\d+ minutes|About a minute|\d+ seconds) from now", expected_line[until_column:].strip())


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (65_000_000_000, "65 GB"),
        (10_500_000_000, "10 GB"),
        (4_300_000_000, "4.3 GB"),
        (9_990_000_000, "10.0 GB"),
        (1_000_000_000, "1 GB"),
        (999, "999 B"),
        (1000, "1 KB"),
        (1_595_405_568, "1.6 GB"),
        (2_000_000_000_000, "2 TB"),
        (0, "0 B"),
    ],
)
def test_sizes_in_decimal_units_like_ollama(size: int, text: str) -> None:
    assert human_bytes(size) == text


@pytest.mark.parametrize(
    ("size", "size_vram", "text"),
    [
        (100, 0, "100% CPU"),
        (100, None, "100% CPU"),
        (100, 100, "100% GPU"),
        (100, 101, "Unknown"),
        (0, 5, "Unknown"),
        (7_164_390_400, 5_974_192_128, "17%/83% CPU/GPU"),
        (200, 95, "53%/47% CPU/GPU"),
        (1000, 995, "1%/99% CPU/GPU"),
    ],
)
def test_processor_column(size: int, size_vram: int | None, text: str) -> None:
    assert processor(size, size_vram) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "Less than a second"),
        (1, "1 second"),
        (42, "42 seconds"),
        (60, "About a minute"),
        (299.9, "4 minutes"),
        (3599, "59 minutes"),
        (3600, "About an hour"),
        (5400, "2 hours"),
        (47 * 3600, "47 hours"),
        (3 * 86400, "3 days"),
        (20 * 86400, "2 weeks"),
        (90 * 86400, "3 months"),
        (3 * 365 * 86400, "3 years"),
    ],
)
def test_duration_wording(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_until_column_for_past_near_and_far_expiries() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert until(now - timedelta(seconds=1), now) == "Stopping..."
    assert until(now + timedelta(minutes=5), now) == "5 minutes from now"
    assert until(now + timedelta(minutes=4, seconds=59), now) == "4 minutes from now"
    assert until(now + timedelta(days=365 * 292), now) == "Forever"
    assert until(now + timedelta(seconds=30), now) == "30 seconds from now"
    assert until(now + timedelta(hours=5), now) == "5 hours from now"


def test_prefix_filters_rows_like_ollama_ps_name() -> None:
    models = parse_ps_body(load_json(next(REAL_PS.glob("031_*.json"))), "capture")
    table = render_table(models, prefix="deepseek").splitlines()
    assert len(table) == 2 and table[1].startswith("deepseek-r1:1.5b")


def test_empty_list_prints_only_the_header() -> None:
    assert render_table(()) == "NAME    ID    SIZE    PROCESSOR    CONTEXT    UNTIL"
