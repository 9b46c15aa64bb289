"""Every file lockrotate opens: one record is one write(), a short write is finished, and a
companion name taken by something else is refused without blocking."""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import lockrotate
import lockrotate._files
from conftest import fork_child
from lockrotate._files import (
    APPEND,
    PRIVATE,
    AppendFile,
    NotRegularFile,
    check_companion,
    create_new,
    identity_of,
    open_companion,
    open_file,
    unheld,
)
from lockrotate._permissions import Permissions
from lockrotate._system import System


class WriteSpy:
    """Wraps os.write: records each call's size (by descriptor, and by the file written), and
    optionally writes at most *chunk* bytes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, chunk: int | None = None) -> None:
        self.calls: list[tuple[int, int]] = []
        self.files: list[tuple[tuple[int, int], int]] = []
        self._real = os.write
        self._chunk = chunk
        monkeypatch.setattr(System, "write", staticmethod(self))  # the seam\'s write

    def __call__(self, fd: int, data: bytes) -> int:
        if self._chunk is not None:
            data = bytes(data[: self._chunk])
        written = self._real(fd, data)
        self.calls.append((fd, written))
        st = os.fstat(fd)
        self.files.append(((st.st_dev, st.st_ino), written))
        return written


def test_one_record_is_one_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = AppendFile(str(tmp_path / "app.log"))
    spy = WriteSpy(monkeypatch)
    record = b"x" * 200_000 + b"\n"
    file.write(record)
    assert spy.calls == [(file.fd, len(record))]
    file.close()
    assert (tmp_path / "app.log").read_bytes() == record


def test_a_short_write_is_finished(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = AppendFile(str(tmp_path / "app.log"))
    spy = WriteSpy(monkeypatch, chunk=7)
    records = [f"record {n} {'y' * n}\n".encode() for n in range(30)]
    for record in records:
        file.write(record)
    file.close()
    assert (tmp_path / "app.log").read_bytes() == b"".join(records)
    assert len(spy.calls) > len(records)


def test_handler_sends_each_record_in_one_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Larger than the 8 KiB buffer that makes the stdlib's stream split a record."""
    path = tmp_path / "app.log"
    handler = lockrotate.RotatingFileHandler(
        path, maxBytes=10**9, backupCount=1, encoding="utf-8", delay=True
    )
    spy = WriteSpy(monkeypatch)
    messages = ["a" * 100_000, "b" * 9000, "short", "é" * 5000]
    for message in messages:
        handler.emit(logging.makeLogRecord({"msg": message}))
    log = path.stat()
    handler.close()
    writes = [size for inode, size in spy.files if inode == (log.st_dev, log.st_ino)]
    assert writes == [len((m + "\n").encode("utf-8")) for m in messages]
    assert path.read_text("utf-8").splitlines() == messages


def test_appends_from_two_descriptors_do_not_overwrite(tmp_path: Path) -> None:
    path = str(tmp_path / "app.log")
    first, second = AppendFile(path), AppendFile(path)
    for n in range(10):
        (first if n % 2 else second).write(f"{n}\n".encode())
    assert first.size() == second.size() == 20
    first.close()
    second.close()
    assert Path(path).read_text().split() == [str(n) for n in range(10)]


def test_identity_follows_the_file_not_the_name(tmp_path: Path) -> None:
    path = str(tmp_path / "app.log")
    file = AppendFile(path)
    assert file.is_current()
    assert identity_of(path) == file.identity
    os.rename(path, path + ".1")
    assert not file.is_current()
    assert identity_of(path) is None
    assert identity_of(path + ".1") == file.identity
    file.write(b"after the rename\n")
    replacement = AppendFile(path)
    assert replacement.is_current()
    assert replacement.identity != file.identity
    assert not file.is_current()
    file.close()
    replacement.close()
    assert Path(path + ".1").read_bytes() == b"after the rename\n"


def test_close_is_idempotent(tmp_path: Path) -> None:
    file = AppendFile(str(tmp_path / "app.log"))
    fd = file.fd
    file.close()
    file.close()
    assert file.fd == -1
    with pytest.raises(OSError):
        os.fstat(fd)


def test_never_truncates(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"kept\n")
    file = AppendFile(str(path))
    file.write(b"added\n")
    file.close()
    assert path.read_bytes() == b"kept\nadded\n"


def test_a_torn_record_does_not_swallow_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills in the middle of a record: the next record starts on a line of its own."""
    path = tmp_path / "app.log"
    file = AppendFile(str(path))
    file.write(b"before\n")
    real_write = os.write
    calls: list[int] = []

    def half_then_full(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:4]))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(System, "write", staticmethod(half_then_full))  # the seam\'s write
    with pytest.raises(OSError, match="No space"):
        file.write(b"torn record\n")
    assert file.torn
    assert len(calls) == 2, "the short write was not finished"
    monkeypatch.setattr(System, "write", staticmethod(real_write))  # the seam\'s write
    file.write(b"after\n")
    assert not file.torn
    file.write(b"last\n")
    file.close()
    assert path.read_bytes().split(b"\n") == [b"before", b"torn", b"after", b"last", b""]


def test_a_pipe_is_written_and_never_sized(tmp_path: Path) -> None:
    fifo = str(tmp_path / "pipe")
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        file = AppendFile(fifo)
        assert not file.regular
        file.write(b"through the pipe\n")
        file.close()
        assert os.read(reader, 100) == b"through the pipe\n"
    finally:
        os.close(reader)
    null = AppendFile(os.devnull)
    assert not null.regular
    null.close()
    regular = AppendFile(str(tmp_path / "app.log"))
    assert regular.regular
    regular.close()


# Companion files -------------------------------------------------------------------------


def test_a_companion_is_opened_read_write_and_created(tmp_path: Path) -> None:
    path = str(tmp_path / ".app.log.lock")
    fd = open_companion(path, Permissions(), 0o600)
    try:
        assert os.path.isfile(path)
        assert fcntl_access(fd) == os.O_RDWR
    finally:
        os.close(fd)
    with pytest.raises(FileNotFoundError):
        open_companion(str(tmp_path / ".missing.period"), Permissions(), 0o600, create=False)
    assert not os.path.exists(tmp_path / ".missing.period")


def fcntl_access(fd: int) -> int:
    import fcntl

    return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE


@pytest.mark.parametrize("planted", ["fifo", "directory"])
def test_a_companion_name_taken_by_something_else_is_refused(tmp_path: Path, planted: str) -> None:
    path = str(tmp_path / ".app.log.lock")
    if planted == "fifo":
        os.mkfifo(path)  # no reader: a blocking open would hang here
    else:
        os.mkdir(path)
    for create in (True, False):
        with pytest.raises(NotRegularFile):
            open_companion(path, Permissions(), 0o600, create=create)
    assert sorted(os.listdir(tmp_path)) == [".app.log.lock"]


def test_a_companion_symlink_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "precious"
    target.write_text("kept\n")
    path = tmp_path / ".app.log.lock"
    path.symlink_to(target)
    with pytest.raises(OSError):
        open_companion(str(path), Permissions(), 0o600)
    assert target.read_text() == "kept\n"
    assert path.is_symlink()


def test_a_companion_that_may_not_be_written_is_opened_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user's 0644 lock file: flock needs only a read descriptor."""
    import fcntl

    path = str(tmp_path / ".app.log.lock")
    Path(path).write_bytes(b"")
    real_open = os.open

    def deny_writing(name: str, flags: int, *args: int) -> int:
        if name == path and flags & os.O_ACCMODE != os.O_RDONLY:
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, flags, *args)

    monkeypatch.setattr(os, "open", deny_writing)
    fd = open_companion(path, Permissions(), 0o600)
    monkeypatch.undo()
    try:
        assert fcntl_access(fd) == os.O_RDONLY
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        other = os.open(path, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)
    finally:
        os.close(fd)


# Creation with a mode and an owner -------------------------------------------------------


def test_open_file_gives_a_new_file_its_mode_whatever_the_umask(tmp_path: Path) -> None:
    path = str(tmp_path / "app.log")
    old = os.umask(0o077)
    try:
        fd = open_file(path, APPEND, Permissions(0o644))
    finally:
        os.umask(old)
    os.close(fd)
    assert os.stat(path).st_mode & 0o7777 == 0o644
    assert os.listdir(tmp_path) == ["app.log"], "a scratch file was left behind"
    # An existing file is opened as it is: its mode is not changed.
    os.chmod(path, 0o600)
    os.close(open_file(path, APPEND, Permissions(0o644)))
    assert os.stat(path).st_mode & 0o7777 == 0o600


def test_open_file_never_replaces_a_file_made_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process creates the name between our check and our link: we open theirs."""
    path = str(tmp_path / "app.log")
    real_link = os.link
    raced: list[str] = []

    def other_process_first(source: str, dest: str) -> None:
        if not raced:
            raced.append(source)
            Path(dest).write_bytes(b"theirs\n")
        real_link(source, dest)

    monkeypatch.setattr(os, "link", other_process_first)
    fd = open_file(path, APPEND, Permissions(0o640))
    monkeypatch.undo()
    os.write(fd, b"ours\n")
    os.close(fd)
    assert raced, "the race was never run"
    assert Path(path).read_bytes() == b"theirs\nours\n"
    assert os.listdir(tmp_path) == ["app.log"]


def test_create_new_refuses_an_existing_name_and_cleans_up_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = str(tmp_path / "scratch.z")
    fd = create_new(path, Permissions(0o600), 0o644, os.O_WRONLY)
    os.close(fd)
    assert os.stat(path).st_mode & 0o777 == 0o600
    with pytest.raises(FileExistsError):
        create_new(path, Permissions(), 0o644, os.O_WRONLY)
    os.unlink(path)

    def refuse(fd: int, mode: int) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "fchmod", refuse)
    with pytest.raises(PermissionError):
        create_new(path, Permissions(0o600), 0o644, os.O_WRONLY)
    assert not os.path.exists(path)


def test_a_companion_of_our_own_loses_bits_outside_the_mode(tmp_path: Path) -> None:
    path = str(tmp_path / ".app.log.lock")
    Path(path).write_bytes(b"")
    os.chmod(path, 0o666)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert check_companion(fd, 0o660) is None
        assert os.stat(path).st_mode & 0o777 == 0o660
        os.chmod(path, 0o600)
        assert check_companion(fd, 0o660) is None
        assert os.stat(path).st_mode & 0o777 == 0o600
    finally:
        os.close(fd)


def test_another_users_companion_is_named_and_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the owner may take bits away: as another user, the file is reported, not changed."""
    path = str(tmp_path / ".app.log.lock")
    Path(path).write_bytes(b"")
    os.chmod(path, 0o666)
    owner = os.stat(path).st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)
    fd = os.open(path, os.O_RDONLY)
    try:
        wide = check_companion(fd, 0o660)
        assert wide is not None
        assert f"uid {owner}" in wide
        assert "0o666" in wide
        exact = check_companion(fd, 0o666)
        assert exact is not None
        assert f"uid {owner}" in exact
        assert "0o666" not in exact
    finally:
        os.close(fd)
    assert os.stat(path).st_mode & 0o777 == 0o666


# A FIFO at the log's name (issue 18, item 3) ----------------------------------------------


def finishes_in_child(body: Callable[[], int | None], seconds: float = 10.0) -> int | None:
    """Run *body* in a forked child; its exit code, or None if it was still running after
    *seconds* (then it is killed)."""
    pid = fork_child(body)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def errors_reported(handler: logging.Handler) -> list[BaseException | None]:
    """Make *handler*'s handleError record what it is called with."""
    seen: list[BaseException | None] = []
    handler.handleError = lambda record: seen.append(sys.exc_info()[1])  # type: ignore[method-assign]
    return seen


def test_a_fifo_at_the_name_never_hangs_follow(tmp_path: Path) -> None:
    """The log is replaced by a FIFO nobody reads: the next check reports it (once) and the
    logging call returns; once a regular file is back, records go there."""
    path = tmp_path / "app.log"

    def body() -> int:
        handler = lockrotate.RotatingFileHandler(
            path, maxBytes=1000, backupCount=2, check_interval=0, lock_timeout=1
        )
        seen = errors_reported(handler)
        log = logging.makeLogRecord({"msg": "record"})
        handler.emit(log)
        os.remove(path)
        os.mkfifo(path)
        handler.emit(log)
        handler.emit(log)
        os.remove(path)
        handler.emit(log)
        handler.close()
        ok = len(seen) == 1 and isinstance(seen[0], OSError)
        return 0 if ok and path.read_bytes() == b"record\n" else 1

    assert finishes_in_child(body) == 0


def test_a_fifo_planted_during_a_rollover_never_hangs_it(tmp_path: Path) -> None:
    """The rollover's create of the new base file finds a FIFO there: reported, no hang."""
    path = tmp_path / "app.log"

    def plant(source: str, dest: str) -> None:
        os.rename(source, dest)
        os.mkfifo(source)

    def body() -> int:
        handler = lockrotate.RotatingFileHandler(path, maxBytes=10, backupCount=2, lock_timeout=1)
        handler.rotator = plant
        seen = errors_reported(handler)
        handler.emit(logging.makeLogRecord({"msg": "first record"}))
        handler.emit(logging.makeLogRecord({"msg": "second record"}))
        handler.close()
        return 0 if seen else 1

    assert finishes_in_child(body) == 0


def test_a_fifo_with_a_reader_is_still_written(tmp_path: Path) -> None:
    """No reader: the open fails with ENXIO at once. With one: written blocking, as the
    stdlib writes a pipe."""
    fifo = str(tmp_path / "pipe")
    os.mkfifo(fifo)

    def no_reader() -> int:
        try:
            AppendFile(fifo)
        except OSError as refused:
            return 0 if refused.errno == errno.ENXIO else 1
        return 2

    assert finishes_in_child(no_reader) == 0
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        file = AppendFile(fifo)
        assert os.get_blocking(file.fd)
        file.write(b"through\n")
        file.close()
        assert os.read(reader, 100) == b"through\n"
    finally:
        os.close(reader)


# A torn write in another encoding (issue 18, item 8) --------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-8"])
def test_a_torn_write_is_repaired_in_the_log_encoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    """The disk fills in the middle of a record of a UTF-16 log: every later record still
    decodes (a bare b"\\n" would shift every later byte by one)."""
    path = tmp_path / "app.log"
    handler = lockrotate.RotatingFileHandler(path, encoding=encoding)
    seen = errors_reported(handler)
    handler.emit(logging.makeLogRecord({"msg": "before"}))
    real_write = os.write
    calls: list[int] = []

    def a_piece_then_full(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return real_write(fd, bytes(data[:5]))
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(System, "write", staticmethod(a_piece_then_full))  # the seam's write
    handler.emit(logging.makeLogRecord({"msg": "torn record"}))
    monkeypatch.setattr(System, "write", staticmethod(real_write))
    handler.emit(logging.makeLogRecord({"msg": "after"}))
    handler.close()
    assert len(seen) == 1
    lines = path.read_bytes().decode(encoding).split("\n")
    assert lines[0] == "before" and lines[-2:] == ["after", ""]
    assert len(lines) == 4 and "torn record".startswith(lines[1].rstrip("\x00"))


# The shared hold of a writer (issue 18, the frozen writer) ---------------------------------


@pytest.mark.parametrize("race", ["being removed", "removed"])
def test_a_file_removed_under_a_writer_opening_it_is_not_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, race: str
) -> None:
    """The writer opened the base path just before a rollover renamed it, and a remover got
    to the rotated file before the writer's flock: it opens the base path again."""
    path = tmp_path / "app.log"
    rotated = tmp_path / "app.log.1"
    rotated.write_bytes(b"old\n")
    real_open = lockrotate._files.open_file
    opened: list[str] = []
    remover: list[int | None] = []

    def racing(name: str, flags: int, permissions: Permissions, *rest: Any) -> int:
        opened.append(name)
        if len(opened) > 1:
            return real_open(name, flags, permissions, *rest)
        fd = real_open(str(rotated), flags, permissions, *rest)
        remover.append(unheld(str(rotated)))
        if race == "removed":
            os.unlink(rotated)
            PRIVATE.close(remover.pop())
        return fd

    monkeypatch.setattr(lockrotate._files, "open_file", racing)
    file = AppendFile(str(path))
    try:
        assert len(opened) == 2 and file.identity == identity_of(str(path))
    finally:
        file.close()
        for fd in remover:
            assert fd is not None
            PRIVATE.close(fd)


def test_a_held_file_is_not_unheld_until_its_writer_lets_go(tmp_path: Path) -> None:
    path = str(tmp_path / "app.log")
    writer = AppendFile(path)
    assert unheld(path) is None
    writer.close()
    fd = unheld(path)
    assert fd is not None
    PRIVATE.close(fd)
