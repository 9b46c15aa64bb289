"""``lockrotate status PATH``: what a shared log is doing, for the person on call.

Everything a handler knows about a log is on disk or in the kernel, so a separate process can
show it without taking part: status reads only. It never takes the lock and never opens a
file for writing (the lock file is only stat'ed; the period file is read once).

1. The folder is listed once, and each name is parsed with the core's own inventory
   (:meth:`lockrotate._archive.Inventory.scan`) under every scheme the log may use:
   numbered names, and dated names for ``--when`` (without it: the S, M, H and D label
   formats), each plain or compressed with any extension lockrotate writes.
2. Whatever starts with the log's name (or its hidden stem) and no scheme claims is "outside
   the scheme": lockrotate never touches it, so a person must.
3. ``/proc/locks`` tells who holds the lock file and who is blocked on it. It carries no start
   time, so when the lock is held status watches it (every 20 ms) for up to ``--stuck-after``
   seconds: held by the same process at every look means stuck. A free lock costs no wait.
4. The period file's entry says which file (device, inode) holds which period.
5. ``/proc/locks`` also names the writers still holding a plain rotated file (each writer
   holds its file with a shared ``flock``): compression and retention wait for them.

Exit status: 0 healthy, 1 something needs a person, 2 the command could not run as asked.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence

from .._cli import EXIT_USAGE, Parser, positive, seconds, when
from .folder import read_base, read_period, scan_folder
from .locks import lock_users, read_lock, read_writers
from .report import DEFAULT_STUCK_AFTER, OVERSIZE_FACTOR, SCHEMA, Options, Report
from .show import emit, plain_text, show

__all__ = [
    "DEFAULT_STUCK_AFTER",
    "SCHEMA",
    "Options",
    "Report",
    "build_parser",
    "inspect",
    "lock_users",
    "main",
    "plain_text",
    "show",
]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="lockrotate status",
        description=(
            "Show a log's files, lock and period without touching them (read only). "
            "Exit status: 0 healthy, 1 something needs a person, 2 bad usage."
        ),
    )
    parser.add_argument("path", help="the log's base file, as given to the handler")
    parser.add_argument("--lock-dir", help="the handler's lock_dir, if it has one")
    parser.add_argument(
        "--when",
        type=when,
        help="the timed log's when: only its label format makes dated names (default: the "
        "S, M, H and D formats); numbered names always count",
    )
    parser.add_argument("--utc", action="store_true", help="dated names are in UTC")
    parser.add_argument(
        "--max-bytes",
        type=positive,
        help=f"the handler's maxBytes: a base file over {OVERSIZE_FACTOR}x needs a person",
    )
    parser.add_argument(
        "--stuck-after",
        type=seconds,
        default=DEFAULT_STUCK_AFTER,
        help="a lock held by one process this long is stuck; status watches a held lock "
        "for up to this long (default %(default)g s)",
    )
    parser.add_argument("--json", action="store_true", help="a JSON document on stdout")
    parser.add_argument("--plain", action="store_true", help="plain text even on a terminal")
    return parser


def inspect(options: Options, sleep: Callable[[float], None] = time.sleep) -> Report:
    """Everything status shows about the log at *options.path* (read only)."""
    now = time.time()
    report = Report(options, now)
    names = os.listdir(os.path.dirname(options.path))
    base = read_base(report, now)
    scan_folder(report, names, now)
    read_writers(report)
    read_period(report, base)
    read_lock(report, sleep)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    path = os.path.abspath(args.path)
    prog = "lockrotate status"
    if not os.path.isdir(os.path.dirname(path)):
        print(f"{prog}: error: no folder {os.path.dirname(path)!r}", file=sys.stderr)
        return EXIT_USAGE
    if os.path.isdir(path):
        print(f"{prog}: error: {path!r} is a folder; give the log's base file", file=sys.stderr)
        return EXIT_USAGE
    if args.lock_dir is not None and not os.path.isdir(args.lock_dir):
        print(f"{prog}: error: no folder {args.lock_dir!r} (--lock-dir)", file=sys.stderr)
        return EXIT_USAGE
    options = Options(path, args.lock_dir, args.when, args.utc, args.max_bytes, args.stuck_after)
    try:
        report = inspect(options)
    except OSError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        emit(json.dumps(report.document(), indent=2))
    else:
        show(report, plain=args.plain)
    return report.exit_code
