"""How a rollover's lock hold grows with ``backupCount``, folder size and a retention backlog.

Run: python benchmarks/rollover_growth.py [--repeats 5] [--rollovers 15] [--dir /path]

One process logs through ``RotatingFileHandler(maxBytes=20_000)`` until it has rotated
``--rollovers`` times; the hold of each of its rollovers comes from ``handler.stats``. Each case
runs ``--repeats`` times in a fresh folder; the table gives the median of the repeats' medians
and their spread (lowest to highest). The backlog case (timed ``M`` plus size, ``max_age`` one
day, 5,000 expired dated files) also gives the longest hold: the first rollover meets the
backlog. "1,000 bare renames" is the floor for a full chain of 1,000: ``os.rename`` of 1,000
files, one by one, in the same kind of folder: the median of 3 measured right after each
repeat of each case (the machine's load changes during a run); the chain's row compares each
of its repeats with the renames measured right after it.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

import lockrotate

RECORD = "x" * 100
MAX_BYTES = 20_000
DAY = 86_400


@dataclass
class Case:
    name: str
    make: Callable[[str], logging.Handler]
    plant: Callable[[str], None]


def plant_chain(count: int) -> Callable[[str], None]:
    def plant(folder: str) -> None:
        for index in range(1, count + 1):
            with open(os.path.join(folder, f"app.log.{index}"), "wb") as f:
                f.write(b"old backup\n")

    return plant


def plant_unrelated(count: int) -> Callable[[str], None]:
    def plant(folder: str) -> None:
        for index in range(count):
            os.close(os.open(os.path.join(folder, f"service-{index:06}.log"), os.O_CREAT, 0o644))

    return plant


def plant_backlog(folder: str) -> None:
    """5,000 dated files of minutes ten days ago, each last written then: all expired."""
    start = time.time() - 10 * DAY
    for minute in range(5_000):
        stamp = start + 60 * minute
        label = time.strftime("%Y-%m-%d_%H-%M", time.localtime(stamp))
        path = os.path.join(folder, f"app.log.{label}")
        with open(path, "wb") as f:
            f.write(b"old\n")
        os.utime(path, (stamp, stamp))


def size_handler(backup_count: int) -> Callable[[str], logging.Handler]:
    def make(path: str) -> logging.Handler:
        return lockrotate.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=backup_count)

    return make


def backlog_handler(path: str) -> logging.Handler:
    return lockrotate.TimedRotatingFileHandler(path, when="M", maxBytes=MAX_BYTES, max_age=DAY)


CASES = [
    Case("backupCount=5, empty folder", size_handler(5), lambda folder: None),
    Case("backupCount=100, chain full", size_handler(100), plant_chain(100)),
    Case("backupCount=1000, chain full", size_handler(1000), plant_chain(1000)),
    Case("backupCount=5, 10,000 unrelated files", size_handler(5), plant_unrelated(10_000)),
    Case("backupCount=5, 100,000 unrelated files", size_handler(5), plant_unrelated(100_000)),
    Case("timed M + size, max_age=1 day, 5,000 expired", backlog_handler, plant_backlog),
]


def holds(case: Case, base: str | None, rollovers: int) -> list[float]:
    """The lock hold (ms) of each rollover of one run in a fresh folder."""
    with tempfile.TemporaryDirectory(dir=base) as folder:
        case.plant(folder)
        handler = case.make(os.path.join(folder, "app.log"))
        logger = logging.Logger("growth")
        logger.addHandler(handler)
        stats = handler.stats  # type: ignore[attr-defined]
        try:
            while stats.rollovers < rollovers:
                logger.info(RECORD)
            return [hold * 1e3 for hold in stats.rollover_holds]
        finally:
            handler.close()


def bare_renames(base: str | None) -> float:
    """1,000 ``os.rename`` calls (ms): a chain of 1,000 shifted by one, top first."""
    with tempfile.TemporaryDirectory(dir=base) as folder:
        plant_chain(1000)(folder)
        path = os.path.join(folder, "app.log")
        start = time.perf_counter()
        for index in range(1000, 0, -1):
            os.rename(f"{path}.{index}", f"{path}.{index + 1}")
        return (time.perf_counter() - start) * 1e3


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ms ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rollovers", type=int, default=15)
    parser.add_argument("--dir", default=None, help="where the folders are made (default: TMPDIR)")
    args = parser.parse_args()
    print(f"{args.repeats} repeats of {args.rollovers} rollovers each")
    print("| case | hold, median (spread of repeats) | longest hold | vs. empty folder |")
    print("|---|---|---|---|")
    empty: float | None = None
    renames: list[float] = []
    chain: list[float] = []
    for case in CASES:
        medians, longest = [], []
        for _ in range(args.repeats):
            run = holds(case, args.dir, args.rollovers)
            medians.append(statistics.median(run))
            longest.append(max(run))
            renames.append(statistics.median(bare_renames(args.dir) for _ in range(3)))
            if case.name.startswith("backupCount=1000"):
                chain.append(medians[-1] / renames[-1])
        median = statistics.median(medians)
        empty = median if empty is None else empty
        print(f"| {case.name} | {spread(medians)} | {spread(longest)} | {median / empty:.1f}x |")
    print(f"| 1,000 bare os.rename calls | {spread(renames)} | | |")
    low, high = min(chain), max(chain)
    print(
        f"\nbackupCount=1000 against the 1,000 bare renames measured right after each repeat: "
        f"{statistics.median(chain):.2f}x ({low:.2f}-{high:.2f})"
    )


if __name__ == "__main__":
    main()
