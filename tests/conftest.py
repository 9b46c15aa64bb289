"""Helpers several test modules share: a fake clock, a time zone switch, a forked child, a
wait for a process to block on a lock, a count of open descriptors."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# POSIX rules, so the tests need no tz database: New York with its daylight saving time.
NEW_YORK = "EST5EDT,M3.2.0,M11.1.0"


class FakeClock:
    """A clock the test moves by hand, for the ``clock=`` argument of the timed handler."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextlib.contextmanager
def local_zone(tz: str) -> Iterator[None]:
    """Make *tz* the process's local time zone for the block, then restore the old one."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = tz
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


def fork_child(body: Callable[[], int | None]) -> int:
    """Fork; the child runs *body* and leaves with what it returns (None: 0), or 99 after
    printing what it raised. Returns the child's pid."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            code = body() or 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    return pid


def run_in_child(body: Callable[[], int | None]) -> int:
    """Run *body* in a forked child and return its exit code (99 if it raised)."""
    _, status = os.waitpid(fork_child(body), 0)
    return os.waitstatus_to_exitcode(status)


def wait_blocked(pid: int, deadline: float = 20.0) -> None:
    """Wait until /proc/locks shows *pid* blocked on a lock."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with open("/proc/locks") as f:
            if any(line.split()[1:2] == ["->"] and str(pid) in line.split() for line in f):
                return
        time.sleep(0.01)
    raise AssertionError(f"pid {pid} never blocked on the lock")


def descriptors_under(folder: str | os.PathLike[str]) -> int:
    """How many of this process's descriptors are open on files under *folder*: a thread left
    running by another test cannot change it."""
    prefix = os.path.join(os.path.realpath(folder), "")
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):
            count += os.readlink(f"/proc/self/fd/{fd}").startswith(prefix)
    return count


@pytest.fixture
def new_york() -> Iterator[None]:
    with local_zone(NEW_YORK):
        yield


def handlers_now() -> list[object]:
    """The weakrefs of every live ``logging`` handler, to hand to :func:`close_handlers_since`."""
    return list(logging._handlerList)  # type: ignore[attr-defined]


def close_handlers_since(before: list[object]) -> None:
    """Close every handler made since *before* (from :func:`handlers_now`) that still lives.

    The weakrefs are told apart by identity: a set of them would hash them, and hashing a dead
    weakref raises ``TypeError`` (one collected during a test made a whole module error).
    *before* keeps them alive, so their ids stay unique."""
    known = {id(ref) for ref in before}
    for ref in handlers_now():
        handler = None if id(ref) in known else ref()  # type: ignore[operator]
        if handler is not None:
            handler.close()


@pytest.fixture
def base(tmp_path: Path) -> Iterator[str]:
    """A log path in a fresh folder; every handler built during the test is closed after it."""
    before = handlers_now()
    yield str(tmp_path / "app.log")
    close_handlers_since(before)
