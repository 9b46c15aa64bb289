"""Errors: bad arguments fail at construction; trouble while logging goes to handleError."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import resource
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import lockrotate
from conftest import FakeClock, run_in_child
from lockrotate import RotatingFileHandler, TimedRotatingFileHandler
from lockrotate._system import System

Size = RotatingFileHandler
Timed = TimedRotatingFileHandler


def capture(handler: logging.Handler) -> list[BaseException]:
    """Make *handler* keep what it reports to handleError instead of printing it."""
    seen: list[BaseException] = []

    def handle_error(record: logging.LogRecord) -> None:
        error = sys.exc_info()[1]
        assert error is not None
        seen.append(error)

    handler.handleError = handle_error  # type: ignore[method-assign]
    return seen


def log(handler: logging.Handler, *messages: str) -> None:
    for message in messages:
        handler.emit(logging.makeLogRecord({"msg": message}))


def lines(path: str | Path) -> list[str]:
    return Path(path).read_text().splitlines()


def wait_for_retry() -> None:
    """A first failed rollover is tried again a second later (README, ``lock_timeout``)."""
    time.sleep(RETRY_AFTER + 0.1)


RETRY_AFTER = 1.0


def records(prefix: str, count: int) -> list[str]:
    return [f"{prefix} {n:03} {'r' * 20}" for n in range(count)]


@pytest.fixture
def base(tmp_path: Path) -> str:
    return str(tmp_path / "app.log")


# At construction ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "kwargs", "error", "name"),
    [
        (Timed, {"when": "X"}, ValueError, "when"),
        (Timed, {"when": "W7"}, ValueError, "when"),
        (Timed, {"when": 3}, TypeError, "when"),
        (Timed, {"interval": 0}, ValueError, "interval"),
        (Timed, {"interval": -2}, ValueError, "interval"),
        (Timed, {"interval": "1"}, TypeError, "interval"),
        (Size, {"maxBytes": -1}, ValueError, "maxBytes"),
        (Size, {"maxBytes": "100"}, TypeError, "maxBytes"),
        (Timed, {"maxBytes": -1}, ValueError, "maxBytes"),
        (Size, {"backupCount": -1}, ValueError, "backupCount"),
        (Timed, {"backupCount": -1}, ValueError, "backupCount"),
        (Size, {"backupCount": 1.5}, TypeError, "backupCount"),
        (Timed, {"when": "midnight", "atTime": "01:00"}, TypeError, "atTime"),
        (Size, {"lock": "fcntl"}, ValueError, "lock"),
        (Timed, {"lock": "nope"}, ValueError, "lock"),
        (Size, {"mode": "w"}, ValueError, "mode"),
        (Size, {"mode": "ab"}, ValueError, "mode"),
        (Size, {"encoding": "no-such-codec"}, ValueError, "encoding"),
        (Timed, {"encoding": "no-such-codec"}, ValueError, "encoding"),
        (Size, {"errors": "no-such-handler"}, ValueError, "errors"),
        (Size, {"lock_timeout": -1}, ValueError, "lock_timeout"),
        (Size, {"lock_timeout": "1"}, TypeError, "lock_timeout"),
        (Size, {"check_interval": -0.5}, ValueError, "check_interval"),
        (Size, {"lock_dir": "/no/such/folder"}, ValueError, "lock_dir"),
        (Timed, {"clock": 12.0}, TypeError, "clock"),
    ],
)
def test_bad_arguments_fail_at_construction(
    base: str, cls: type[logging.Handler], kwargs: dict[str, object], error: type, name: str
) -> None:
    with pytest.raises(error, match=name):
        cls(base, **kwargs)  # type: ignore[call-arg]
    assert os.listdir(os.path.dirname(base)) == []


@pytest.mark.parametrize("filename", [3, None, b"app.log"])
def test_a_filename_that_is_not_a_path(filename: object) -> None:
    with pytest.raises(TypeError, match="filename"):
        RotatingFileHandler(filename)  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", [Size, Timed])
def test_missing_folder_fails_at_construction(tmp_path: Path, cls: type[logging.Handler]) -> None:
    path = tmp_path / "missing" / "app.log"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cls(path)  # type: ignore[call-arg]


@pytest.mark.parametrize("cls", [Size, Timed])
def test_missing_folder_with_delay_fails_at_the_first_record(
    tmp_path: Path, cls: type[logging.Handler]
) -> None:
    path = tmp_path / "missing" / "app.log"
    handler = cls(path, delay=True)  # type: ignore[call-arg]
    failures = capture(handler)
    log(handler, "lost: there is nowhere to put it")
    assert [type(f) for f in failures] == [FileNotFoundError]
    (tmp_path / "missing").mkdir()
    log(handler, "written once the folder exists")
    handler.close()
    assert lines(path) == ["written once the folder exists"]
    assert len(failures) == 1


# While logging ----------------------------------------------------------------------------


def test_rename_denied_is_reported_once_and_retried(
    base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_rename = os.rename

    def deny(source: str, dest: str) -> None:
        if source == base:
            raise PermissionError(errno.EACCES, "Permission denied", source)
        real_rename(source, dest)

    handler = RotatingFileHandler(base, maxBytes=100, backupCount=3)
    failures = capture(handler)
    monkeypatch.setattr(os, "rename", deny)
    before = records("before", 10)
    log(handler, *before)
    assert [type(f) for f in failures] == [PermissionError]
    assert lines(base) == before
    monkeypatch.setattr(os, "rename", real_rename)
    wait_for_retry()
    log(handler, "after")
    handler.close()
    assert lines(base + ".1") == before
    assert lines(base) == ["after"]
    assert len(failures) == 1


def test_a_failing_rotator_is_reported_and_nothing_is_lost(base: str) -> None:
    handler = RotatingFileHandler(base, maxBytes=100, backupCount=2)
    failures = capture(handler)

    def broken(source: str, dest: str) -> None:
        raise OSError(errno.EIO, "rotator broke")

    handler.rotator = broken
    before = records("before", 8)
    log(handler, *before)
    handler.close()
    assert [type(f) for f in failures] == [OSError]
    assert lines(base) == before


def test_disk_full_goes_to_handle_error(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    handler = RotatingFileHandler(base)
    failures = capture(handler)
    before = records("before", 3)
    log(handler, *before)
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(System, "write", staticmethod(full))  # the seam\'s write
    log(handler, "lost 1", "lost 2")
    # One outage, one report; the next outage after a successful write is reported again.
    assert [f.errno for f in failures if isinstance(f, OSError)] == [errno.ENOSPC]
    monkeypatch.setattr(System, "write", staticmethod(real_write))  # the seam\'s write
    log(handler, "after")
    monkeypatch.setattr(System, "write", staticmethod(full))  # the seam\'s write
    log(handler, "lost 3")
    monkeypatch.setattr(System, "write", staticmethod(real_write))  # the seam\'s write
    log(handler, "again")
    handler.close()
    assert [f.errno for f in failures if isinstance(f, OSError)] == [errno.ENOSPC] * 2
    assert lines(base) == [*before, "after", "again"]


def test_file_size_limit_in_a_child(base: str) -> None:
    """A real short write: the kernel stops at RLIMIT_FSIZE, then refuses with EFBIG."""
    before = records("before", 5)

    def child() -> int:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        handler = RotatingFileHandler(base)
        failures = capture(handler)
        log(handler, *before)
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(base) + 10, hard))
        log(handler, "cut short " + "c" * 30, "refused " + "c" * 30)
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        log(handler, "after")
        handler.close()
        efbig = [f for f in failures if isinstance(f, OSError) and f.errno == errno.EFBIG]
        # Both records are refused in one outage: one report.
        return 0 if len(efbig) == len(failures) == 1 else 1

    assert run_in_child(child) == 0
    written = lines(base)
    assert written[: len(before)] == before
    assert written[-1] == "after"


@contextlib.contextmanager
def held_elsewhere(path: str) -> Iterator[None]:
    """Another process holds flock on *path* for the duration of the block."""
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(ready_w, b"x")
            os.read(done_r, 1)
        finally:
            os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    try:
        assert os.read(ready_r, 1) == b"x"
        yield
    finally:
        os.write(done_w, b"x")
        os.close(done_w)
        os.close(ready_r)
        os.waitpid(pid, 0)


@pytest.mark.parametrize("strict", [False, True])
def test_lock_timeout_reports_once_keeps_writing_and_retries(base: str, strict: bool) -> None:
    handler = RotatingFileHandler(
        base, maxBytes=100, backupCount=3, lock_timeout=0.05, lock_every_write=strict
    )
    failures = capture(handler)
    first = records("first", 3)
    log(handler, *first)
    waiting = records("waiting", 5)
    with held_elsewhere(handler.lock_file):
        log(handler, *waiting[:2])
        assert handler.stats.lock_timeouts == 1
        log(handler, *waiting[2:4])  # within the second: written without trying the lock
        assert handler.stats.lock_timeouts == 1
        wait_for_retry()
        log(handler, *waiting[4:])
        assert handler.stats.lock_timeouts == 2  # it tried again, and timed out again
        assert [type(f) for f in failures] == [lockrotate.LockTimeout]  # reported once
        assert lines(base) == first + waiting  # none lost, nothing rotated
    # Each failed try doubles the pause before the next one: two seconds now.
    time.sleep(2 * RETRY_AFTER + 0.1)
    log(handler, "after")
    handler.close()
    assert len(failures) == 1
    assert lines(base + ".1") == first + waiting
    assert lines(base) == ["after"]
    assert handler.stats.records == len(first) + len(waiting) + 1


def test_a_failed_time_rollover_is_tried_again_when_the_next_period_begins(base: str) -> None:
    """Simulator finding 5: the pause after a failed rollover (a second, then two) ran on
    across boundaries, and the records of the next periods went to the old period's file.
    Only the period the try failed in waits now: the next one tries again at once."""
    clock = FakeClock(1_720_000_000.2)
    handler = TimedRotatingFileHandler(base, when="S", clock=clock, lock_timeout=0.05)
    failures = capture(handler)
    log(handler, "a")
    with held_elsewhere(handler.lock_file):
        clock.now += 1.0
        log(handler, "b")  # due: the lock cannot be had, so it goes to the current file
    assert [type(f) for f in failures] == [lockrotate.LockTimeout]
    clock.now += 0.5
    log(handler, "c")  # the same period, within the pause: not tried again
    clock.now += 0.5
    log(handler, "d")  # a new period, well within the pause: tried again, and rolled over
    handler.close()
    rotated = [name for name in os.listdir(Path(base).parent) if name.startswith("app.log.")]
    assert len(rotated) == 1
    assert lines(Path(base).parent / rotated[0]) == ["a", "b", "c"]
    assert lines(base) == ["d"]
    assert len(failures) == 1


def test_emit_never_raises_even_with_raise_exceptions(
    base: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stdlib's handleError prints a traceback to stderr; nothing escapes emit."""
    monkeypatch.setattr(logging, "raiseExceptions", True)
    handler = RotatingFileHandler(base)

    def full(fd: int, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(System, "write", staticmethod(full))  # the seam\'s write
    log(handler, "lost")
    monkeypatch.undo()
    handler.close()
    assert "No space left on device" in capsys.readouterr().err
