"""The filesystem fails under the writers: folder removed, base file removed, file too big.

Errors go through ``handleError`` (``--- Logging error ---`` on stderr), the application
never sees an exception, and logging resumes once the cause is gone. Records written while
the cause lasts go to a file that no longer has a name, or fail: those are not checked.
"""

from __future__ import annotations

import fcntl
import functools
import os
import resource
import shutil
import signal
import time
from typing import Any

import pytest

import lockrotate
from lockrotate.bench.verify import log_files, read_bytes, record_text, verify

from ._fleet import Fleet
from ._support import check

pytestmark = pytest.mark.slow

CHECK_INTERVAL = 0.05
RECORD = 100  # bytes per line: the fleet logs record_text() with no formatter
PAST_THE_END = 1050  # the size limit, in bytes past the file's size: not a record boundary


def settle() -> None:
    """Let every writer's next record look at the base path again (``check_interval``)."""
    time.sleep(4 * CHECK_INTERVAL)


def size_factory() -> Any:
    return functools.partial(
        lockrotate.RotatingFileHandler,
        maxBytes=5000,
        backupCount=1000,
        check_interval=CHECK_INTERVAL,
    )


def phase(expected: dict[str, int], name: str) -> dict[str, int]:
    return {w: n for w, n in expected.items() if w.startswith(name + ".")}


def test_log_folder_removed_then_recreated(folder: str, scratch: str) -> None:
    path = os.path.join(folder, "app.log")
    with Fleet(size_factory(), path, procs=3, scratch=scratch) as fleet:
        fleet.log("before", 100)
        shutil.rmtree(folder)
        fleet.log("gone", 100, pace=0.002)
        os.mkdir(folder)
        settle()
        # After a failed rollover a writer waits a second before it tries again.
        fleet.log("back", 200, pace=0.008)
        fleet.close()
        errors = fleet.errors()

    report = check("folder removed, recreated", folder, "app.log", phase(fleet.expected, "back"))
    assert report.ok, report.examples
    assert report.files >= 3, "no rollover after the folder came back"
    assert min(errors) >= 1, "the failure went through handleError"


def test_an_outage_is_reported_once(folder: str, scratch: str) -> None:
    """While the folder is missing every check fails the same way: one report, not one each."""
    path = os.path.join(folder, "app.log")
    with Fleet(size_factory(), path, procs=2, scratch=scratch) as fleet:
        fleet.log("before", 100)
        shutil.rmtree(folder)
        fleet.log("gone", 100, pace=0.004)
        errors = fleet.errors()
    assert errors == [1, 1], "each process reports one outage once"


def lock_counts(handler: Any) -> tuple[int, int]:
    return handler.stats.rollovers, handler.stats.lock_timeouts


def test_lock_still_excludes_after_the_folder_is_recreated(folder: str, scratch: str) -> None:
    """A process that opens the lock after the folder came back must exclude the old writers.

    The test process plays that newcomer: it holds ``lock_file`` (the new one) while old
    writers need rollovers. They must time out, not roll over beside it.
    """
    path = os.path.join(folder, "app.log")
    factory = functools.partial(
        lockrotate.RotatingFileHandler,
        maxBytes=2000,
        backupCount=1000,
        check_interval=CHECK_INTERVAL,
        lock_timeout=0.2,
    )
    with Fleet(factory, path, procs=2, scratch=scratch) as fleet:
        fleet.log("before", 100)
        shutil.rmtree(folder)
        fleet.log("gone", 50, pace=0.002)
        os.mkdir(folder)
        settle()
        fleet.log("back", 150, pace=0.008)
        lock_file = lockrotate.RotatingFileHandler(path, delay=True).lock_file
        holder = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(holder, fcntl.LOCK_EX)
            start = fleet.call(lock_counts)
            fleet.log("held", 100)
            end = fleet.call(lock_counts)
        finally:
            os.close(holder)
        fleet.close()

    rolled = [e[0] - s[0] for s, e in zip(start, end, strict=True)]
    timed_out = [e[1] - s[1] for s, e in zip(start, end, strict=True)]
    assert rolled == [0, 0], f"rolled over while another process held the lock: {rolled}"
    assert min(timed_out) >= 1


def test_base_file_removed_by_hand(folder: str, scratch: str) -> None:
    path = os.path.join(folder, "app.log")
    factory = functools.partial(lockrotate.RotatingFileHandler, check_interval=CHECK_INTERVAL)
    with Fleet(factory, path, procs=3, scratch=scratch) as fleet:
        fleet.log("before", 100)
        os.remove(path)
        settle()
        fleet.log("after", 200)
        fleet.close()
        errors = fleet.errors()

    report = check("base file removed", folder, "app.log", phase(fleet.expected, "after"))
    assert report.ok, report.examples
    assert errors == [0, 0, 0]


def limit_file_size(handler: Any, limit: int) -> None:
    """In a writer: files may not grow past *limit* bytes (write() fails with EFBIG)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))


def test_file_size_limit_reached_then_lifted(folder: str, scratch: str) -> None:
    path = os.path.join(folder, "app.log")
    factory = functools.partial(lockrotate.RotatingFileHandler, check_interval=CHECK_INTERVAL)
    full = 20
    with Fleet(factory, path, procs=1, scratch=scratch) as fleet:
        fleet.log("before", 50)
        # Not on a record boundary: the record that reaches the limit is written in part.
        fleet.call(limit_file_size, os.path.getsize(path) + PAST_THE_END)
        fleet.log("full", full)
        errors = fleet.errors()
        fleet.call(limit_file_size, resource.RLIM_INFINITY)
        fleet.log("after", 50)
        fleet.close()

    assert errors == [1], "the failed writes went through handleError, reported once"
    files = log_files(folder, "app.log")
    report = verify(files, fleet.expected)
    print("file size limit", report)
    fit = PAST_THE_END // RECORD
    assert report.torn == 1, "the record cut at the limit, and nothing after it, is torn"
    assert report.lost == full - fit, "the cut record and the refused ones"
    assert (report.duplicated, report.out_of_order, report.unexpected) == (0, 0, 0)
    # Which ones: the records that fit under the limit are whole, and only those.
    written = {line for f in files for line in read_bytes(f).decode().splitlines()}
    whole = [seq for seq in range(full) if record_text("full.p0", seq) in written]
    assert whole == list(range(fit))


def test_record_cut_at_the_limit_can_take_the_next_writers_record_with_it(
    folder: str, scratch: str
) -> None:
    """The documented limit of a refused write: process 0's record is cut at the limit and
    process 1 is the next to write. Process 1 cannot know that the file ends mid-line, so its
    record joins the fragment; process 0 starts its own next record on a new line (which,
    after process 1's line end, leaves one empty line). Nothing else is lost or doubled."""
    path = os.path.join(folder, "app.log")
    factory = functools.partial(lockrotate.RotatingFileHandler, check_interval=CHECK_INTERVAL)
    with Fleet(factory, path, procs=2, scratch=scratch) as fleet:
        fleet.log("before", 10)
        fleet.call(limit_file_size, os.path.getsize(path) + PAST_THE_END)
        fleet.log_one(0, "full", 20)
        fleet.call(limit_file_size, resource.RLIM_INFINITY)
        fleet.log_one(1, "after", 10)
        fleet.log_one(0, "after", 10)
        fleet.close()

    report = verify(log_files(folder, "app.log"), fleet.expected)
    print("cut record, other writer next", report)
    assert report.duplicated == 0
    assert report.torn == 2, report.examples
    # p0's cut record and its 9 refused ones, and p1's first record after the limit.
    assert report.lost == 11, report.examples
    with open(path, "rb") as f:
        assert b"xafter.p1 0 x" in f.read(), "p1's first record sits on the fragment's line"
