"""Showing a report: a rich table on a terminal, plain text otherwise.

File names and a lock holder's command line are text other users control: every string
shown passes through :func:`safe`, and rich is given :class:`rich.text.Text`, never markup,
so a name cannot move the cursor, set the terminal's title, forge a line of the report or
break the table.
"""

from __future__ import annotations

import datetime
import os
import sys
from typing import Any

from .report import STATE_TEXT, Report

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def safe(text: str) -> str:
    """*text* as printable characters on one line: control and format characters (escape
    sequences, newlines, bidirectional overrides) as ``\\xNN``/``\\uNNNN``, and a byte of a
    name that is not UTF-8 as ``\\xNN``."""
    if text.isprintable():
        return text
    out = []
    for char in text:
        code = ord(char)
        if char.isprintable():
            out.append(char)
        elif char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        elif 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for an undecodable byte
            out.append(f"\\x{code - 0xDC00:02x}")
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def emit(text: str) -> None:
    """Print *text* and flush; a reader that has gone (``| head -2``) ends the output quietly,
    with no traceback and the exit status the report decided."""
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at /dev/null, so the flush at exit does not fail a second time.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _when_text(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(stamp).isoformat(sep=" ", timespec="seconds")


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def summary(report: Report) -> str:
    if not report.problems:
        return f"lockrotate status {report.options.path}: OK"
    kinds = ", ".join(dict.fromkeys(p["kind"].replace("_", " ") for p in report.problems))
    return (
        f"lockrotate status {report.options.path}: NEEDS ATTENTION "
        f"({len(report.problems)} problem(s): {kinds})"
    )


def _who(process: dict[str, Any]) -> str:
    started = process["started_at"]
    since = "" if started is None else f", running since {_when_text(started)}"
    return f"pid {process['pid']} ({process['command'] or 'command line unknown'}{since})"


def detail_lines(report: Report) -> list[tuple[str, str]]:
    """The base, lock and period facts, as (label, text) pairs."""
    base = report.base
    if base.get("exists"):
        text = (
            f"{base['size']:,} bytes, written {_age(base['age_seconds'])} ago, "
            f"inode {base['inode']} on {base['device']}"
        )
    else:
        text = "missing"
    lines = [("base file", f"{base['path']}: {text}")]
    lines.append(("folder", f"{report.skipped:,} entries of other files skipped (not parsed)"))
    lock = report.lock
    if not lock.get("exists"):
        lines.append(("lock", f"{lock['path']}: no lock file"))
    elif not lock.get("knowable"):
        lines.append(("lock", f"{lock['path']}: holder unknown (no /proc/locks)"))
    elif not lock["holders"]:
        lines.append(("lock", f"{lock['path']}: free"))
    else:
        state = "STUCK" if lock["stuck"] else "moving"
        for process in lock["holders"]:
            lines.append(("lock held by", _who(process)))
        lines.append(("lock", f"{lock['path']}: {state}, watched {lock['watched_seconds']:g} s"))
    for process in lock.get("waiters", []):
        lines.append(("lock waiter", _who(process)))
    period = report.period
    if period is not None and period.get("readable"):
        match = "matches the base file" if period["matches_base"] else "names ANOTHER file"
        lines.append(
            (
                "period",
                f"{_when_text(period['period_start'])} to {_when_text(period['period_end'])} "
                f"({period['signature']}), inode {period['inode']}: {match}",
            )
        )
    elif period is not None:
        lines.append(("period", f"{period['path']}: {period['error']}"))
    return lines


def _file_cells(row: dict[str, Any]) -> list[str]:
    state = STATE_TEXT.get(row["state"], row.get("reason", row["state"]))
    if row["state"] in ("scratch", "stray"):
        state += f" (pid {row['pid']}{'' if row['this_host'] else ', another host'})"
    for process in row.get("held_by", []):
        state += f", held by {_who(process)}"
    return [row["name"], f"{row['size']:,}", _when_text(row["mtime"]), state]


def plain_text(report: Report) -> str:
    out = [safe(summary(report))]
    out += [f"  problem: {safe(p['message'])}" for p in report.problems]
    out += [f"  note: {safe(n['message'])}" for n in report.notes]
    out.append("")
    details = [(label, safe(text)) for label, text in detail_lines(report)]
    width = max(len(label) for label, _ in details)
    out += [f"{label.ljust(width)}  {text}" for label, text in details]
    rows = [[safe(cell) for cell in _file_cells(row)] for row in report.files]
    rows += [[*map(safe, _file_cells(row)[:3]), "OUTSIDE THE SCHEME"] for row in report.outside]
    out.append("")
    if not rows:
        out.append("no rotated files")
        return "\n".join(out)
    table = [["name", "bytes", "modified", "state"], *rows]
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    for line in table:
        cells = [line[0].ljust(widths[0]), line[1].rjust(widths[1]), line[2].ljust(widths[2])]
        out.append("  ".join([*cells, line[3]]))
    return "\n".join(out)


_STYLE = {
    "waiting": "yellow",
    "interrupted": "yellow",
    "side-by-side": "yellow",
    "scratch": "dim",
    "stray": "bold red",
}


def show(report: Report, plain: bool) -> None:
    """A rich table on a terminal (when rich is installed), plain text otherwise."""
    console = None
    if not plain and sys.stdout.isatty():
        try:
            from rich.console import Console

            console = Console(emoji=False, highlight=False)
        except ImportError:
            console = None
    if console is None:
        emit(plain_text(report))
        return
    from rich.table import Table
    from rich.text import Text

    def text(value: str, style: str = "") -> Text:
        return Text(safe(value), style=style)

    console.print(text(summary(report), "bold red" if report.problems else "bold green"))
    for p in report.problems:
        console.print(text(f"  problem: {p['message']}", "red"), soft_wrap=True)
    for n in report.notes:
        console.print(text(f"  note: {n['message']}", "yellow"), soft_wrap=True)
    facts = Table(show_header=False, box=None)
    facts.add_column(style="bold")
    facts.add_column()
    for label, line in detail_lines(report):
        facts.add_row(text(label), text(line))
    console.print(facts)
    files = Table(title="rotated files", title_justify="left")
    for header, justify in (("name", "left"), ("bytes", "right"), ("modified", "left")):
        files.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    files.add_column("state")
    for row in report.files:
        files.add_row(*map(text, _file_cells(row)), style=_STYLE.get(row["state"]))
    for row in report.outside:
        cells = [*map(text, _file_cells(row)[:3]), text("OUTSIDE THE SCHEME")]
        files.add_row(*cells, style="bold red")
    console.print(files)
