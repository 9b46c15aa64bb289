"""What ``lockrotate bench`` shows: the progress while it runs, then the table (rich when
installed, plain text otherwise), the notes, the JSON document and the chart."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import textwrap
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .runner import BASELINE, Measurement

# The default table fits 100 columns (rich's borders included); --wide adds the rest.
HEADERS = ("contender", "procs", "records/s", "vs FileHandler", "check", "lost/dup/torn/err")
WIDE_HEADERS = (
    *HEADERS,
    "µs/record",
    "files",
    "rollovers",
    "lock wait ms p50/p90/p99",
    "lock hold ms p50/p90/p99",
)
_RIGHT = {1, 2, 3, 5, 6, 7, 8}
_CHECK = 4
_CHECKS = 5
WIDTH = 100
STRICT, CLH = "lockrotate-strict", "concurrent-log-handler"


@dataclass
class Document:
    """Everything ``--json`` writes: the set-up, one row per contender and process count,
    and every run behind the rows."""

    lockrotate: str
    python: str
    platform: str
    cpus: int | None
    packages: dict[str, str | None]
    command: list[str]
    started: float
    seconds: float
    title: str
    workload: dict[str, Any]
    rotation: dict[str, Any]
    stuck_lock_after: float | None
    contenders: list[str]
    skipped: dict[str, str]
    rows: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    warnings: list[str]
    kept: str | None

    def write(self, path: str) -> None:
        """Replace *path* whole: a reader never sees half a document."""
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(asdict(self), f, indent=2)
            f.write("\n")
        os.replace(tmp, path)


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    ms = value * 1e3
    return f"{ms:.3f}" if ms < 1 else f"{ms:.1f}"


def _triple(values: Sequence[float | None]) -> str:
    if all(v is None for v in values):
        return "-"
    return "/".join(_ms(v) for v in values)


def _count(n: int) -> str:
    """A count in at most 4 characters (the verdict line gives the exact figure)."""
    if n < 10_000:
        return str(n)
    if n < 1_000_000:
        return f"{n // 1000}k"
    return f"{n / 1e6:.1f}M" if n < 10_000_000 else f"{n // 1_000_000}M"


def _ratio(row: dict[str, Any]) -> str:
    ratio = row["ratio"]
    if ratio is None:
        return "-"
    if row["ratio_min"] == row["ratio_max"]:
        return f"{ratio:.2f}x"
    return f"{ratio:.2f}x ({row['ratio_min']:.2f}-{row['ratio_max']:.2f})"


def verdict(row: dict[str, Any]) -> str:
    """What went wrong in words, or an empty string."""
    parts = [
        f"{row[name]} {label}"
        for name, label in (
            ("lost", "lost"),
            ("duplicated", "duplicated"),
            ("torn", "torn"),
            ("out_of_order", "out of order"),
            ("unexpected", "unexpected"),
            ("handler_errors", "handler errors"),
        )
        if row[name]
    ]
    if row["lock_reports"] and not row["stuck_lock"]:
        parts.append(f"{row['lock_reports']} lock timeouts")
    if row["crashed"]:
        parts.append(f"{len(row['crashed'])} workers crashed")
    if row["stalled"]:
        parts.append(
            f"stalled: {len(row['stalled'])} writers never came back from emit(); "
            "every record they finished was checked"
        )
    return ", ".join(parts)


def cells(row: dict[str, Any], wide: bool = False) -> list[str]:
    check = "ok" if row["ok"] else "STALLED" if row["stalled"] else "FAILED"
    short = [
        row["contender"],
        str(row["procs"]),
        f"{row['records_per_s']:,.0f}",
        _ratio(row),
        check,
        "/".join(_count(row[key]) for key in ("lost", "duplicated", "torn", "handler_errors")),
    ]
    if not wide:
        return short
    return [
        *short,
        f"{row['us_per_record']:.1f}",
        str(row["files"]),
        "-" if row["rollovers"] is None else str(row["rollovers"]),
        _triple([row[f"lock_wait_{p}"] for p in ("p50", "p90", "p99")]),
        _triple([row[f"lock_hold_{p}"] for p in ("p50", "p90", "p99")]),
    ]


def legend(rows: Sequence[dict[str, Any]], wide: bool) -> list[str]:
    """What the columns and the contenders' names mean, for the contenders in *rows*."""
    from .contenders import CONTENDERS

    lines = [
        "records/s: all processes together, the median of the repeats. vs FileHandler: the "
        "median of the per-repeat ratios to logging.FileHandler (min-max), so it need not "
        "equal the quotient of two records/s medians.",
        "check: every record read back once, whole; lost/dup/torn/err: records lost, "
        "duplicated, torn, and handler errors, summed over the repeats (k: thousands, M: millions)."
        + ("" if wide else " --wide adds µs/record, files, rollovers, lock wait/hold."),
    ]
    names = dict.fromkeys(row["contender"] for row in rows)
    lines.append(
        "; ".join(f"{name}: {CONTENDERS[name].about}" for name in names if name in CONTENDERS)
    )
    return lines


def one_line_verdict(rows: Sequence[dict[str, Any]]) -> str:
    """Who lost, duplicated or tore records, and how many; then who did not."""
    bad: dict[str, list[str]] = {}
    good: list[str] = []
    for name in dict.fromkeys(row["contender"] for row in rows):
        if name == BASELINE:  # the reference: it does not rotate
            continue
        mine = [row for row in rows if row["contender"] == name]
        parts = [
            f"{label} {sum(row[key] for row in mine):,} records"
            for key, label in (("lost", "lost"), ("duplicated", "duplicated"), ("torn", "tore"))
            if any(row[key] for row in mine)
        ]
        if any(row["stalled"] for row in mine):
            parts.append("stalled")
        if parts:
            bad[name] = parts
        elif all(row["ok"] for row in mine):
            good.append(name)
    failing = [f"{name} {' and '.join(parts)}" for name, parts in bad.items()]
    clean = f"{', '.join(good)}: every record once, whole" if good else ""
    return "verdict: " + "; ".join(filter(None, [*failing, clean]))


def spread_note(rows: Sequence[dict[str, Any]]) -> str | None:
    """One note for every ratio whose spread is wide (see ``runner.wide_spreads``)."""
    from .runner import wide_spreads

    wide = [row for row in rows if wide_spreads([row])]
    if not wide:
        return None
    which: dict[str, list[str]] = {}
    for row in wide:
        which.setdefault(row["contender"], []).append(str(row["procs"]))
    listed = ", ".join(f"{name} ({'/'.join(procs)} procs)" for name, procs in which.items())
    return (
        f"note: these ratios moved more than ±10% between repeats: {listed}. Another run may "
        "disagree: add --repeat or --total, or quiet the machine, before quoting them."
    )


def strict_vs_clh(rows: Sequence[dict[str, Any]]) -> str | None:
    """Strict mode's records/s over concurrent-log-handler's (both lock every record)."""
    rates = {(row["contender"], row["procs"]): row["records_per_s"] for row in rows}
    pairs = [
        (procs, rates[STRICT, procs] / rates[CLH, procs])
        for (name, procs) in rates
        if name == STRICT and rates.get((CLH, procs))
    ]
    if not pairs:
        return None
    figures = ", ".join(f"{ratio:.2f}x with {procs} procs" for procs, ratio in pairs)
    return f"{STRICT} vs {CLH} (records/s medians): {figures}"


def remarks(rows: Sequence[dict[str, Any]], skipped: dict[str, str]) -> list[str]:
    """One line for each contender that could not run, and what a stuck lock did."""
    lines = [f"{name}: skipped, {why}" for name, why in skipped.items()]
    for row in rows:
        what = f"{row['contender']} with {row['procs']} procs"
        if row["stuck_lock"] and row["lock_taken"] is None:
            lines.append(f"{what}: the run ended before the lock was taken; lengthen --seconds")
        elif row["stuck_lock"] and not row["stalled"]:
            timeouts = (
                "" if row["lock_timeouts"] is None else f", {row['lock_timeouts']} lock timeouts"
            )
            lines.append(
                f"{what}: wrote on with the lock stuck from {row['lock_taken']:.1f} s{timeouts}"
            )
    return lines


def failures(rows: Sequence[dict[str, Any]], backup_count: int) -> list[str]:
    """One line for each row that failed the check or stalled."""
    lines = []
    for row in rows:
        what = verdict(row)
        if not what:
            continue
        line = f"{row['contender']} with {row['procs']} procs: {what}"
        if row["first_error"]:
            line += f" (first error: {row['first_error']})"
        if row["rotated_files"] >= backup_count:
            line += f"; note: {row['rotated_files']} rotated files reached --backup-count"
        lines.append(line)
    return lines


def plain_table(rows: Sequence[dict[str, Any]], wide: bool = False) -> str:
    headers = WIDE_HEADERS if wide else HEADERS
    table = [list(headers)] + [cells(row, wide) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(headers))]
    out = []
    for line in table:
        out.append(
            "  ".join(
                text.rjust(widths[i]) if i in _RIGHT else text.ljust(widths[i])
                for i, text in enumerate(line)
            ).rstrip()
        )
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def rich_table(rows: Sequence[dict[str, Any]], title: str, wide: bool = False) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left")
    for i, header in enumerate(WIDE_HEADERS if wide else HEADERS):
        table.add_column(header, justify="right" if i in _RIGHT else "left", no_wrap=True)
    previous = None
    for row in rows:
        if previous is not None and row["procs"] != previous:
            table.add_section()
        previous = row["procs"]
        texts = [Text(text) for text in cells(row, wide)]
        if row["ok"]:
            texts[_CHECK].stylize("green")
        else:
            for failed in (0, _CHECK, _CHECKS):
                texts[failed].stylize("bold red")
        table.add_row(*texts)
    return table


def show(
    failed: Sequence[str],
    remarked: Sequence[str],
    rows: Sequence[dict[str, Any]],
    title: str,
    out: Any,
    *,
    wide: bool = False,
    seconds: float | None = None,
) -> None:
    """The table, the verdict, then the *failed* lines (red), the *remarked* ones and the
    spread note (yellow), the legend and the run's duration. Each line is whole: a path in
    a note is never cut in the middle; plain text wraps at 100 columns between words."""
    tail = [
        note
        for note in (
            strict_vs_clh(rows),
            spread_note(rows),
            None if seconds is None else f"the run took {seconds:.0f} s",
        )
        if note
    ]
    if out is None:
        print(textwrap.fill(title, WIDTH))
        print(plain_table(rows, wide))
        print(textwrap.fill(one_line_verdict(rows), WIDTH, subsequent_indent="  "))
        for line in (*failed, *remarked):
            print(line)
        for line in (*tail, *legend(rows, wide)):
            print(textwrap.fill(line, WIDTH, subsequent_indent="  ", break_on_hyphens=False))
        return
    out.print(rich_table(rows, title, wide))
    out.print(one_line_verdict(rows), style="bold", highlight=False)
    for lines, style in ((failed, "red"), (remarked, "yellow")):
        for line in lines:
            out.print(line, style=style, highlight=False, soft_wrap=True)
    for line in tail:
        out.print(line, style="yellow", highlight=False)
    for line in legend(rows, wide):
        out.print(line, style="dim", highlight=False)


def consoles(plain: bool) -> tuple[Any, Any]:
    """rich consoles for the table and for the progress bar (None: plain text)."""
    if plain:
        return None, None
    try:
        from rich.console import Console
    except ImportError:
        return None, None
    out = Console()
    if not out.is_terminal:
        out = Console(width=WIDTH)
    err = Console(stderr=True)
    # A bar redrawn into a file or a pipe is noise: one plain line per run reads better there.
    return out, err if err.is_terminal else None


class Progress:
    """A rich progress bar, or one plain line per run; refreshed only between runs, since a
    refresh thread in the parent could hold stdout's lock at the moment a worker forks."""

    def __init__(self, total: int, console: Any) -> None:
        self._total, self._done, self._console = total, 0, console
        self._bar: Any = None
        if console is not None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn("{task.description:<40}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=console,
                auto_refresh=False,
                transient=True,
            )
            self._task = self._bar.add_task("starting", total=total)

    @contextlib.contextmanager
    def running(self) -> Iterator[Progress]:
        if self._bar is None:
            yield self
            return
        with self._bar:
            yield self

    def starting(self, what: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=what)
            self._bar.refresh()

    def finished(self, what: str, m: Measurement | None) -> None:
        self._done += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1)
            self._bar.refresh()
            return
        if m is None:
            result = "could not run"
        else:
            check = "ok" if m.ok else "stalled" if m.stalled else "FAILED the check"
            result = f"{m.records_per_s:,.0f} records/s, {check}"
        print(f"[{self._done}/{self._total}] {what}: {result}", file=sys.stderr, flush=True)


def write_chart(path: str, rows: Sequence[dict[str, Any]], title: str) -> None:
    """Median throughput against process count, one line per contender, with min-max error
    bars over the repeats; failed runs as red crosses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5.5), dpi=120)
    failed_label = "failed the check"
    for name in dict.fromkeys(row["contender"] for row in rows):
        mine = sorted((r for r in rows if r["contender"] == name), key=lambda r: r["procs"])
        procs = [r["procs"] for r in mine]
        rates = [r["records_per_s"] for r in mine]
        spread = [
            [r["records_per_s"] - r["records_per_s_min"] for r in mine],
            [r["records_per_s_max"] - r["records_per_s"] for r in mine],
        ]
        ax.errorbar(procs, rates, yerr=spread, marker="o", capsize=4, label=name)
        bad = [(r["procs"], r["records_per_s"]) for r in mine if not r["ok"]]
        if bad:
            ax.scatter(
                [p for p, _ in bad],
                [v for _, v in bad],
                marker="x",
                s=120,
                color="red",
                zorder=3,
                label=failed_label,
            )
            failed_label = "_nolegend_"
    every_procs = sorted({row["procs"] for row in rows})
    if every_procs[-1] >= 4 * every_procs[0]:
        ax.set_xscale("log", base=2)
    ax.set_xticks(every_procs, [str(p) for p in every_procs])
    ax.minorticks_off()
    ax.set_xlabel("processes")
    ax.set_ylabel("records per second, median of the repeats (bars: min-max)")
    ax.set_ylim(bottom=0)
    ax.set_title("\n".join(textwrap.wrap(title, 90)), fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
