"""A log in a crowded folder: 100,000 files that are not the log's own.

The lock guards names, not listings: a rollover that listed the folder with the lock held
made every other process wait for the listing (in this test, 15x fewer records than in an
empty folder). Now 4 processes log flat out for 20 s into each folder, with the same
configuration, and the crowded run must keep at least half the pace. The fast tests watch
what a rollover does with the lock held.
"""

from __future__ import annotations

import fcntl
import functools
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import lockrotate
from lockrotate._rollover import Core
from lockrotate._system import System
from lockrotate.bench.verify import log_files, verify
from lockrotate.bench.workload import RunResult, Workload, run

UNRELATED = 100_000
SECONDS = 20.0


def crowd(folder: Path, count: int = UNRELATED) -> None:
    """*count* empty files of other services beside the log."""
    for index in range(count):
        os.close(os.open(folder / f"service-{index:06}.log", os.O_CREAT | os.O_WRONLY, 0o644))


def flat_out(folder: Path, results: Path) -> RunResult:
    """4 processes, one thread each, log without pause for 20 s; every file is kept."""
    factory = functools.partial(
        lockrotate.RotatingFileHandler, maxBytes=200_000, backupCount=100_000
    )
    workload = Workload(4, 1, 0, 100, "fork", seconds=SECONDS)
    result = run(workload, factory, str(folder), str(results))
    assert result.crashed == []
    assert result.handler_errors == 0, [w.stderr for w in result.workers if w.stderr]
    assert result.lock_reports == 0
    timeouts = sum(w.stats["lock_timeouts"] for w in result.workers if w.stats is not None)
    assert timeouts == 0
    report = verify(log_files(str(folder), "app.log"), result.expected)
    assert report.ok, report.examples
    assert report.found == result.records > 0
    return result


class Watch(System):
    """The real system, counting the listings and renames made while the lock is held."""

    def __init__(self) -> None:
        self.held = False
        self.listings = 0
        self.renames = 0

    def flock(self, fd: int, operation: int) -> None:
        # Only the log's lock file counts (writers and retention flock the log files too).
        ours = os.readlink(f"/proc/self/fd/{fd}").endswith(".lock")
        if ours and operation & fcntl.LOCK_UN:
            self.held = False
        super().flock(fd, operation)
        if ours and operation & fcntl.LOCK_EX:
            self.held = True

    def listdir(self, path: str) -> list[str]:
        self.listings += self.held
        return super().listdir(path)

    def scandir(self, path: str) -> Iterator[os.DirEntry[str]]:
        self.listings += self.held
        return super().scandir(path)

    def rename(self, src: str, dst: str) -> None:
        self.renames += self.held
        super().rename(src, dst)


def log(handler: logging.Handler, count: int, size: int = 100) -> None:
    logger = logging.Logger("crowded")
    logger.addHandler(handler)
    for number in range(count):
        logger.info("record %d %s", number, "x" * size)


def test_a_numbered_rollover_lists_nothing_with_the_lock_held(tmp_path: Path) -> None:
    crowd(tmp_path, 2_000)
    watch = Watch()
    handler = lockrotate.RotatingFileHandler(
        str(tmp_path / "app.log"), maxBytes=1_000, backupCount=5, system=watch
    )
    log(handler, 200)
    handler.close()
    assert handler.stats.rollovers >= 10
    assert watch.listings == 0
    backups = sorted(name for name in os.listdir(tmp_path) if name.startswith("app.log."))
    assert backups == [f"app.log.{index}" for index in range(1, 6)]
    assert len(os.listdir(tmp_path)) == 2_000 + 1 + 5 + 1  # the others, the log, 5, the lock


def test_a_dated_backlog_leaves_after_the_lock_is_released(tmp_path: Path) -> None:
    start = time.time() - 10 * 86_400
    for minute in range(300):
        stamp = start + 60 * minute
        label = time.strftime("%Y-%m-%d_%H-%M", time.localtime(stamp))
        path = tmp_path / f"app.log.{label}"
        path.write_text("old\n")
        os.utime(path, (stamp, stamp))
    watch = Watch()
    handler = lockrotate.TimedRotatingFileHandler(
        str(tmp_path / "app.log"), when="M", maxBytes=1_000, max_age=86_400, system=watch
    )
    log(handler, 20)
    handler.close()
    assert handler.stats.rollovers >= 1
    # Under the lock: only the rotations themselves.
    assert watch.renames == handler.stats.rollovers
    assert watch.listings == 0
    left = [name for name in os.listdir(tmp_path) if name.startswith("app.log.")]
    assert len(left) == handler.stats.rollovers, left  # every expired file went


def test_a_snapshot_listed_before_another_rollover_is_not_used(tmp_path: Path) -> None:
    """A thread (or process) lists the folder, another rolls over before it takes the lock,
    and its new file is due again by then: the old listing must not decide the shift."""
    base = str(tmp_path / "app.log")
    first = lockrotate.RotatingFileHandler(base, maxBytes=10_000, backupCount=5)
    second = lockrotate.RotatingFileHandler(base, maxBytes=10_000, backupCount=5)
    log(first, 1)
    core: Core = first._core
    snapshot = core.archive.survey()
    assert snapshot is not None and snapshot.entries == []
    second.doRollover()
    log(second, 1)
    core.follow()  # now writing to the second's new file
    with core.held():
        core.rotate_if_due_locked(0, force=True, survey=snapshot)
    core.archive.trash.empty()
    first.close()
    second.close()
    assert sorted(os.listdir(tmp_path)) == [".app.log.lock", "app.log", "app.log.1", "app.log.2"]
    assert (tmp_path / "app.log").read_text() == ""


@pytest.mark.slow
def test_a_crowded_folder_keeps_half_the_pace_of_an_empty_one(tmp_path: Path) -> None:
    empty, crowded = tmp_path / "empty", tmp_path / "crowded"
    empty.mkdir()
    crowded.mkdir()
    crowd(crowded)
    alone = flat_out(empty, tmp_path / "r1")
    among = flat_out(crowded, tmp_path / "r2")
    print(f"records: empty folder {alone.records:,}, crowded folder {among.records:,}")
    assert among.records >= alone.records / 2
    assert len(os.listdir(crowded)) >= UNRELATED  # nothing of the others was touched


@pytest.mark.slow
def test_status_answers_within_2s_and_says_what_it_skipped(tmp_path: Path) -> None:
    crowd(tmp_path)
    base = tmp_path / "app.log"
    handler = lockrotate.RotatingFileHandler(str(base), maxBytes=100, backupCount=3)
    log(handler, 10, 80)
    handler.close()
    command = [sys.executable, "-m", "lockrotate", "status", "--json", str(base)]
    start = time.monotonic()
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=30)
    elapsed = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    assert elapsed < 2.0, elapsed
    document = json.loads(done.stdout)
    assert document["totals"]["skipped_entries"] == UNRELATED
    assert document["totals"]["rotated_files"] == 3
