"""A symlink planted where the lock file or a rotated file will go is never followed."""

from __future__ import annotations

import functools
import os
import time

import pytest

import lockrotate

from ._fleet import Fleet
from ._support import check

pytestmark = pytest.mark.slow

PRECIOUS = b"not a log: must stay as it is\n"


def plant(link: str, scratch: str, name: str) -> str:
    target = os.path.join(scratch, name)
    with open(target, "wb") as f:
        f.write(PRECIOUS)
    os.symlink(target, link)
    return target


def untouched(target: str) -> bool:
    with open(target, "rb") as f:
        return f.read() == PRECIOUS


def test_symlink_at_the_lock_file(folder: str, scratch: str) -> None:
    path = os.path.join(folder, "app.log")
    factory = functools.partial(
        lockrotate.RotatingFileHandler, maxBytes=2000, backupCount=100, lock_timeout=0.2
    )
    target = plant(factory(path, delay=True).lock_file, scratch, "lock-target")
    with Fleet(factory, path, procs=2, scratch=scratch) as fleet:
        fleet.log("records", 200)
        fleet.close()
        errors = fleet.errors()

    assert untouched(target)
    report = check("symlink at the lock file", folder, "app.log", fleet.expected)
    assert report.ok, report.examples
    assert fleet.total("rollovers") == 0, "rolled over without the lock"
    assert min(errors) >= 1, "the refused lock went through handleError"


def test_symlink_at_numbered_backups(folder: str, scratch: str) -> None:
    path = os.path.join(folder, "app.log")
    targets = [plant(f"{path}.{i}", scratch, f"target{i}") for i in (1, 3)]
    factory = functools.partial(lockrotate.RotatingFileHandler, maxBytes=2000, backupCount=50)
    with Fleet(factory, path, procs=2, scratch=scratch) as fleet:
        fleet.log("records", 200)
        fleet.close()
        errors = fleet.errors()

    assert all(untouched(target) for target in targets)
    report = check("symlink at numbered backups", folder, "app.log", fleet.expected)
    assert report.ok, report.examples
    assert fleet.total("rollovers") >= 10
    assert errors == [0, 0]


def test_symlink_at_timed_names(folder: str, scratch: str) -> None:
    path = os.path.join(folder, "app.log")
    factory = functools.partial(lockrotate.TimedRotatingFileHandler, when="S", maxBytes=2000)
    handler = factory(path, delay=True)
    now = int(time.time())
    labels = [time.strftime(handler.suffix, time.localtime(now + i)) for i in range(-1, 5)]
    handler.close()
    targets = [
        plant(f"{path}.{label}{extra}", scratch, f"target-{label}{extra}")
        for label in labels
        for extra in ("", ".1")
    ]
    with Fleet(factory, path, procs=2, scratch=scratch) as fleet:
        fleet.log("records", 300, pace=0.005)
        fleet.close()
        errors = fleet.errors()

    assert all(untouched(target) for target in targets)
    report = check("symlink at timed names", folder, "app.log", fleet.expected)
    assert report.ok, report.examples
    assert fleet.total("rollovers") >= 10
    assert errors == [0, 0]
