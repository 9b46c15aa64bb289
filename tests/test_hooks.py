"""The stdlib's hooks and attributes as users touch them after construction: an overridden
``shouldRollover``/``doRollover``, ``suffix`` set later, a pickled ``LockTimeout``, logging
through a closed handler, and strict mode with a lock file it may not use."""

from __future__ import annotations

import ctypes
import gzip
import logging
import os
import pickle
import pwd
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import lockrotate
from conftest import FakeClock, descriptors_under, run_in_child
from lockrotate.bench.verify import log_files, record_text, verify

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC


def emit(handler: logging.Handler, *messages: str) -> None:
    for message in messages:
        handler.emit(logging.makeLogRecord({"msg": message}))


def lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def test_an_overridden_should_rollover_decides_for_emit(tmp_path: Path) -> None:
    """Roll before every record whose message says so; the protocol still renames once."""

    class OnMarker(lockrotate.RotatingFileHandler):
        def shouldRollover(self, record: logging.LogRecord | None) -> bool:
            return record is not None and record.getMessage().startswith("ROLL")

    base = str(tmp_path / "app.log")
    handler = OnMarker(base, maxBytes=10**9, backupCount=5)
    emit(handler, "a", "b", "ROLL c", "d", "ROLL e")
    handler.close()
    assert lines(base) == ["ROLL e"]
    assert lines(base + ".1") == ["ROLL c", "d"]
    assert lines(base + ".2") == ["a", "b"]
    assert handler.stats.rollovers == 2


def test_an_overridden_do_rollover_runs_when_a_rollover_is_due(tmp_path: Path) -> None:
    calls: list[int] = []

    class Counting(lockrotate.RotatingFileHandler):
        def doRollover(self) -> None:
            calls.append(os.path.getsize(self.baseFilename))
            super().doRollover()

    base = str(tmp_path / "app.log")
    handler = Counting(base, maxBytes=25, backupCount=5)
    emit(handler, *(f"record {n:03d}" for n in range(6)))  # 11 bytes each: 2 per file
    handler.close()
    assert calls == [22, 22]
    assert [lines(base + ".2"), lines(base + ".1"), lines(base)] == [
        ["record 000", "record 001"],
        ["record 002", "record 003"],
        ["record 004", "record 005"],
    ]


def test_an_overridden_do_rollover_in_strict_mode_does_not_deadlock(tmp_path: Path) -> None:
    class Counting(lockrotate.RotatingFileHandler):
        rolled = 0

        def doRollover(self) -> None:
            self.rolled += 1
            super().doRollover()

    base = str(tmp_path / "app.log")
    handler = Counting(base, maxBytes=25, backupCount=5, lock_every_write=True, lock_timeout=2)
    start = time.monotonic()
    emit(handler, *(f"record {n:03d}" for n in range(4)))
    handler.close()
    assert time.monotonic() - start < 2  # no wait for our own lock
    assert handler.rolled == 1
    assert lines(base + ".1") == ["record 000", "record 001"]


def test_suffix_set_after_construction_names_and_retains(tmp_path: Path) -> None:
    """As stdlib users do: ``handler.suffix = ...`` (with or without ``extMatch``)."""
    clock = FakeClock(T0)
    base = str(tmp_path / "app.log")
    handler = lockrotate.TimedRotatingFileHandler(
        base, when="S", backupCount=3, utc=True, clock=clock
    )
    handler.suffix = "%Y%m%d-%H%M%S"
    handler.extMatch = re.compile(r"^\d{8}-\d{6}$")
    for step in range(6):
        emit(handler, f"second {step}")
        clock.now += 1
    emit(handler, "last")
    handler.close()
    rotated = sorted(name for name in os.listdir(tmp_path) if name.startswith("app.log."))
    labels = [time.strftime("%Y%m%d-%H%M%S", time.gmtime(T0 + s)) for s in range(3, 6)]
    assert rotated == [f"app.log.{label}" for label in labels]  # retention kept the newest 3
    assert [lines(str(tmp_path / name)) for name in rotated] == [
        ["second 3"],
        ["second 4"],
        ["second 5"],
    ]
    assert handler.extMatch.fullmatch(labels[0])


@pytest.mark.parametrize("suffix", ["%a", "%Y-%b", "%s", "a/b%Y", "%"])
def test_a_suffix_that_cannot_be_read_back_is_refused(tmp_path: Path, suffix: str) -> None:
    handler = lockrotate.TimedRotatingFileHandler(str(tmp_path / "app.log"), when="D")
    with pytest.raises(ValueError, match="suffix"):
        handler.suffix = suffix
    handler.close()


def test_lock_timeout_pickles() -> None:
    error = lockrotate.LockTimeout("/logs/.app.log.lock", 2.5)
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is lockrotate.LockTimeout
    assert (copy.path, copy.timeout, str(copy)) == (error.path, error.timeout, str(error))


def test_a_record_after_close_is_appended_and_no_descriptor_kept(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    handler = lockrotate.RotatingFileHandler(base, maxBytes=20, backupCount=2)
    emit(handler, "first")
    handler.close()
    emit(handler, "after close, long enough to pass maxBytes", "and again")
    assert descriptors_under(tmp_path) == 0
    assert lines(base) == ["first", "after close, long enough to pass maxBytes", "and again"]
    assert not os.path.exists(base + ".1")  # a closed handler never rolls over


@pytest.fixture
def shared_folder() -> Iterator[Path]:
    """A folder every user can reach and write (pytest's own is root's alone)."""
    if os.geteuid() != 0:
        pytest.fail("this test runs a child as another user, which needs root (CI runs as root)")
    folder = Path(tempfile.mkdtemp(prefix="lockrotate-shared-"))
    os.chmod(folder, 0o777)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def _strict_child(base: str, records: int, uid: int) -> int:
    """As *uid*: strict mode where the lock file belongs to root with mode 0600."""
    failures: list[object] = []

    class Counting(lockrotate.RotatingFileHandler):
        def handleError(self, record: logging.LogRecord) -> None:
            failures.append(record)

    os.setgid(uid)
    os.setuid(uid)
    handler = Counting(base, maxBytes=10**6, backupCount=2, lock_every_write=True)
    emit(handler, *(f"record {n}" for n in range(records)))
    handler.close()
    return 10 + len(failures)


def test_strict_mode_with_an_unusable_lock_writes_everything_and_reports_once(
    shared_folder: Path,
) -> None:
    nobody = pwd.getpwnam("nobody").pw_uid
    folder = shared_folder
    base = str(folder / "app.log")
    lock = folder / ".app.log.lock"
    lock.touch(mode=0o600)
    os.chmod(lock, 0o600)
    assert run_in_child(lambda: _strict_child(base, 100, nobody)) == 11  # one report
    assert lines(base) == [f"record {n}" for n in range(100)]


def _readonly_child(base: str, uid: int) -> int:
    os.setgid(uid)
    os.setuid(uid)
    handler = lockrotate.RotatingFileHandler(base, maxBytes=30, backupCount=5)
    emit(handler, *(f"record {n:02d}" for n in range(9)))  # 10 bytes each: 3 per file
    handler.close()
    return handler.stats.rollovers


def test_a_read_only_lock_file_of_another_user_still_rotates(shared_folder: Path) -> None:
    """``flock`` needs only read access: another user's 0644 lock file is opened read-only."""
    nobody = pwd.getpwnam("nobody").pw_uid
    folder = shared_folder
    base = str(folder / "app.log")
    lock = folder / ".app.log.lock"
    lock.touch()
    os.chmod(lock, 0o644)
    assert run_in_child(lambda: _readonly_child(base, nobody)) == 2
    assert [lines(base + ".2"), lines(base + ".1"), lines(base)] == [
        ["record 00", "record 01", "record 02"],
        ["record 03", "record 04", "record 05"],
        ["record 06", "record 07", "record 08"],
    ]


@pytest.mark.parametrize("delay", [True, False])
def test_strict_timed_handler_dates_its_first_file_under_its_own_hold(
    tmp_path: Path, delay: bool
) -> None:
    """The first file is opened (and dated) while strict mode already holds the lock."""
    failures: list[logging.LogRecord] = []

    class Counting(lockrotate.TimedRotatingFileHandler):
        def handleError(self, record: logging.LogRecord) -> None:
            failures.append(record)

    base = str(tmp_path / "app.log")
    handler = Counting(base, when="H", lock_every_write=True, lock_timeout=1.0, delay=delay)
    start = time.monotonic()
    emit(handler, "one", "two")
    handler.close()
    assert time.monotonic() - start < 0.5
    assert failures == []
    assert lines(base) == ["one", "two"]
    assert handler.stats.lock_timeouts == 0


def test_processes_with_and_without_compression_shift_every_copy(tmp_path: Path) -> None:
    """A rolling deploy turns compression on: the process without ``compress`` shifts the
    ``.gz`` copies along with the plain ones, so no backup is left behind or overwritten."""
    base = str(tmp_path / "app.log")
    packing = lockrotate.RotatingFileHandler(
        base, maxBytes=30, backupCount=6, compress="gzip", check_interval=0
    )
    # delay: opened at its first record, so it holds no file that packing compresses first.
    plain = lockrotate.RotatingFileHandler(
        base, maxBytes=30, backupCount=6, check_interval=0, delay=True
    )
    emit(packing, "record 00", "record 01", "record 02", "record 03")  # one rollover
    deadline = time.monotonic() + 30
    while not os.path.exists(base + ".1.gz") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.path.exists(base + ".1.gz")
    emit(plain, *(f"record {n:02d}" for n in range(4, 10)))  # two more, by the other process
    packing.close()
    plain.close()
    names = sorted(os.listdir(tmp_path))
    assert names == [".app.log.lock", "app.log", "app.log.1", "app.log.2", "app.log.3.gz"]
    with gzip.open(base + ".3.gz", "rt", encoding="utf-8") as f:
        oldest = f.read().splitlines()
    assert oldest == ["record 00", "record 01", "record 02"]
    assert [lines(base + ".2"), lines(base + ".1"), lines(base)] == [
        ["record 03", "record 04", "record 05"],
        ["record 06", "record 07", "record 08"],
        ["record 09"],
    ]


def _log_in_c_forked_children(base: str, children: int, records: int) -> list[int]:
    """Build the handler, then fork the way uWSGI's master does: libc's fork(), which runs
    none of Python's at-fork hooks. Each child logs *records* lines across rollovers."""
    libc = ctypes.CDLL(None, use_errno=True)
    handler = lockrotate.RotatingFileHandler(base, maxBytes=2000, backupCount=10_000)
    emit(handler, record_text("parent", 0))
    handler.doRollover()  # the parent has opened (and let go of) its lock descriptor
    pids = []
    for child in range(children):
        pid = libc.fork()
        assert pid >= 0, os.strerror(ctypes.get_errno())
        if pid == 0:
            code = 1
            try:
                emit(handler, *(record_text(f"c{child}", seq) for seq in range(records)))
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    handler.close()
    return [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]


def test_children_forked_without_pythons_hooks_still_exclude_each_other(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    children, records = 4, 2000
    assert _log_in_c_forked_children(base, children, records) == [0] * children
    expected = {"parent": 1, **{f"c{child}": records for child in range(children)}}
    files = log_files(str(tmp_path), "app.log")
    report = verify(files, expected)
    assert report.ok, report.examples
    assert len(files) > 20  # many rollovers, each done by one of the children


def test_a_record_after_close_gets_chmod(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    handler = lockrotate.RotatingFileHandler(base, maxBytes=100, backupCount=2, chmod=0o600)
    emit(handler, "open")
    handler.close()
    os.rename(base, base + ".moved")  # someone else's rename: the next record makes the file
    emit(handler, "after close")
    assert lines(base) == ["after close"]
    assert os.stat(base).st_mode & 0o777 == 0o600


def test_a_folder_at_a_rotated_name_is_never_moved(tmp_path: Path) -> None:
    """A person's folder named like a backup: retention and shifting leave it alone, and the
    rollover it blocks is reported once, nothing lost."""
    failures: list[logging.LogRecord] = []

    class Counting(lockrotate.RotatingFileHandler):
        def handleError(self, record: logging.LogRecord) -> None:
            failures.append(record)

    base = str(tmp_path / "app.log")
    (tmp_path / "app.log.2").mkdir()
    (tmp_path / "app.log.2" / "keep.txt").write_text("mine\n")
    handler = Counting(base, maxBytes=20, backupCount=2)
    records = [f"record {n:02d}" for n in range(8)]  # 10 bytes each: 2 per file
    emit(handler, *records)
    handler.close()
    assert (tmp_path / "app.log.2" / "keep.txt").read_text() == "mine\n"
    assert len(failures) == 1  # the second rollover cannot shift .1 onto the folder
    kept = lines(base + ".1") + lines(base)
    assert kept == records
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".z")]


def test_a_child_forked_in_c_during_a_parents_rollover_rolls_over(tmp_path: Path) -> None:
    """libc's fork() while another thread of the parent is inside a rollover: the child must
    not inherit "another thread holds the lock" for ever."""
    parent = os.getpid()

    inside = threading.Event()

    class SlowInParent(lockrotate.RotatingFileHandler):
        def rotate(self, source: str, dest: str) -> None:
            if os.getpid() == parent:
                inside.set()
                time.sleep(0.5)
            super().rotate(source, dest)

    base = str(tmp_path / "app.log")
    handler = SlowInParent(base, maxBytes=3000, backupCount=10_000, check_interval=0.2)
    emit(handler, record_text("parent", 0))
    rolling = threading.Thread(target=handler.doRollover)
    rolling.start()
    assert inside.wait(10)  # the other thread now holds the lock, inside rotate()
    records = 600
    pid = ctypes.CDLL(None, use_errno=True).fork()
    if pid == 0:
        code = 1
        try:
            emit(handler, *(record_text("child", seq) for seq in range(records)))
            code = 0 if handler.stats.rollovers > 0 else 3
        finally:
            os._exit(code)
    rolling.join()
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    handler.close()
    files = log_files(str(tmp_path), "app.log")
    assert verify(files, {"parent": 1, "child": records}).ok
    assert max(os.path.getsize(f) for f in files) <= 3000 + 200


# Rotated names made by the user's hooks (issue 18, item 4) ---------------------------------


class Renamed(lockrotate.RotatingFileHandler):
    """A subclass that names its backups itself, as the stdlib lets it."""

    def rotation_filename(self, default_name: str) -> str:
        return default_name + ".old"


class TimedRenamed(lockrotate.TimedRotatingFileHandler):
    def rotation_filename(self, default_name: str) -> str:
        return default_name + ".old"


def reported(handler: logging.Handler) -> list[str]:
    seen: list[str] = []
    handler.handleError = lambda record: seen.append(repr(sys.exc_info()[1]))  # type: ignore[method-assign]
    return seen


def test_a_subclass_naming_its_backups_keeps_rotating(tmp_path: Path) -> None:
    """As in the stdlib: every rollover shifts the chain, the oldest goes, nothing grows."""
    base = str(tmp_path / "app.log")
    handler = Renamed(base, maxBytes=30, backupCount=2)
    errors = reported(handler)
    emit(handler, *(f"record {n:02d}" for n in range(12)))
    handler.close()
    assert errors == []
    assert sorted(os.listdir(tmp_path)) == [
        ".app.log.lock",
        "app.log",
        "app.log.1.old",
        "app.log.2.old",
    ]
    kept = lines(base + ".2.old") + lines(base + ".1.old") + lines(base)
    assert kept == [f"record {n:02d}" for n in range(12)][-len(kept) :]
    assert all(os.path.getsize(base + suffix) <= 30 for suffix in ("", ".1.old", ".2.old"))


def test_a_timed_subclass_naming_its_files_keeps_its_count(tmp_path: Path) -> None:
    clock = FakeClock(1_700_000_000.0)
    base = str(tmp_path / "app.log")
    handler = TimedRenamed(base, when="S", backupCount=2, clock=clock)
    errors = reported(handler)
    for n in range(6):
        emit(handler, f"record {n}")
        clock.now += 1.0
    handler.close()
    assert errors == []
    rotated = [name for name in os.listdir(tmp_path) if name.endswith(".old")]
    assert len(rotated) == 2


@pytest.mark.parametrize(
    "cls", [lockrotate.RotatingFileHandler, lockrotate.TimedRotatingFileHandler]
)
def test_a_namer_into_another_folder_fails_clearly_at_the_first_rollover(
    tmp_path: Path, cls: type[logging.Handler]
) -> None:
    """lockrotate finds rotated files only in the log's folder: a namer that files them in
    ``old/`` is refused at the first rollover, with a message that says so, before anything
    moves (not one rotation and then a collision at every later one)."""
    (tmp_path / "old").mkdir()
    base = str(tmp_path / "app.log")
    clock = FakeClock(1_700_000_000.0)
    if cls is lockrotate.RotatingFileHandler:
        handler = cls(base, maxBytes=30, backupCount=3)
    else:
        handler = cls(base, when="S", backupCount=3, clock=clock)
    handler.namer = lambda name: os.path.join(os.path.dirname(name), "old", os.path.basename(name))  # type: ignore[attr-defined]
    errors = reported(handler)
    for n in range(8):
        emit(handler, f"record {n:02d}")
        clock.now += 1.0
    handler.close()
    assert len(errors) == 1 and "outside the log's folder" in errors[0], errors
    assert os.listdir(tmp_path / "old") == []
    assert len(lines(base)) == 8


class OwnNames(lockrotate.RotatingFileHandler):
    """A user's subclass with methods named as lockrotate's callbacks once were."""

    def failed(self) -> str:
        return "the user's"

    def report(self, *lines: str) -> int:
        return len(lines)


def test_a_subclass_may_name_its_methods_failed_and_report(tmp_path: Path) -> None:
    """The core reports through a hooks object of its own, not methods of the handler: a
    subclass's ``failed``/``report`` are never called, and a failure still reaches
    ``handleError`` once."""
    folder = tmp_path / "logs"
    folder.mkdir()
    handler = OwnNames(str(folder / "app.log"), maxBytes=1000, backupCount=2, delay=True)
    errors = reported(handler)
    folder.rmdir()
    emit(handler, "lost: no folder", "lost again")
    handler.close()
    assert len(errors) == 1 and "FileNotFoundError" in errors[0], errors
    assert handler.failed() == "the user's" and handler.report("a", "b") == 2
