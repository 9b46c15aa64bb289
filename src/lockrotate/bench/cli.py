"""``lockrotate bench``: the same workload through several handlers, each one verified.

Every contender writes checkable records from real processes into a fresh folder; every
file is then read back, so a handler that loses, duplicates or tears a line is caught
whatever its speed. Ratios are against ``logging.FileHandler`` in the same invocation.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import multiprocessing
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

from .. import __version__
from .contenders import CONTENDERS, Rotation, Unavailable, default_names
from .report import notes, plain_table, rich_table, write_chart, write_json
from .runner import Measurement, measure, summarize
from .workload import START_METHODS, HandlerFactory, Workload

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_TOTAL = 40_000
DEFAULT_MAX_BYTES = 256 * 1024
_SIZE = re.compile(r"(\d+)\s*([kmg]?)i?b?", re.IGNORECASE)
_WHEN = re.compile(r"S|M|H|D|MIDNIGHT|W[0-6]", re.IGNORECASE)
_THIRD_PARTY = ("concurrent-log-handler", "filelock", "portalocker", "rich", "matplotlib")


class _Parser(argparse.ArgumentParser):
    """Bad arguments get one line on stderr and exit code 2, never a usage dump."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


class _DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a default only where there is one to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _non_negative(text: str) -> int:
    return 0 if text.strip() == "0" else _positive(text)


def _size(text: str) -> int:
    m = _SIZE.fullmatch(text.strip())
    if m is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 262144, 256k or 1M")
    power = " kmg".index((m[2] or " ").lower())
    return int(m[1]) << (10 * power)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    return value


def _procs(text: str) -> list[int]:
    return sorted({_positive(part) for part in text.split(",") if part.strip()} or {0})


def _when(text: str) -> str:
    if _WHEN.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of S, M, H, D, MIDNIGHT, W0-W6")
    return text.upper()


def _names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if names == ["all"]:
        return list(CONTENDERS)
    unknown = [name for name in names if name not in CONTENDERS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown {', '.join(map(repr, unknown)) or 'empty list'}; "
            f"choose from {', '.join(CONTENDERS)} or all"
        )
    return list(dict.fromkeys(names))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lockrotate", description="Tools of the lockrotate logging handlers.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    bench = commands.add_parser(
        "bench",
        help="race handlers on one workload and verify every record",
        description=__doc__,
        formatter_class=_DefaultsHelp,
    )
    work = bench.add_argument_group("workload")
    work.add_argument(
        "--procs",
        type=_procs,
        default=[1, 4],
        metavar="N,N,...",
        help="process counts, one run per count",
    )
    work.add_argument(
        "--start",
        choices=START_METHODS,
        default="spawn",
        help="how workers start (inherit: the parent builds the handler, forks)",
    )
    work.add_argument("--threads", type=_positive, default=1, help="threads per process")
    amount = work.add_mutually_exclusive_group()
    amount.add_argument(
        "--records",
        type=_positive,
        help="records per thread (default: --total split over all threads)",
    )
    amount.add_argument(
        "--total",
        type=_positive,
        help=f"records per run, split over every thread [{DEFAULT_TOTAL}]",
    )
    amount.add_argument("--seconds", type=_seconds, help="run each thread for this long")
    work.add_argument(
        "--record-size",
        type=_positive,
        default=100,
        metavar="BYTES",
        help="bytes per record, newline included",
    )
    work.add_argument(
        "--repeat",
        type=_positive,
        default=1,
        help="runs of each contender; the table shows the fastest",
    )
    rotation = bench.add_argument_group("rotation")
    rotation.add_argument(
        "--max-bytes",
        type=_size,
        metavar="SIZE",
        help=f"size rotation (0: none) [{DEFAULT_MAX_BYTES} unless --when is given alone]",
    )
    rotation.add_argument("--when", type=_when, help="time rotation, as in the stdlib (S, M...)")
    rotation.add_argument("--interval", type=_positive, default=1, help="with --when")
    rotation.add_argument(
        "--backup-count",
        type=_positive,
        default=1000,
        help="kept rotated files; fewer than a run makes loses records",
    )
    out = bench.add_argument_group("contenders and output")
    out.add_argument(
        "--contenders",
        type=_names,
        metavar="NAME,...",
        help=f"from {', '.join(CONTENDERS)}, or all "
        "(default: those that fit the rotation asked for)",
    )
    out.add_argument("--json", metavar="FILE", help="write every figure to FILE")
    out.add_argument(
        "--chart",
        metavar="FILE.png",
        help="plot throughput against processes (needs lockrotate[chart])",
    )
    out.add_argument("--dir", metavar="DIR", help="where to make the temporary folder")
    out.add_argument("--keep", action="store_true", help="keep the log files and say where")
    out.add_argument("--plain", action="store_true", help="plain text even if rich is there")
    bench.set_defaults(subparser=bench)
    return parser


def _workload(args: argparse.Namespace, procs: int) -> Workload:
    if args.seconds is not None:
        return Workload(procs, args.threads, 0, args.record_size, args.start, seconds=args.seconds)
    records = args.records
    if records is None:
        records = max(1, (args.total or DEFAULT_TOTAL) // (procs * args.threads))
    return Workload(procs, args.threads, records, args.record_size, args.start)


def _check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if args.procs == [0]:
        parser.error("argument --procs: give at least one process count")
    if args.start != "spawn" and "fork" not in multiprocessing.get_all_start_methods():
        parser.error(f"argument --start: {args.start!r} needs fork(), which this system lacks")
    if args.dir is not None and not os.path.isdir(args.dir):
        parser.error(f"argument --dir: {args.dir!r} is not an existing folder")
    for option, path in (("--json", args.json), ("--chart", args.chart)):
        if path is not None and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            parser.error(f"argument {option}: the folder of {path!r} does not exist")
    if args.chart is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("argument --chart: needs matplotlib: pip install 'lockrotate[chart]'")


def _probe(factory: HandlerFactory, folder: str) -> None:
    """Build and close one handler here first: a worker whose handler cannot be built
    would otherwise hold the others at the start barrier until its timeout."""
    os.makedirs(folder)
    try:
        factory(os.path.join(folder, "app.log")).close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _contenders(
    names: list[str], rotation: Rotation, folder: str
) -> tuple[dict[str, HandlerFactory], dict[str, str]]:
    ready: dict[str, HandlerFactory] = {}
    skipped: dict[str, str] = {}
    for name in names:
        try:
            factory = CONTENDERS[name].factory(rotation)
            _probe(factory, os.path.join(folder, f"probe-{name}"))
        except Unavailable as why:
            skipped[name] = str(why)
        except Exception as exc:
            skipped[name] = f"cannot build its handler: {type(exc).__name__}: {exc}"
        else:
            ready[name] = factory
    return ready, skipped


class _Progress:
    """A rich progress bar, or one plain line per run; refreshed only between runs, since a
    refresh thread in the parent could hold stdout's lock at the moment a worker forks."""

    def __init__(self, total: int, console: Any) -> None:
        self._total, self._done, self._console = total, 0, console
        self._bar: Any = None
        if console is not None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
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
    def running(self) -> Iterator[_Progress]:
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
        result = (
            "could not run"
            if m is None
            else (f"{m.records_per_s:,.0f} records/s, " + ("ok" if m.ok else "FAILED the check"))
        )
        print(f"[{self._done}/{self._total}] {what}: {result}", file=sys.stderr, flush=True)


def _consoles(plain: bool) -> tuple[Any, Any]:
    if plain:
        return None, None
    try:
        from rich.console import Console
    except ImportError:
        return None, None
    out = Console()
    if not out.is_terminal:
        out = Console(width=200)
    err = Console(stderr=True)
    # A bar redrawn into a file or a pipe is noise: one plain line per run reads better there.
    return out, err if err.is_terminal else None


def _versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for package in _THIRD_PARTY:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = None
    return found


def _describe(args: argparse.Namespace, rotation: Rotation) -> str:
    if args.seconds is not None:
        amount = f"{args.seconds:g} s per thread"
    elif args.records is not None:
        amount = f"{args.records:,} records per thread"
    else:
        amount = f"{args.total or DEFAULT_TOTAL:,} records per run"
    rolls = []
    if rotation.by_size:
        rolls.append(f"max-bytes {rotation.max_bytes:,}")
    if rotation.by_time:
        rolls.append(f"when {rotation.when} x{rotation.interval}")
    return (
        f"lockrotate bench: {amount} of {args.record_size} B, {args.threads} thread(s) per "
        f"process, start={args.start}, {' + '.join(rolls) or 'no rotation'}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )


def bench(args: argparse.Namespace, argv: Sequence[str]) -> int:
    _check(args, args.subparser)
    max_bytes = args.max_bytes
    if max_bytes is None:
        max_bytes = 0 if args.when is not None else DEFAULT_MAX_BYTES
    rotation = Rotation(max_bytes, args.when, args.interval, args.backup_count)
    names = args.contenders or default_names(rotation)
    out, err = _consoles(args.plain)
    title = _describe(args, rotation)
    folder = tempfile.mkdtemp(prefix="lockrotate-bench-", dir=args.dir)
    began = time.time()
    try:
        factories, skipped = _contenders(names, rotation, folder)
        measurements = _race(args, factories, skipped, folder, err)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    rows = _rows(measurements, factories)
    document = {
        "lockrotate": __version__,
        "python": sys.version,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "packages": _versions(),
        "command": ["lockrotate", *argv],
        "started": began,
        "seconds": time.time() - began,
        "title": title,
        "workload": {
            "procs": args.procs,
            "threads": args.threads,
            "records_per_thread": args.records,
            "total": None if args.records or args.seconds else args.total or DEFAULT_TOTAL,
            "seconds": args.seconds,
            "record_size": args.record_size,
            "start": args.start,
            "repeat": args.repeat,
        },
        "rotation": {
            "max_bytes": rotation.max_bytes,
            "when": rotation.when,
            "interval": rotation.interval,
            "backup_count": rotation.backup_count,
        },
        "contenders": names,
        "skipped": skipped,
        "rows": rows,
        "runs": [m.as_dict() for m in measurements],
        "kept": folder if args.keep else None,
    }
    _show(rows, skipped, rotation, title, out)
    if args.json:
        write_json(args.json, document)
    if args.chart and rows:
        write_chart(args.chart, rows, title)
    if args.keep:
        print(f"log files kept in {folder}", file=sys.stderr)
    ours_failed = any(not row["ok"] and CONTENDERS[row["contender"]].ours for row in rows)
    return EXIT_FAILED if ours_failed else EXIT_OK


def _race(
    args: argparse.Namespace,
    factories: dict[str, HandlerFactory],
    skipped: dict[str, str],
    folder: str,
    err: Any,
) -> list[Measurement]:
    """Interleave the contenders, so that a noisy moment hits them all alike."""
    plan = [
        (repeat, procs, name)
        for repeat in range(args.repeat)
        for procs in args.procs
        for name in factories
    ]
    progress = _Progress(len(plan), err)
    measurements: list[Measurement] = []
    with progress.running():
        for repeat, procs, name in plan:
            what = f"{name}, {procs} procs" + (f" (run {repeat + 1})" if args.repeat > 1 else "")
            if name in skipped:
                progress.finished(what, None)
                continue
            progress.starting(what)
            try:
                m = measure(
                    name,
                    factories[name],
                    _workload(args, procs),
                    os.path.join(folder, f"{name}-p{procs}-r{repeat}"),
                    repeat,
                    args.keep,
                )
            except Exception as exc:
                skipped[name] = f"failed with {procs} procs: {type(exc).__name__}: {exc}"
                measurements = [m for m in measurements if m.contender != name]
                progress.finished(what, None)
                continue
            measurements.append(m)
            progress.finished(what, m)
    return measurements


def _rows(measurements: list[Measurement], factories: dict[str, Any]) -> list[dict[str, Any]]:
    groups: dict[tuple[int, str], list[Measurement]] = {}
    for m in measurements:
        groups.setdefault((m.procs, m.contender), []).append(m)
    order = {name: i for i, name in enumerate(factories)}
    rows = [summarize(groups[key]) for key in sorted(groups, key=lambda k: (k[0], order[k[1]]))]
    ceiling = {
        row["procs"]: row["records_per_s"] for row in rows if row["contender"] == "filehandler"
    }
    for row in rows:
        base = ceiling.get(row["procs"])
        row["ratio"] = row["records_per_s"] / base if base else None
    return rows


def _show(
    rows: list[dict[str, Any]], skipped: dict[str, str], rotation: Rotation, title: str, out: Any
) -> None:
    lines = notes(rows, skipped, rotation.backup_count)
    if out is None:
        print(title)
        print(plain_table(rows))
        for line in lines:
            print(line)
        return
    out.print(rich_table(rows, title))
    for line in lines:
        out.print(line, style="red" if "skipped" not in line else "yellow", highlight=False)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        getattr(args, "subparser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    return bench(args, argv)
