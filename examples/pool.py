"""``multiprocessing.Pool`` and ``ProcessPoolExecutor`` workers sharing one rotating log.

    python examples/pool.py --pool executor --start spawn [--log /tmp/app.log]

Build the handler in the pool's ``initializer``: it runs in each worker, after the fork or
in the fresh interpreter of ``spawn``. With ``fork`` the workers may also simply inherit a
handler the parent built (``--build parent``); lockrotate handles both.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import logging
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterable

from checkable import checkable

import lockrotate

log = logging.getLogger("app")


def init_logging(path: str, max_bytes: int = 20000) -> None:
    """Send the ``app`` logger to *path*, rolling over every second and every *max_bytes*."""
    handler = lockrotate.TimedRotatingFileHandler(path, when="S", maxBytes=max_bytes)
    for old in log.handlers[:]:
        log.removeHandler(old)
        old.close()
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def task(name: str, records: int, size: int = 100, pace: float = 0.0) -> tuple[str, int]:
    """One unit of work: log *records* lines, then say how many."""
    for seq in range(records):
        log.info(checkable(name, seq, size))
        if pace:
            time.sleep(pace)
    return name, records


def run(
    path: str,
    pool: str = "pool",
    start: str = "spawn",
    build: str = "worker",
    workers: int = 3,
    tasks: int = 90,
    records: int = 40,
    pace: float = 0.002,
    max_bytes: int = 20000,
) -> dict[str, int]:
    """Run *tasks* tasks; return how many records each finished task logged."""
    ctx = multiprocessing.get_context(start)
    names = [f"task{i}" for i in range(tasks)]
    counts = [records] * tasks
    paces = [pace] * tasks
    sizes = [100] * tasks
    if build == "parent":
        init_logging(path, max_bytes)
        init: tuple[object, ...] = ()
    else:
        init = (init_logging, (path, max_bytes))
    done: Iterable[tuple[str, int]]
    try:
        if pool == "pool":
            with ctx.Pool(workers, *init) as p:
                done = p.starmap(task, zip(names, counts, sizes, paces, strict=True), chunksize=1)
                p.close()
                p.join()
        else:
            kwargs = {"initializer": init[0], "initargs": init[1]} if init else {}
            with concurrent.futures.ProcessPoolExecutor(workers, mp_context=ctx, **kwargs) as ex:
                done = list(ex.map(task, names, counts, sizes, paces))
    finally:
        if build == "parent":
            for handler in log.handlers[:]:
                log.removeHandler(handler)
                handler.close()
    return dict(done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log", help="the log file (default: app.log in a new temporary folder)")
    parser.add_argument("--pool", choices=("pool", "executor"), default="pool")
    parser.add_argument("--start", choices=("spawn", "fork", "forkserver"), default="spawn")
    parser.add_argument("--build", choices=("worker", "parent"), default="worker")
    args = parser.parse_args()
    if args.log is None:
        args.log = os.path.join(tempfile.mkdtemp(prefix="lockrotate-example-"), "app.log")
        print(f"logging to {args.log}")
    done = run(args.log, args.pool, args.start, args.build)
    print(f"{len(done)} tasks, {sum(done.values())} records")


if __name__ == "__main__":
    main()
