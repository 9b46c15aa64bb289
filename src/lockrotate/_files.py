"""Every file lockrotate opens: the flags, the refusals, and the append-only log descriptor.

Companion files (lock, period, scratch) live in folders that other users may write to, so they
are opened without following a symlink and without blocking (a FIFO planted at their name must
not hang the application), and anything that is not a regular file is refused.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from collections.abc import Callable
from typing import Final

from ._errors import NotRegularFile
from ._naming import scratch_path
from ._permissions import Permissions
from ._system import LOCK_EX, LOCK_NB, LOCK_SH, REAL, System

Identity = tuple[int, int]

# Opens of the base path that found a file being removed before one is kept (each such
# race needs a rollover and a removal between an open and its flock).
_REOPENS: Final = 100
#: Seconds between two looks for a FIFO's reader.
_READER_POLL: Final = 0.01

_CLOEXEC: Final = getattr(os, "O_CLOEXEC", 0)
# Non-blocking so that a FIFO without a reader at the log's name cannot hang the open; the
# flag is cleared once the file is open (see AppendFile).
APPEND: Final = os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK | _CLOEXEC
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


def _open_append(path: str, permissions: Permissions, reader_wait: float, system: System) -> int:
    deadline = system.monotonic() + reader_wait
    while True:
        try:
            return open_file(path, APPEND, permissions, 0o666, system)
        except OSError as exc:
            if exc.errno != errno.ENXIO or system.monotonic() >= deadline:
                raise
        system.sleep(_READER_POLL)


class AppendFile:
    """A file opened with ``O_APPEND`` that takes whole records as bytes.

    One record is one ``write()``: the kernel moves to the end and writes in one step, so
    records from other processes land before or after it, never inside it. There is no
    buffer and nothing to flush; a short write is finished before ``write`` returns.
    ``regular`` is False for a pipe, FIFO, tty or device: such a file is written, never
    sized, dated or rotated.

    The open never blocks: a FIFO with no reader raises ``ENXIO`` (reported, tried again
    later) instead of hanging the logging call, after waiting up to *reader_wait* seconds
    for one (the handler's first open of a FIFO it was given). A pipe that is open is then
    written blocking, as the stdlib writes it.

    A regular file is held with a shared ``flock`` for as long as it is open, taken once
    here, so no record pays for it: compression and retention remove a rotated file only
    after taking an exclusive lock on it (:func:`unheld`), so a writer that stopped
    between its check and its write (SIGSTOP, a paused container) finds its file still
    there. A file that is being removed right now, or is already gone, is not taken: the
    base path is opened again.

    *line_end* is the line terminator in the handler's encoding: after a torn write, the next
    record starts with it (``b"\\n"`` alone would shift every later byte of a UTF-16 log).
    """

    __slots__ = ("fd", "identity", "landed", "line_end", "path", "regular", "system", "torn")

    def __init__(
        self,
        path: str,
        permissions: Permissions | None = None,
        system: System = REAL,
        line_end: bytes = b"\n",
        reader_wait: float = 0.0,
    ) -> None:
        self.path = path
        self.system = system
        self.line_end = line_end
        self.torn = False
        #: How many bytes of the torn record landed.
        self.landed = 0
        for _ in range(_REOPENS):
            self.fd = _open_append(path, permissions or Permissions(), reader_wait, system)
            try:
                st = self._settle()
            except BaseException:
                system.close(self.fd)
                raise
            if st is not None:
                break
            system.close(self.fd)
        else:
            raise OSError(errno.EAGAIN, "the log file kept being removed while opened", path)
        self.identity: Identity = (st.st_dev, st.st_ino)
        self.regular = stat.S_ISREG(st.st_mode)

    def _settle(self) -> os.stat_result | None:
        """Blocking writes from now on; a regular file held shared. None if the file opened
        is being removed or is gone (a rename raced the open): open the path again."""
        fd, system = self.fd, self.system
        st = system.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            system.set_blocking(fd, True)  # (O_NONBLOCK does nothing to a regular file)
            return st
        try:
            system.flock(fd, LOCK_SH | LOCK_NB)
        except BlockingIOError:
            return None
        except OSError:
            return st  # no flock here (NFS on a write-only descriptor): the still-time rule
        # Locked after its remover let go: the file may be unlinked by now.
        return st if system.fstat(fd).st_nlink > 0 else None

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
            self.landed = written
            raise

    def _write_after_tear(self, data: bytes) -> None:
        """The rest of an earlier record was refused (disk full, file size limit): the piece
        that landed has no line end, so this record starts with one and stays whole. In a
        wide encoding (UTF-16, UTF-32) the piece is first completed to a whole code unit
        with zero bytes, or every later character would straddle two."""
        width = len(self.line_end)
        data = bytes(-self.landed % width) + self.line_end + data
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


class Private:
    """Descriptors a process must not pass to a child: the compressor's source and scratch
    file, the removed files waiting for their unlink. ``O_CLOEXEC`` does not close them at
    ``fork()``, and a child (a gunicorn or Celery worker) would keep a deleted file's space
    allocated for its whole life. A child closes them at once: an at-fork hook waits for any
    open or close in progress, so no descriptor is ever unknown to it. (A fork that skips
    Python's hooks, from C, is not covered.) A simulated system's descriptors are not
    real ones: they are tracked with the system that made them."""

    def __init__(self) -> None:
        self._fds: dict[int, System] = {}
        self._mutex = threading.Lock()
        os.register_at_fork(
            before=self._before_fork,
            after_in_parent=self._after_fork_in_parent,
            after_in_child=self._after_fork_in_child,
        )

    def open(self, opener: Callable[[], int | None], system: System = REAL) -> int | None:
        """The descriptor *opener* returns (None: none), known from the moment it exists."""
        with self._mutex:
            fd = opener()
            if fd is not None:
                self._fds[fd] = system
            return fd

    def close(self, fd: int, system: System = REAL) -> None:
        with self._mutex:
            self._fds.pop(fd, None)
            system.close(fd)

    def _before_fork(self) -> None:
        self._mutex.acquire()

    def _after_fork_in_parent(self) -> None:
        self._mutex.release()

    def _after_fork_in_child(self) -> None:
        """The parent's mutex stays held here (taken before the fork): a new one."""
        fds, self._fds = self._fds, {}
        for fd, system in fds.items():
            with contextlib.suppress(OSError):
                system.close(fd)
        self._mutex = threading.Lock()


PRIVATE: Final = Private()


def unheld(path: str, system: System = REAL) -> int | None:
    """A private descriptor of the regular file *path* with an exclusive ``flock`` on it, or
    None while a writer holds it (see :class:`AppendFile`). The caller removes the file, then
    closes the descriptor (``PRIVATE.close``): a writer that locks it meanwhile finds it
    removed, and opens the base path again."""

    def lock() -> int | None:
        fd = system.open(path, READ)
        try:
            system.flock(fd, LOCK_EX | LOCK_NB)
        except BlockingIOError:
            system.close(fd)
            return None
        except OSError:
            pass  # no flock on this filesystem: the callers' still-time rule is all there is
        except BaseException:
            system.close(fd)
            raise
        return fd

    return PRIVATE.open(lock, system)
