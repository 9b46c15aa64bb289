"""A process holds the rollover lock forever: writers go on, report it, never hang."""

from __future__ import annotations

import functools
import os
import sys
import time

import pytest

import lockrotate

from ._fleet import Fleet
from ._support import Server, check

pytestmark = pytest.mark.slow

HOLD = (
    "import fcntl, os, sys, time\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "print('locked', flush=True)\n"
    "time.sleep(300)\n"
)


def test_lock_held_forever(folder: str, scratch: str) -> None:
    path = os.path.join(folder, "app.log")
    factory = functools.partial(
        lockrotate.RotatingFileHandler, maxBytes=2000, backupCount=1000, lock_timeout=0.2
    )
    lock_file = factory(path, delay=True).lock_file
    holder = Server.start(
        [sys.executable, "-c", HOLD, lock_file], os.path.join(scratch, "holder.err")
    )
    with Fleet(factory, path, procs=3, scratch=scratch) as fleet:
        try:
            assert holder.read_line() == "locked\n"
            fleet.log("stuck", 300, pace=0.005)
            stuck_files = len(os.listdir(folder))
        finally:
            holder.stop()
        # A writer whose rollover failed tries again after a pause that doubles from 1 s
        # to at most 2 s: the next try, once the holder is gone, finds the lock free.
        time.sleep(2.2)
        fleet.log("free", 200)
        fleet.close()
        errors = fleet.errors()

    report = check("lock held forever", folder, "app.log", fleet.expected)
    assert report.ok, report.examples
    assert stuck_files == 2, "nothing rotated while the lock was held (app.log and the lock)"
    assert all(stats["lock_timeouts"] >= 1 for stats in fleet.stats)
    assert fleet.total("rollovers") >= 5, "rollovers resumed once the holder was gone"
    assert errors == [1, 1, 1], "each process reports the stuck lock once"
