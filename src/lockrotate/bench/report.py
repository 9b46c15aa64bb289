"""The results as a table (rich when installed, plain text otherwise), JSON and a chart."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Sequence
from typing import Any

HEADERS = (
    "contender",
    "procs",
    "records/s",
    "µs/record",
    "vs FileHandler",
    "check",
    "lost dup torn err",
    "files",
    "rollovers",
    "lock wait ms p50/p99/max",
    "lock held ms p99/max",
)
_RIGHT = {1, 2, 3, 4, 7, 8}


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    ms = value * 1e3
    return f"{ms:.3f}" if ms < 1 else f"{ms:.1f}"


def _triple(values: Sequence[float | None]) -> str:
    if all(v is None for v in values):
        return "-"
    return "/".join(_ms(v) for v in values)


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
    if row["crashed"]:
        parts.append(f"{len(row['crashed'])} workers crashed")
    return ", ".join(parts)


def cells(row: dict[str, Any]) -> list[str]:
    ratio = row.get("ratio")
    return [
        row["contender"],
        str(row["procs"]),
        f"{row['records_per_s']:,.0f}",
        f"{row['us_per_record']:.1f}",
        "-" if ratio is None else f"{ratio:.2f}x",
        "ok" if row["ok"] else "FAILED",
        f"{row['lost']}/{row['duplicated']}/{row['torn']}/{row['handler_errors']}",
        str(row["files"]),
        "-" if row["rollovers"] is None else str(row["rollovers"]),
        _triple((row["lock_wait_p50"], row["lock_wait_p99"], row["lock_wait_max"])),
        _triple((row["lock_held_p99"], row["lock_held_max"])),
    ]


def notes(rows: Sequence[dict[str, Any]], skipped: dict[str, str], backup_count: int) -> list[str]:
    """One line for each failed row and each contender that could not run."""
    lines = [f"{name}: skipped, {why}" for name, why in skipped.items()]
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


def plain_table(rows: Sequence[dict[str, Any]]) -> str:
    table = [list(HEADERS)] + [cells(row) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADERS))]
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


def rich_table(rows: Sequence[dict[str, Any]], title: str) -> Any:
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, title_justify="left")
    for i, header in enumerate(HEADERS):
        table.add_column(header, justify="right" if i in _RIGHT else "left", no_wrap=i < 2)
    previous = None
    for row in rows:
        if previous is not None and row["procs"] != previous:
            table.add_section()
        previous = row["procs"]
        texts = [Text(text) for text in cells(row)]
        if row["ok"]:
            texts[5].stylize("green")
        else:
            for failed in (0, 5, 6):
                texts[failed].stylize("bold red")
        table.add_row(*texts)
    return table


def write_json(path: str, document: dict[str, Any]) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def write_chart(path: str, rows: Sequence[dict[str, Any]], title: str) -> None:
    """Throughput against process count, one line per contender; failed runs as red crosses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5.5), dpi=120)
    failed_label = "failed the check"
    for name in dict.fromkeys(row["contender"] for row in rows):
        mine = sorted((r for r in rows if r["contender"] == name), key=lambda r: r["procs"])
        procs = [r["procs"] for r in mine]
        rates = [r["records_per_s"] for r in mine]
        ax.plot(procs, rates, marker="o", label=name)
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
    ax.set_ylabel("records per second (all processes)")
    ax.set_ylim(bottom=0)
    ax.set_title("\n".join(textwrap.wrap(title, 90)), fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
