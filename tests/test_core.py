"""The write path in the core, through the public handlers: each hook asked once per record,
hooks assigned on an instance, and the write-path defects of the outside review (a compressor
that made emit skip a rollover, strict mode writing into a renamed file, an emit reopening
the file during close)."""

from __future__ import annotations

import datetime
import errno
import fcntl
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import lockrotate
import lockrotate._archive
import lockrotate._locks
from conftest import descriptors_under
from lockrotate._permissions import Permissions
from lockrotate._system import System

RECORD = "x" * 99  # 100 bytes with its newline


def emit(handler: logging.Handler, *messages: str) -> None:
    for message in messages:
        handler.handle(logging.makeLogRecord({"msg": message}))


def lock_is_held(path: str) -> bool:
    """Whether some open file description holds ``flock`` on *path*."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


# Hooks -------------------------------------------------------------------------------------


def test_a_should_rollover_that_counts_its_calls_rotates_every_third_record(
    tmp_path: Path,
) -> None:
    """As under the stdlib: emit asks shouldRollover once per record, so an override that
    says yes at every third call rolls over before every third record."""

    class EveryThird(lockrotate.RotatingFileHandler):
        calls = 0

        def shouldRollover(self, record: logging.LogRecord | None) -> bool:
            self.calls += 1
            return self.calls % 3 == 0

    base = str(tmp_path / "app.log")
    handler = EveryThird(base, maxBytes=10**9, backupCount=10)
    emit(handler, *(f"r{n}" for n in range(9)))
    handler.close()
    assert handler.calls == 9
    assert [lines(f"{base}.{n}") for n in (3, 2, 1)] == [
        ["r0", "r1"],
        ["r2", "r3", "r4"],
        ["r5", "r6", "r7"],
    ]
    assert lines(base) == ["r8"]
    assert handler.stats.rollovers == 3


def test_hooks_assigned_on_the_instance_are_honoured(tmp_path: Path) -> None:
    """The stdlib's emit calls ``self.shouldRollover`` and ``self.doRollover``: an instance
    attribute counts like a subclass's override."""
    base = str(tmp_path / "app.log")
    handler = lockrotate.RotatingFileHandler(base, maxBytes=10**9, backupCount=10)
    asked: list[str] = []
    rolled: list[int] = []
    real_do_rollover = handler.doRollover

    def should(record: logging.LogRecord | None) -> bool:
        assert record is not None
        asked.append(record.getMessage())
        return record.getMessage().startswith("ROLL")

    def do() -> None:
        rolled.append(1)
        real_do_rollover()

    handler.shouldRollover = should  # type: ignore[method-assign]
    handler.doRollover = do  # type: ignore[method-assign]
    emit(handler, "a", "ROLL b", "c")
    del handler.shouldRollover  # back to the class's own
    emit(handler, "d")
    handler.close()
    assert asked == ["a", "ROLL b", "c"]
    assert rolled == [1]
    assert lines(base + ".1") == ["a"]
    assert lines(base) == ["ROLL b", "c", "d"]


# Defects in the write path -----------------------------------------------------------------


def test_the_own_compressor_never_makes_emit_skip_a_due_rollover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review item 1: while this process's compressor thread holds the lock (putting a
    compressed copy in place), a due record must still roll over (after waiting for the
    lock, as it would for another process), not be written past ``maxBytes``."""
    real_put = lockrotate._archive.Archive.put_in_place_locked
    inside = threading.Event()

    def slow_put(archive: lockrotate._archive.Archive, *args: Any) -> bool:
        compressor = threading.current_thread().name == "lockrotate-compress"
        if compressor and not inside.is_set() and lock_is_held(handler.lock_file):
            inside.set()  # with the lock held, before the compressed copy's rename
            threading.Event().wait(0.5)
        return real_put(archive, *args)

    monkeypatch.setattr(lockrotate._archive.Archive, "put_in_place_locked", slow_put)
    base = str(tmp_path / "app.log")
    handler = lockrotate.RotatingFileHandler(
        base, maxBytes=250, backupCount=10, compress="gzip", check_interval=0.1, lock_timeout=5
    )
    try:
        emit(handler, RECORD, RECORD, RECORD)  # the third rolls the first two over
        assert handler.stats.rollovers == 1
        assert inside.wait(10), "the compressor never took the lock"
        emit(handler, RECORD, RECORD)  # the second is due while the compressor holds the lock
        assert handler.stats.rollovers == 2
        assert os.path.getsize(base) == 100
    finally:
        handler.close()


def test_strict_mode_never_writes_into_a_file_another_process_renamed(tmp_path: Path) -> None:
    """Review item 2: with ``lock_every_write``, a record that is not due still checks, under
    the lock, that the base path names its file: it never lands in a rotated file."""
    base = str(tmp_path / "app.log")

    def strict() -> lockrotate.RotatingFileHandler:
        # Each handler has its own lock descriptor: flock tells them apart like processes.
        return lockrotate.RotatingFileHandler(
            base, maxBytes=10**6, backupCount=5, lock_every_write=True, check_interval=60
        )

    first, second = strict(), strict()
    try:
        emit(second, "second, before")
        emit(first, "first, before")
        first.doRollover()  # the other "process" renames app.log to app.log.1
        emit(second, "second, after the rename")
    finally:
        first.close()
        second.close()
    assert lines(base + ".1") == ["second, before", "first, before"]
    assert lines(base) == ["second, after the rename"]


def test_an_emit_during_close_does_not_reopen_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review item 7: a record logged by another thread while ``close()`` runs must not open
    a descriptor that the closed handler then keeps: ``_closed`` is set under the handler's
    lock, as in the stdlib."""
    base = str(tmp_path / "app.log")
    handler = lockrotate.RotatingFileHandler(base, maxBytes=10**6, backupCount=2)
    emit(handler, "before close")
    real_close: Callable[[logging.Handler], None] = logging.Handler.close
    late = threading.Thread(target=emit, args=(handler, "during close"))

    def close_with_a_record_in_between(self: logging.Handler) -> None:
        if self is handler:
            late.start()
            late.join(0.3)  # either it is written now, or it waits for the handler's lock
        real_close(self)

    monkeypatch.setattr(logging.Handler, "close", close_with_a_record_in_between)
    handler.close()
    late.join(10)
    assert not late.is_alive()
    assert descriptors_under(tmp_path) == 0
    assert lines(base) == ["before close", "during close"]


# Loose ends --------------------------------------------------------------------------------


def test_a_rollover_needs_no_new_thread_at_interpreter_shutdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At interpreter shutdown (3.12+) no thread can be started: a rollover that finds the
    lock taken polls for it instead of failing with "can't create new thread"."""
    real_start = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        if thread.name == "lockrotate-lock-waiter":
            raise RuntimeError("can't create new thread at interpreter shutdown")
        real_start(thread)

    base = str(tmp_path / "app.log")
    failures: list[BaseException | None] = []

    class Recording(lockrotate.RotatingFileHandler):
        def handleError(self, record: logging.LogRecord) -> None:
            failures.append(sys.exc_info()[1])

    handler = Recording(base, maxBytes=150, backupCount=3, lock_timeout=5)
    emit(handler, RECORD)
    other = os.open(handler.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(other, fcntl.LOCK_EX)  # another process holds the lock for a moment
    monkeypatch.setattr(threading.Thread, "start", start)
    threading.Timer(0.2, os.close, [other]).start()
    emit(handler, RECORD)  # due: waits for the lock without a waiter thread
    handler.close()
    assert failures == []
    assert handler.stats.rollovers == 1
    assert lines(base + ".1") == [RECORD]


def test_options_fixed_at_construction_are_read_only(tmp_path: Path) -> None:
    """Assigning ``compress``, ``max_age`` or ``max_total_bytes`` after construction would
    change nothing: it is refused instead of ignored (``maxBytes`` stays writable)."""
    handler = lockrotate.RotatingFileHandler(
        str(tmp_path / "app.log"), maxBytes=100, backupCount=2, compress="gzip", max_age=60
    )
    try:
        assert (handler.compress, handler.max_age, handler.max_total_bytes) == ("gzip", 60, None)
        for name, value in (("compress", None), ("max_age", 1.0), ("max_total_bytes", 10)):
            with pytest.raises(AttributeError):
                setattr(handler, name, value)
        handler.maxBytes = 200
        assert handler.maxBytes == 200
    finally:
        handler.close()


@pytest.mark.parametrize(
    ("built", "assigned"),
    [((10**6, 2), ("maxBytes", 50)), ((50, 0), ("backupCount", 2))],
)
def test_a_new_limit_holds_from_the_next_record(
    tmp_path: Path, built: tuple[int, int], assigned: tuple[str, int]
) -> None:
    """The fast path keeps the trigger's terms between checks; assigning ``maxBytes`` or
    ``backupCount`` (as the stdlib allows) renews them, so the very next record obeys."""
    base = tmp_path / "app.log"
    handler = lockrotate.RotatingFileHandler(base, maxBytes=built[0], backupCount=built[1])
    try:
        handler.emit(logging.makeLogRecord({"msg": "x" * 40}))
        handler.emit(logging.makeLogRecord({"msg": "y" * 40}))  # nothing rolls yet
        setattr(handler, *assigned)
        handler.emit(logging.makeLogRecord({"msg": "z" * 40}))
    finally:
        handler.close()
    assert base.read_text() == "z" * 40 + "\n"
    assert handler.stats.rollovers == 1


def test_the_public_names() -> None:
    assert "LockUnusable" in lockrotate.__all__ and "Options" in lockrotate.__all__
    assert "BACKENDS" not in lockrotate.__all__ and "DEFAULT_BACKEND" not in lockrotate.__all__
    for name in ("LockTimeout", "LockUnusable", "NotRegularFile"):
        assert issubclass(getattr(lockrotate, name), lockrotate.LockrotateError)
    assert issubclass(lockrotate.LockTimeout, TimeoutError)
    assert issubclass(lockrotate.LockUnusable, OSError)
    assert lockrotate.LockUnusable(13, "denied", "/x/.app.log.lock").path == "/x/.app.log.lock"


# Found by the simulator (docs/simulation.md) -------------------------------------------------


class FailingFlock(System):
    """The real system, except that ``flock`` fails as on NFS (``ENOLCK``) for *ops*."""

    def __init__(self, ops: set[int]) -> None:
        self.ops = ops
        self.failing = True

    def flock(self, fd: int, operation: int) -> None:
        if self.failing and operation in self.ops:
            raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))
        super().flock(fd, operation)


def test_strict_mode_writes_a_record_whose_lock_fails_with_an_error(tmp_path: Path) -> None:
    """A lock that fails with an error (not a timeout) falls back to the unlocked write, as
    a timeout does: the record is kept, and the outage reported once."""
    base = str(tmp_path / "app.log")
    system = FailingFlock({fcntl.LOCK_EX | fcntl.LOCK_NB})
    failures: list[BaseException | None] = []

    class Recording(lockrotate.RotatingFileHandler):
        def handleError(self, record: logging.LogRecord) -> None:
            failures.append(sys.exc_info()[1])

    handler = Recording(base, maxBytes=10**6, backupCount=2, lock_every_write=True, system=system)
    emit(handler, "one", "two")
    system.failing = False
    emit(handler, "three")
    handler.close()
    assert lines(base) == ["one", "two", "three"]
    assert len(failures) == 1 and isinstance(failures[0], lockrotate.LockUnusable)


def test_a_failing_unlock_leaves_the_lock_waiter_working(tmp_path: Path) -> None:
    """The waiter thread lets go of a grant nobody wants any more; if that unlock fails
    (``ENOLCK`` on NFS), the thread must survive, or the owner never gets the lock again."""
    lock_path = str(tmp_path / ".app.log.lock")
    system = FailingFlock({fcntl.LOCK_UN})
    system.failing = False
    lock = lockrotate._locks.FlockLock(lock_path, 0.2, Permissions(), 0o600, system)
    other = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(other, fcntl.LOCK_EX)
    with pytest.raises(lockrotate.LockTimeout):
        lock.acquire()  # the request stays with the waiter thread
    system.failing = True  # its unlock of the late grant fails
    os.close(other)  # the thread gets the lock for nobody, and fails to let it go
    threading.Event().wait(0.3)
    system.failing = False
    assert lock.acquire(time.monotonic() + 2) >= 0.0
    lock.release()
    lock.close()


@pytest.mark.parametrize("check_interval", [3600.0, 0.0])
def test_a_record_logged_while_a_new_file_is_dated_is_kept(
    tmp_path: Path, check_interval: float
) -> None:
    """A ``handleError`` that logs while its handler dates a file it adopts (here the warning
    that another process dates the log with another schedule): the file the handler had
    stays its own until the new one is dated, so the record is written, and no descriptor
    is left behind (the record met no file and was lost, or opened one that leaked)."""
    base = os.path.realpath(tmp_path / "app.log")
    start = datetime.datetime(2026, 1, 1, 10, 59, 50, tzinfo=datetime.UTC).timestamp()
    now = [start]
    minutely, hourly = (
        lockrotate.TimedRotatingFileHandler(
            base, when=when, utc=True, backupCount=5, clock=lambda: now[0],
            check_interval=check_interval,
        )
        for when in ("M", "H")
    )  # fmt: skip
    seen: list[BaseException | None] = []

    def logging_handle_error(record: logging.LogRecord) -> None:
        seen.append(sys.exc_info()[1])
        if len(seen) == 1:
            hourly.emit(logging.makeLogRecord({"msg": f"problem: {seen[0]}"}))

    hourly.handleError = logging_handle_error  # type: ignore[method-assign]
    try:
        hourly.emit(logging.makeLogRecord({"msg": "hourly first"}))
        minutely.emit(logging.makeLogRecord({"msg": "minutely first"}))
        now[0] = start + 20
        minutely.emit(logging.makeLogRecord({"msg": "minutely rotates"}))
        hourly.emit(logging.makeLogRecord({"msg": "hourly after the boundary"}))
        fds = os.listdir("/proc/self/fd")
        opened = [fd for fd in fds if os.path.realpath(f"/proc/self/fd/{fd}") == base]
    finally:
        minutely.close()
        hourly.close()
    assert len(seen) == 1 and "another process dated it" in str(seen[0])
    written = "".join(p.read_text() for p in tmp_path.iterdir() if p.name.startswith("app.log"))
    assert written.count("problem: ") == 1
    assert len(opened) == 2  # one descriptor of the base file for each handler
