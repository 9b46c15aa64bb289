"""The ``lockrotate`` command line: parsing and dispatch only.

``lockrotate bench`` races handlers on one workload and verifies every record (see
:mod:`lockrotate.bench.session`); ``lockrotate status`` is :func:`lockrotate.status.main`.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import os
import sys
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .._cli import Parser, positive, seconds, size, when
from . import EXIT_USAGE
from .contenders import CONTENDERS, Rotation, default_names
from .workload import START_METHODS

# The session (and what it imports) is loaded only to run a bench, not in every spawned
# worker, which re-imports this module as its __main__.
if TYPE_CHECKING:
    from .session import Options

BENCH_ABOUT = """\
Race logging handlers on the same workload, from real processes, and verify every record.

Every contender writes checkable records into a fresh folder; every file is then read back,
so a handler that loses, duplicates or tears a line is caught whatever its speed. The
contenders take turns, repeat after repeat; the table shows each one's median throughput
and its ratio to logging.FileHandler (median, with the min-max over the repeats).
"""
DEFAULT_TOTAL = 30_000
DEFAULT_REPEAT = 3
DEFAULT_MAX_BYTES = 256 * 1024
DEFAULT_STUCK_SECONDS = 3.0
# Subcommands that live in a module of their own: ``lockrotate NAME ARGS`` calls
# ``lockrotate.NAME.main(ARGS)``, imported only when asked for.
_ELSEWHERE = {"status": "show the state of a log: its files, lock and rotation"}


class _DefaultsHelp(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows a default only where there is one to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


# Argument types --------------------------------------------------------------------------


def _procs(text: str) -> list[int]:
    return sorted({positive(part) for part in text.split(",") if part.strip()} or {0})


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


# The parser, one argument group at a time ------------------------------------------------


def _workload_group(bench: argparse.ArgumentParser) -> None:
    work = bench.add_argument_group("workload")
    work.add_argument(
        "--procs", type=_procs, default=[1, 4], metavar="N,N,...", help="process counts"
    )
    work.add_argument(
        "--start",
        choices=START_METHODS,
        default="spawn",
        help="how workers start (inherit: the parent builds the handler, forks)",
    )
    work.add_argument("--threads", type=positive, default=1, help="threads per process")
    amount = work.add_mutually_exclusive_group()
    amount.add_argument(
        "--records", type=positive, help="records per thread (default: --total split)"
    )
    amount.add_argument(
        "--total",
        type=positive,
        help=f"records per run, split over every thread [{DEFAULT_TOTAL}]",
    )
    amount.add_argument(
        "--seconds",
        type=seconds,
        help=f"run each thread for this long [{DEFAULT_STUCK_SECONDS:g} with --stuck-lock]",
    )
    work.add_argument(
        "--record-size", type=positive, default=100, metavar="BYTES", help="bytes per record"
    )
    work.add_argument(
        "--repeat",
        type=positive,
        default=DEFAULT_REPEAT,
        help="runs of each contender, taking turns; the table shows medians and min-max",
    )


def _rotation_group(bench: argparse.ArgumentParser) -> None:
    rotation = bench.add_argument_group("rotation")
    rotation.add_argument(
        "--max-bytes",
        type=size,
        metavar="SIZE",
        help=f"size rotation (0: none) [{DEFAULT_MAX_BYTES} unless --when is given alone]",
    )
    rotation.add_argument("--when", type=when, help="time rotation, as in the stdlib (S, M...)")
    rotation.add_argument("--interval", type=positive, default=1, help="with --when")
    rotation.add_argument(
        "--backup-count",
        type=positive,
        default=1000,
        help="kept rotated files; fewer than a run makes loses records",
    )


def _scenario_group(bench: argparse.ArgumentParser) -> None:
    scenario = bench.add_argument_group("scenario")
    scenario.add_argument(
        "--stuck-lock",
        action="store_true",
        help="halfway through each run another process takes the log's lock file and keeps "
        "it: who goes on writing, who stalls (runs for --seconds)",
    )


def _output_group(bench: argparse.ArgumentParser) -> None:
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
        help="plot median throughput with min-max bars (needs lockrotate[chart])",
    )
    out.add_argument("--dir", metavar="DIR", help="where to make the temporary folder")
    out.add_argument("--keep", action="store_true", help="keep the log files and say where")
    out.add_argument("--plain", action="store_true", help="plain text even if rich is there")
    out.add_argument(
        "--wide", action="store_true", help="add µs/record, files, rollovers, lock wait/hold"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="lockrotate", description="Tools of the lockrotate logging handlers.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    bench_parser = commands.add_parser(
        "bench",
        help="race handlers on one workload and verify every record",
        description=BENCH_ABOUT,
        formatter_class=_DefaultsHelp,
    )
    for add_group in (_workload_group, _rotation_group, _scenario_group, _output_group):
        add_group(bench_parser)
    bench_parser.set_defaults(subparser=bench_parser)
    for name, about in _ELSEWHERE.items():
        # Listed in the help; the arguments are the module's own business (see main).
        commands.add_parser(name, help=about, add_help=False)
    return parser


# Checks that need more than one argument, or the file system -----------------------------


def _writable(option: str, path: str, parser: argparse.ArgumentParser) -> None:
    """Fail now, not after minutes of benchmarking, if *path* cannot be written."""
    if os.path.isdir(path):
        parser.error(f"argument {option}: {path!r} is a folder; name a file")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        parser.error(f"argument {option}: the folder of {path!r} does not exist")
    try:
        # The file is written beside itself and renamed: the folder must take a new file.
        tempfile.NamedTemporaryFile(dir=folder, prefix=".lockrotate-probe-").close()
    except OSError as exc:
        parser.error(f"argument {option}: cannot write in the folder of {path!r}: {exc.strerror}")


def _check(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    if args.procs == [0]:
        parser.error("argument --procs: give at least one process count")
    if args.start != "spawn" and "fork" not in multiprocessing.get_all_start_methods():
        parser.error(f"argument --start: {args.start!r} needs fork(), which this system lacks")
    if args.stuck_lock and (args.records is not None or args.total is not None):
        parser.error(
            "argument --stuck-lock: runs for --seconds, not a count of records "
            "(a handler stalled on the lock would never finish one)"
        )
    if args.dir is not None and not os.path.isdir(args.dir):
        parser.error(f"argument --dir: {args.dir!r} is not an existing folder")
    for option, path in (("--json", args.json), ("--chart", args.chart)):
        if path is not None:
            _writable(option, path, parser)
    if args.chart is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("argument --chart: needs matplotlib: pip install 'lockrotate[chart]'")


def options(args: argparse.Namespace) -> Options:
    """The bench's options from checked arguments, every default filled in."""
    from .session import Options

    max_bytes = args.max_bytes
    if max_bytes is None:
        max_bytes = 0 if args.when is not None else DEFAULT_MAX_BYTES
    rotation = Rotation(max_bytes, args.when, args.interval, args.backup_count)
    seconds = args.seconds
    if args.stuck_lock and seconds is None:
        seconds = DEFAULT_STUCK_SECONDS
    total = None
    if args.records is None and seconds is None:
        total = args.total or DEFAULT_TOTAL
    return Options(
        procs=args.procs,
        start=args.start,
        threads=args.threads,
        records=args.records,
        total=total,
        seconds=seconds,
        record_size=args.record_size,
        repeat=args.repeat,
        rotation=rotation,
        contenders=args.contenders or default_names(rotation),
        stuck_after=seconds / 2 if args.stuck_lock and seconds is not None else None,
        json=args.json,
        chart=args.chart,
        dir=args.dir,
        keep=args.keep,
        plain=args.plain,
        wide=args.wide,
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in _ELSEWHERE:
        command = importlib.import_module(f"lockrotate.{argv[0]}")
        code: int = command.main(argv[1:])
        return code
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        getattr(args, "subparser", parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _check(args, args.subparser)
    from .session import bench

    return bench(options(args), argv)
