"""Instructions per record on the fast path, counted by ``valgrind --tool=callgrind``.

Each case logs N records, then 4N, in a fresh interpreter under callgrind; the difference
divided by 3N is the cost of one record, start-up and set-up cancelled out. Every case logs
the same 100-byte message through ``logger.info`` with the default ``%(message)s`` format.

The floor is what no file handler can beat: format the record, then one ``os.write`` with
no checks. Run from the repository root::

    python benchmarks/callgrind_emit.py            # every case, 20000 and 80000 records
    python benchmarks/callgrind_emit.py --records 5000 floor size

Instruction counts are steady from run to run (unlike wall-clock time on a shared machine),
so they are what the fast path is steered by.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable

MESSAGE = "x" * 99


class Floor(logging.Handler):
    """Format, then one ``os.write``: the least a file handler can do per record."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def emit(self, record: logging.LogRecord) -> None:
        os.write(self.fd, (self.format(record) + "\n").encode())


def _size(path: str) -> logging.Handler:
    import lockrotate

    return lockrotate.RotatingFileHandler(path, maxBytes=1 << 40, backupCount=3)


def _timed(path: str) -> logging.Handler:
    import lockrotate

    return lockrotate.TimedRotatingFileHandler(path, when="D", backupCount=3)


CASES: dict[str, Callable[[str], logging.Handler]] = {
    "floor": Floor,
    "filehandler": logging.FileHandler,
    "size": _size,
    "timed": _timed,
}


def _child(case: str, records: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        handler = CASES[case](os.path.join(folder, "app.log"))
        log = logging.getLogger("callgrind")
        log.handlers[:] = [handler]
        log.setLevel(logging.INFO)
        log.propagate = False
        for _ in range(records):
            log.info(MESSAGE)
        handler.close()


def _instructions(case: str, records: int) -> int:
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={out}/callgrind.out",
                sys.executable,
                __file__,
                "--child",
                case,
                str(records),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from callgrind:\n{done.stderr}")
    return int(found[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000, help="N (default 20000)")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "RECORDS"), help=argparse.SUPPRESS)
    parser.add_argument("cases", nargs="*", help=f"some of {', '.join(CASES)} (default all)")
    args = parser.parse_args()
    if args.child:
        _child(args.child[0], int(args.child[1]))
        return
    unknown = set(args.cases) - set(CASES)
    if unknown:
        parser.error(f"unknown cases {sorted(unknown)}; choose from {', '.join(CASES)}")
    n = args.records
    per_record = {}
    for case in args.cases or list(CASES):
        small, large = _instructions(case, n), _instructions(case, 4 * n)
        per_record[case] = (large - small) / (3 * n)
    floor = per_record.get("floor")
    for case, cost in per_record.items():
        ratio = "" if floor is None else f"  {cost / floor:.3f}x the floor"
        print(f"{case:12} {cost:10,.0f} instructions per record{ratio}")


if __name__ == "__main__":
    main()
