"""The write path in the core, through the public handlers: each hook asked once per record,
hooks assigned on an instance, and the write-path defects of the outside review (a compressor
that made emit skip a rollover, strict mode writing into a renamed file, an emit reopening
the file during close)."""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

import lockrotate
import lockrotate._archive
from conftest import descriptors_under

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
    real_scan = lockrotate._archive.Archive.scan
    inside = threading.Event()

    def slow_scan(archive: lockrotate._archive.Archive) -> lockrotate._archive.Inventory:
        compressor = threading.current_thread().name == "lockrotate-compress"
        if compressor and not inside.is_set() and lock_is_held(handler.lock_file):
            inside.set()  # the scan with the lock held, before the compressed copy's rename
            threading.Event().wait(0.5)
        return real_scan(archive)

    monkeypatch.setattr(lockrotate._archive.Archive, "scan", slow_scan)
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
