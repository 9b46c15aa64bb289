"""Open descriptors and memory across many rollovers in one process.

    python benchmarks/soak_rollovers.py [ROLLOVERS]

Every record after the first rolls the file over (``maxBytes`` is below two records), so a
leak of one descriptor or one buffer per rollover shows as a line that keeps growing.
The timed handler is driven by a fake clock that moves one second per record.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import tempfile

import lockrotate
from lockrotate.bench.verify import record_text


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def soak(kind: str, rollovers: int, folder: str) -> None:
    clock = Clock()
    path = os.path.join(folder, f"{kind}.log")
    handler: lockrotate.RotatingFileHandler | lockrotate.TimedRotatingFileHandler
    if kind == "size":
        handler = lockrotate.RotatingFileHandler(path, maxBytes=150, backupCount=3)
    else:
        handler = lockrotate.TimedRotatingFileHandler(path, when="S", backupCount=3, clock=clock)
    logger = logging.getLogger(f"soak.{kind}")
    logger.propagate = False
    logger.addHandler(handler)
    message = record_text("soak", 0)
    step = max(1, rollovers // 10)
    print(f"{kind}: rollovers  fds  RSS KiB")
    while handler.stats.rollovers < rollovers:
        logger.warning(message)
        clock.now += 1.0
        if handler.stats.rollovers % step == 0:
            gc.collect()
            print(f"{kind}: {handler.stats.rollovers:9}  {fds():3}  {rss_kib():7}")
    logger.removeHandler(handler)
    handler.close()


def main() -> None:
    rollovers = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("size", "timed"):
            soak(kind, rollovers, folder)


if __name__ == "__main__":
    main()
