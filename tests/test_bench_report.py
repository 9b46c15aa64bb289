"""The bench table a newcomer sees first: it fits 100 columns, says what its names mean, and
says in one line who lost records."""

from __future__ import annotations

import io
from typing import Any

import pytest

from lockrotate.bench import report


def row(contender: str, procs: int, rate: float, **changes: Any) -> dict[str, Any]:
    """A table row with the widest figures a real run can print."""
    values: dict[str, Any] = {
        "contender": contender, "procs": procs, "records_per_s": rate,
        "us_per_record": 1e6 / rate, "ratio": 0.85, "ratio_min": 0.80, "ratio_max": 0.91,
        "ok": True, "lost": 0, "duplicated": 0, "torn": 0, "out_of_order": 0,
        "unexpected": 0, "handler_errors": 0, "crashed": [], "files": 1234, "rotated_files": 1233,
        "rollovers": 1233, "lock_wait_p50": 0.0123, "lock_wait_p90": 0.456,
        "lock_wait_p99": 12.5, "lock_hold_p50": 0.0001, "lock_hold_p90": 0.002,
        "lock_hold_p99": 0.3, "lock_reports": 0, "stalled": [], "stuck_lock": False,
        "lock_taken": None, "first_error": None,
    }  # fmt: skip
    values.update(changes)
    return values


ROWS = [
    row("filehandler", 16, 12_345_678.0, ratio=1.0, ratio_min=1.0, ratio_max=1.0),
    row("lockrotate-portalocker", 16, 1_234_567.0),
    row("lockrotate-strict", 16, 654_321.0, ratio=0.5, ratio_min=0.2, ratio_max=0.9),
    row("concurrent-log-handler", 16, 327_160.5, ratio=0.25, ratio_min=0.24, ratio_max=0.26),
    row(
        "stdlib-rotating",
        16,
        1_000_000.0,
        ok=False,
        lost=1_234_567,
        duplicated=12_345,
        torn=1_234,
        handler_errors=12_345,
    ),
    row("stdlib-timed", 16, 1_000_000.0, ok=False, stalled=["w1"]),
]


def rendered(wide: bool, seconds: float | None = 27.4) -> str:
    from rich.console import Console

    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=False)
    report.show([], [], ROWS, "lockrotate bench: a title", console, wide=wide, seconds=seconds)
    return out.getvalue()


def test_the_default_table_fits_100_columns_uncut() -> None:
    text = rendered(wide=False)
    table = text[: text.index("verdict:")]
    assert "…" not in table
    assert max(len(line) for line in table.splitlines()) <= 100
    for cell in ("12,345,678", "0.50x (0.20-0.90)", "1.2M/12k/1234/12k", "STALLED"):
        assert cell in table, cell
    plain = report.plain_table(ROWS)
    assert max(len(line) for line in plain.splitlines()) <= 100
    assert "1.2M/12k/1234/12k" in plain


def test_wide_adds_the_other_columns() -> None:
    narrow, wide = report.plain_table(ROWS), report.plain_table(ROWS, wide=True)
    for header in ("µs/record", "rollovers", "lock wait ms p50/p90/p99"):
        assert header not in narrow
        assert header in wide
    assert "12500.0/" not in narrow  # the lock wait p99 (12.5 s) is only in the wide table


def test_verdict_legend_note_ratio_and_duration() -> None:
    text = rendered(wide=False)
    assert (
        "verdict: stdlib-rotating lost 1,234,567 records and duplicated 12,345 records and "
        "tore 1,234 records; stdlib-timed stalled; lockrotate-portalocker, "
        "lockrotate-strict, concurrent-log-handler: every record once, whole"
    ) in " ".join(text.split())
    # One note for every wide spread, not a warning per row.
    assert text.count("moved more than ±10%") == 1
    assert "lockrotate-strict (16 procs)" in text
    assert "lockrotate-strict vs concurrent-log-handler (records/s medians): 2.00x" in text
    assert "the run took 27 s" in text
    assert "lost/dup/torn/err: records lost, duplicated, torn, and handler errors" in " ".join(
        text.split()
    )
    assert "lockrotate-strict: RotatingFileHandler, lock_every_write=True" in " ".join(text.split())


@pytest.mark.parametrize("wide", [False, True])
def test_plain_output_wraps_notes_at_100(wide: bool, capsys: pytest.CaptureFixture[str]) -> None:
    report.show([], [], ROWS, "t", None, wide=wide, seconds=3.0)
    lines = capsys.readouterr().out.splitlines()
    table_end = next(i for i, line in enumerate(lines) if line.startswith("verdict:"))
    assert all(len(line) <= 100 for line in lines[table_end:])
    assert len(lines[2]) <= 100 or wide
