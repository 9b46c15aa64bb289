"""The append writer: one record is one write(), and a short write is finished."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

import lockrotate
from lockrotate._writer import AppendFile, identity_of


class WriteSpy:
    """Wraps os.write: records each call's size (by descriptor, and by the file written), and
    optionally writes at most *chunk* bytes."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, chunk: int | None = None) -> None:
        self.calls: list[tuple[int, int]] = []
        self.files: list[tuple[tuple[int, int], int]] = []
        self._real = os.write
        self._chunk = chunk
        monkeypatch.setattr(os, "write", self)

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
