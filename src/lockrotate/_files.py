"""Every file lockrotate opens: the flags, the refusals, and the append-only log descriptor.

Companion files (lock, period, scratch) live in folders that other users may write to, so they
are opened without following a symlink and without blocking (a FIFO planted at their name must
not hang the application), and anything that is not a regular file is refused.
"""

from __future__ import annotations

import errno
import os
import stat
from typing import Final

from ._errors import NotRegularFile
from ._naming import scratch_path
from ._permissions import Permissions
from ._system import REAL, System

Identity = tuple[int, int]

_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
APPEND: Final = os.O_WRONLY | os.O_APPEND | _CLOEXEC
READ: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC
READ_WRITE: Final = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC
_CREATE_NEW: Final = os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _CLOEXEC


def identity_of(path: str, system: System = REAL) -> Identity | None:
    """(device, inode) of *path*, or None when nothing is there."""
    try:
        st = system.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def lexists(path: str, system: System = REAL) -> bool:
    """Whether anything (a dangling symlink too) has the name *path*: ``os.path.lexists``,
    so a name that cannot exist (too long) does not."""
    try:
        system.lstat(path)
    except OSError:
        return False
    return True


def is_folder(path: str, system: System = REAL) -> bool:
    try:
        return stat.S_ISDIR(system.stat(path).st_mode)
    except OSError:
        return False


def never_overwrite(dest: str, system: System = REAL) -> None:
    """Refuse to move anything onto *dest* if any file has that name."""
    if lexists(dest, system):
        raise FileExistsError(errno.EEXIST, "lockrotate never overwrites a file", dest)


def companion_warning(what: str, path: str, problem: str, risk: str) -> str:
    """The warning about a lock or period file (*what*) that is another user's or too open."""
    return (
        f"lockrotate: the {what} file {path} {problem}: {risk}; keep shared logs in a folder "
        "that only trusted users can write"
    )


def create_new(
    path: str, permissions: Permissions, fallback_mode: int, flags: int, system: System = REAL
) -> int:
    """Create *path*, which must not exist yet, and give it its mode and owner.

    The caller links or renames it into place, so that no one can open it under its final
    name before it has the right mode.
    """
    mode = fallback_mode if permissions.mode is None else permissions.mode
    fd = system.open(path, flags | _CREATE_NEW, mode)
    try:
        if permissions.mode is not None:
            system.fchmod(fd, permissions.mode)
        if permissions.uid != -1 or permissions.gid != -1:
            system.fchown(fd, permissions.uid, permissions.gid)
    except BaseException:
        system.close(fd)
        system.unlink(path)
        raise
    return fd


def open_file(
    path: str,
    flags: int,
    permissions: Permissions,
    fallback_mode: int = 0o666,
    system: System = REAL,
) -> int:
    """Open *path* with *flags*, creating it if it is missing.

    Without ``chmod``/``owner`` a new file is made as ``open()`` makes it (through the umask).
    With them it appears under its name already carrying them: it is made under a scratch
    name and linked into place, and ``link`` never replaces a file that another process
    created meanwhile (that one is then opened as it is).
    """
    if not permissions.explicit:
        return system.open(path, flags | os.O_CREAT, fallback_mode)
    while True:
        try:
            return system.open(path, flags)
        except FileNotFoundError:
            pass
        temp = scratch_path(path, system)
        fd = create_new(temp, permissions, fallback_mode, flags & ~os.O_NONBLOCK, system)
        try:
            system.link(temp, path)
        except FileExistsError:
            system.close(fd)
            continue
        except BaseException:
            system.close(fd)
            raise
        finally:
            system.unlink(temp)
        return fd


def open_companion(
    path: str, permissions: Permissions, mode: int, create: bool = True, system: System = REAL
) -> int:
    """Open a lock or period file for reading and writing (creating it when *create*), or
    read-only when another user's file may not be written: ``flock`` needs no more.

    Raises :class:`NotRegularFile` for anything but a regular file, without blocking on it.
    """
    try:
        fd = (
            open_file(path, READ_WRITE, permissions, mode, system)
            if create
            else system.open(path, READ_WRITE)
        )
    except PermissionError:
        fd = system.open(path, READ)
    except IsADirectoryError:
        raise NotRegularFile(errno.EISDIR, "a directory holds the name", path) from None
    try:
        if not stat.S_ISREG(system.fstat(fd).st_mode):
            raise NotRegularFile(errno.EINVAL, "not a regular file", path)
    except BaseException:
        system.close(fd)
        raise
    return fd


def check_companion(fd: int, mode: int, system: System = REAL) -> str | None:
    """Take from a companion file any permission bit outside *mode* when this process owns
    it; otherwise say what is wrong with it (another user's file, or wider bits)."""
    st = system.fstat(fd)
    wider = st.st_mode & 0o777 & ~mode
    if st.st_uid != system.geteuid():
        extra = f" and has mode {st.st_mode & 0o777:#o}" if wider else ""
        return f"is owned by uid {st.st_uid}{extra}"
    if wider:
        system.fchmod(fd, st.st_mode & 0o777 & mode)
    return None


class AppendFile:
    """A file opened with ``O_APPEND`` that takes whole records as bytes.

    One record is one ``write()``: the kernel moves to the end and writes in one step, so
    records from other processes land before or after it, never inside it. There is no
    buffer and nothing to flush; a short write is finished before ``write`` returns.
    ``regular`` is False for a pipe, FIFO, tty or device: such a file is written, never
    sized, dated or rotated.
    """

    __slots__ = ("fd", "identity", "path", "regular", "system", "torn")

    def __init__(
        self, path: str, permissions: Permissions | None = None, system: System = REAL
    ) -> None:
        self.path = path
        self.system = system
        self.fd = open_file(path, APPEND, permissions or Permissions(), 0o666, system)
        try:
            st = system.fstat(self.fd)
        except BaseException:
            system.close(self.fd)
            raise
        self.identity: Identity = (st.st_dev, st.st_ino)
        self.regular = stat.S_ISREG(st.st_mode)
        self.torn = False

    def write(self, data: bytes) -> None:
        """Write *data* whole, finishing a short write."""
        if self.torn:
            self._write_after_tear(data)
            return
        written = self.system.write(self.fd, data)
        if written < len(data):
            self.finish(data, written)

    def finish(self, data: bytes, written: int) -> None:
        """Write the rest of *data* after its first *written* bytes (a short write)."""
        try:
            while written < len(data):
                written += self.system.write(self.fd, data[written:])
        except OSError:
            self.torn = True
            raise

    def _write_after_tear(self, data: bytes) -> None:
        """The rest of an earlier record was refused (disk full, file size limit): the piece
        that landed has no line end, so this record starts with one and stays whole."""
        data = b"\n" + data
        self.finish(data, 0)
        self.torn = False

    def size(self) -> int:
        """The shared file's real size, whoever wrote it.

        ``lseek(SEEK_END)`` reads the same inode size as ``fstat`` at half the cost in Python;
        moving our offset is harmless, since ``O_APPEND`` writes go to the end regardless.
        """
        return self.system.lseek(self.fd, 0, os.SEEK_END)

    def mtime(self) -> float:
        return self.system.fstat(self.fd).st_mtime

    def is_current(self) -> bool:
        """Whether the path still names the file this descriptor writes to."""
        return identity_of(self.path, self.system) == self.identity

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            self.system.close(fd)
