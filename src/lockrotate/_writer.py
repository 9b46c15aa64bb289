"""The append-only descriptor every record leaves through."""

from __future__ import annotations

import os

from ._permissions import Permissions, open_file

Identity = tuple[int, int]

_APPEND = os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)


def identity_of(path: str) -> Identity | None:
    """(device, inode) of *path*, or None when nothing is there."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


class AppendFile:
    """A file opened with ``O_APPEND`` that takes whole records as bytes.

    One record is one ``write()``: the kernel moves to the end and writes in one step, so
    records from other processes land before or after it, never inside it. There is no
    buffer and nothing to flush; a short write is finished before ``write`` returns.
    """

    __slots__ = ("fd", "identity", "path", "torn")

    def __init__(self, path: str, permissions: Permissions | None = None) -> None:
        self.path = path
        self.fd = open_file(path, _APPEND, permissions or Permissions())
        try:
            st = os.fstat(self.fd)
        except BaseException:
            os.close(self.fd)
            raise
        self.identity: Identity = (st.st_dev, st.st_ino)
        self.torn = False

    def write(self, data: bytes) -> None:
        """Write *data* whole, finishing a short write."""
        if self.torn:
            self._write_after_tear(data)
            return
        written = os.write(self.fd, data)
        if written < len(data):
            self._finish(data, written)

    def _finish(self, data: bytes, written: int) -> None:
        try:
            while written < len(data):
                written += os.write(self.fd, data[written:])
        except OSError:
            self.torn = True
            raise

    def _write_after_tear(self, data: bytes) -> None:
        """The rest of an earlier record was refused (disk full, file size limit): the piece
        that landed has no line end, so this record starts with one and stays whole."""
        data = b"\n" + data
        self._finish(data, 0)
        self.torn = False

    def size(self) -> int:
        """The shared file's real size, whoever wrote it.

        ``lseek(SEEK_END)`` reads the same inode size as ``fstat`` at half the cost in Python;
        moving our offset is harmless, since ``O_APPEND`` writes go to the end regardless.
        """
        return os.lseek(self.fd, 0, os.SEEK_END)

    def mtime(self) -> float:
        return os.fstat(self.fd).st_mtime

    def is_current(self) -> bool:
        """Whether the path still names the file this descriptor writes to."""
        return identity_of(self.path) == self.identity

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)
