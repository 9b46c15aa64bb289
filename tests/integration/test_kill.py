"""A writer killed with SIGKILL at each step of a rollover.

The victim is a forked process whose handler kills it at one step of the protocol; the
kill is injected in the victim only, by overriding a hook or wrapping ``os.rename`` or
``os.unlink`` there (the real System looks them up at each call). Two survivors write
before, during and after. Then: the survivors
never stalled past the lock timeout (the kernel drops a dead holder's ``flock``), every
record whose ``logger.info`` returned (the victim's too) is in the files exactly once,
and the next rollovers leave the backup chain without a gap.
"""

from __future__ import annotations

import fcntl
import functools
import json
import logging
import multiprocessing
import os
import re
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

import lockrotate
from lockrotate.bench.verify import record_text

from ._fleet import Fleet, logger_for, redirect_stderr
from ._support import check

pytestmark = pytest.mark.slow

LOCK_TIMEOUT = 5.0
VICTIM_RECORDS = 3000
ARM_AFTER = 30
PACE = 0.0005


def die(note: str) -> None:
    """Once armed: leave a snapshot of the log folder for the test, then SIGKILL this process."""
    if "armed" not in _STATE:
        return
    folder = os.path.dirname(_STATE["path"])
    with open(_STATE["snapshot"], "w") as f:
        json.dump({"step": note, "files": sorted(os.listdir(folder))}, f)
    os.kill(os.getpid(), signal.SIGKILL)


_STATE: dict[str, str] = {}


def archive_removals(archive: str) -> None:
    """Retention moves files to *archive* instead of deleting them, so they can be verified."""
    rename = os.rename

    def remove(path: str, *, dir_fd: int | None = None) -> None:
        assert dir_fd is None
        rename(path, os.path.join(archive, os.path.basename(path)))

    os.unlink = remove  # type: ignore[assignment]


def size_handler(path: str) -> logging.Handler:
    return lockrotate.RotatingFileHandler(
        path, maxBytes=2000, backupCount=1000, lock_timeout=LOCK_TIMEOUT
    )


def timed_handler(archive: str, path: str) -> lockrotate.TimedRotatingFileHandler:
    archive_removals(archive)
    return lockrotate.TimedRotatingFileHandler(
        path, when="S", maxBytes=2000, backupCount=5, lock_timeout=LOCK_TIMEOUT
    )


# The injections: each builds the victim's handler and arms one kill. -------------------


def kill_waiting(path: str, archive: str) -> logging.Handler:
    """Waiting for the lock: the first try that finds it taken (the test holds it)."""
    flock = fcntl.flock

    def flock_or_die(fd: int, operation: int) -> None:
        try:
            flock(fd, operation)
        except BlockingIOError:
            die("waiting")
            raise

    fcntl.flock = flock_or_die
    return size_handler(path)


def kill_holding(path: str, archive: str) -> logging.Handler:
    """Holding the lock, the rollover decided, nothing renamed yet: the first rename."""
    rename = os.rename

    def die_then_rename(source: str, dest: str) -> None:
        die("holding")
        rename(source, dest)

    os.rename = die_then_rename  # type: ignore[assignment]
    return size_handler(path)


class KillAfterRename(lockrotate.RotatingFileHandler):
    """The base file renamed to .1, the new base file not yet created."""

    def rotate(self, source: str, dest: str) -> None:
        super().rotate(source, dest)
        die("renamed")


class KillTimedAfterRename(lockrotate.TimedRotatingFileHandler):
    """Time-rotated: the base file renamed, retention not applied, no new base file."""

    def rotate(self, source: str, dest: str) -> None:
        super().rotate(source, dest)
        die("renamed-timed")


def kill_renamed(path: str, archive: str) -> logging.Handler:
    return KillAfterRename(path, maxBytes=2000, backupCount=1000, lock_timeout=LOCK_TIMEOUT)


def kill_renamed_timed(path: str, archive: str) -> logging.Handler:
    archive_removals(archive)
    return KillTimedAfterRename(
        path, when="S", maxBytes=2000, backupCount=5, lock_timeout=LOCK_TIMEOUT
    )


def kill_shifting(path: str, archive: str) -> logging.Handler:
    """Shifting backups: after .N moved to .N+1 (N >= 2), before .N-1 moved up: a gap."""
    rename = os.rename

    def rename_then_die(source: str, dest: str) -> None:
        rename(source, dest)
        if re.search(r"\.log\.([2-9]|\d\d+)$", source):
            die("shifting")

    os.rename = rename_then_die  # type: ignore[assignment]
    return size_handler(path)


def kill_retention(path: str, archive: str) -> logging.Handler:
    """Retention: the first old file removed, the others not, no new base file yet."""
    handler = timed_handler(archive, path)
    remove = os.unlink

    def remove_then_die(old: str) -> None:
        remove(old)
        die("retention")

    os.unlink = remove_then_die  # type: ignore[assignment]
    return handler


def victim(
    inject: Callable[[str, str], logging.Handler], path: str, archive: str, scratch: str
) -> None:
    _STATE["path"] = path
    _STATE["snapshot"] = os.path.join(scratch, "snapshot.json")
    redirect_stderr(os.path.join(scratch, "victim.stderr"))
    logger = logger_for(inject(path, archive), "victim")
    acked = os.open(os.path.join(scratch, "victim.acked"), os.O_WRONLY | os.O_CREAT, 0o644)
    for seq in range(VICTIM_RECORDS):
        logger.info(record_text("victim", seq))
        os.write(acked, b"%d\n" % seq)
        if seq + 1 == ARM_AFTER:
            _STATE["armed"] = "yes"
            os.close(os.open(os.path.join(scratch, "armed"), os.O_WRONLY | os.O_CREAT, 0o644))
        time.sleep(PACE)


def backup_indexes(folder: str) -> list[int]:
    return sorted(
        int(m[1]) for n in os.listdir(folder) if (m := re.fullmatch(r"app\.log\.(\d+)", n))
    )


def wait_for_file(path: str, proc: Any) -> None:
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        assert proc.is_alive() and time.monotonic() < deadline, "the victim never got armed"
        time.sleep(0.001)


STEPS = {
    "waiting": (kill_waiting, "size"),
    "holding": (kill_holding, "size"),
    "shifting": (kill_shifting, "size"),
    "renamed": (kill_renamed, "size"),
    "renamed-timed": (kill_renamed_timed, "timed"),
    "retention": (kill_retention, "timed"),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_sigkill_at_each_rollover_step(step: str, folder: str, scratch: str) -> None:
    inject, kind = STEPS[step]
    path = os.path.join(folder, "app.log")
    archive = os.path.join(scratch, "archive")
    os.mkdir(archive)
    factory = size_handler if kind == "size" else functools.partial(timed_handler, archive)
    holder = -1
    with Fleet(factory, path, procs=2, scratch=scratch) as fleet:
        fleet.log("before", 200)
        fleet.send_log("during", 400, pace=PACE)
        proc = multiprocessing.get_context("fork").Process(
            target=victim, args=(inject, path, archive, scratch)
        )
        proc.start()
        if step == "waiting":
            # Once the victim is armed, take the lock: its next rollover has to wait.
            wait_for_file(os.path.join(scratch, "armed"), proc)
            holder = os.open(lockrotate.RotatingFileHandler(path, delay=True).lock_file, os.O_RDWR)
            fcntl.flock(holder, fcntl.LOCK_EX)
        proc.join(60)
        if holder >= 0:
            os.close(holder)
        fleet.wait_log("during")
        fleet.log("after", 300)
        fleet.close()
        errors = fleet.errors()

    assert proc.exitcode == -signal.SIGKILL, "the injected kill never happened"
    with open(os.path.join(scratch, "snapshot.json")) as f:
        snapshot = json.load(f)
    assert snapshot["step"] == step
    with open(os.path.join(scratch, "victim.acked")) as f:
        acked = len(f.read().split())
    assert acked >= ARM_AFTER
    expected = {**fleet.expected, "victim": acked}
    archived = [os.path.join(archive, name) for name in os.listdir(archive)]
    report = check(f"SIGKILL {step}", folder, "app.log", expected, archived)
    assert report.ok, report.examples
    assert errors == [0, 0]
    assert fleet.total("lock_timeouts") == 0
    assert fleet.total("rollovers") > 0
    if kind == "size":
        if step == "shifting":
            at_death = sorted(
                int(n.rsplit(".", 1)[1])
                for n in snapshot["files"]
                if re.fullmatch(r"app\.log\.\d+", n)
            )
            assert at_death != list(range(1, len(at_death) + 1)), at_death
        indexes = backup_indexes(folder)
        assert indexes == list(range(1, len(indexes) + 1)), "the chain still has a gap"
    print(snapshot)
