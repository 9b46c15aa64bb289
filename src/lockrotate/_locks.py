"""Inter-process lock backends behind one small interface.

The base class owns the algorithm (fork safety, timeout, back-off); a backend only says how
to open its lock, try it once without blocking, drop it and close it. All three backends
take an ``flock`` lock on their own open file description, so a lock object inherited
through ``fork()`` is never used again: the child opens its own.
"""

from __future__ import annotations

import fcntl
import os
import time
from abc import ABC, abstractmethod
from typing import Any

from ._permissions import Permissions, open_file

_FIRST_PAUSE = 20e-6
_LONGEST_PAUSE = 250e-6
_NOFOLLOW_FLAGS = os.O_RDWR | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class LockTimeout(TimeoutError):
    """The rollover lock stayed held by another process for longer than the timeout."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__(
            f"lockrotate could not take the lock {path!r} within {timeout:g} s; "
            "records still go to the current file and the rollover is tried again later"
        )
        self.path = path
        self.timeout = timeout


def open_nofollow(path: str, permissions: Permissions, fallback_mode: int = 0o666) -> int:
    """Open (creating if needed) *path* for reading and writing, refusing a symlink there."""
    return open_file(path, _NOFOLLOW_FLAGS, permissions, fallback_mode)


class InterProcessLock(ABC):
    """An exclusive lock on a file, shared by every process that names the same path.

    ``acquire`` tries once and then polls with a back-off that grows from 20 µs to 250 µs, so a
    waiter starts at most about a quarter of a millisecond after the holder lets go (filelock's
    default sleeps 50 ms), and gives up after ``timeout`` seconds with :class:`LockTimeout`.
    """

    name = ""

    def __init__(self, path: str, timeout: float, permissions: Permissions, mode: int) -> None:
        self.path = path
        self.timeout = timeout
        self.permissions = permissions
        self.mode = mode
        self._owner_pid = -1

    def acquire(self) -> float:
        """Take the lock; return the seconds spent waiting for it."""
        pid = os.getpid()
        if self._owner_pid != pid:
            if self._owner_pid != -1:
                self._abandon()
            self._open()
            self._owner_pid = pid
        start = time.monotonic()
        deadline = start + self.timeout
        pause = _FIRST_PAUSE
        waited = False
        while True:
            if self._try_lock():
                if self._still_named():
                    return time.monotonic() - start if waited else 0.0
                # The lock file was removed or replaced (its folder deleted and made again):
                # a lock on the old inode excludes nobody who opens the new one.
                self._unlock()
                self._close()
                self._owner_pid = -1
                self._open()
                self._owner_pid = pid
                continue
            now = time.monotonic()
            if now >= deadline:
                raise LockTimeout(self.path, self.timeout)
            time.sleep(min(pause, deadline - now))
            waited = True
            pause = min(pause * 2, _LONGEST_PAUSE)

    def release(self) -> None:
        """Let go; a copy inherited through fork() never releases the parent's hold."""
        if self._owner_pid == os.getpid():
            self._unlock()

    def close(self) -> None:
        if self._owner_pid == os.getpid():
            self._close()
        elif self._owner_pid != -1:
            self._abandon()
        self._owner_pid = -1

    @abstractmethod
    def _open(self) -> None:
        """Make the lock usable in this process."""

    @abstractmethod
    def _try_lock(self) -> bool:
        """Take the lock if it is free, without waiting."""

    @abstractmethod
    def _unlock(self) -> None: ...

    def _still_named(self) -> bool:
        """Whether the file we locked is still the one at ``path``."""
        return True

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def _abandon(self) -> None:
        """Forget what was inherited through fork() without unlocking the parent's lock."""


class _DescriptorLock(InterProcessLock):
    """Shared by the backends that lock a descriptor of their own."""

    def __init__(self, path: str, timeout: float, permissions: Permissions, mode: int) -> None:
        super().__init__(path, timeout, permissions, mode)
        self._fd = -1

    def _open(self) -> None:
        self._fd = open_nofollow(self.path, self.permissions, self.mode)

    def _close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def _abandon(self) -> None:
        # Closing our copy of the parent's open file description does not drop its flock.
        self._close()

    def _still_named(self) -> bool:
        try:
            named = os.lstat(self.path)
        except FileNotFoundError:
            return False
        held = os.fstat(self._fd)
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


class FlockLock(_DescriptorLock):
    """``fcntl.flock`` from the standard library: the cheapest, and the default."""

    name = "flock"

    def _try_lock(self) -> bool:
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)


class PortalockerLock(_DescriptorLock):
    """The portalocker package (``flock`` here, ``LockFileEx`` on Windows)."""

    name = "portalocker"

    def __init__(self, path: str, timeout: float, permissions: Permissions, mode: int) -> None:
        import portalocker

        super().__init__(path, timeout, permissions, mode)
        self._portalocker = portalocker

    def _try_lock(self) -> bool:
        pl = self._portalocker
        try:
            pl.lock(self._fd, pl.LockFlags.EXCLUSIVE | pl.LockFlags.NON_BLOCKING)
        except pl.AlreadyLocked:
            return False
        return True

    def _unlock(self) -> None:
        self._portalocker.unlock(self._fd)


class FileLockLock(InterProcessLock):
    """The filelock package; we poll it ourselves instead of its 50 ms default sleep."""

    name = "filelock"

    def __init__(self, path: str, timeout: float, permissions: Permissions, mode: int) -> None:
        import filelock

        super().__init__(path, timeout, permissions, mode)
        self._filelock = filelock
        self._lock: Any = None
        self._inherited: Any = None

    def _open(self) -> None:
        os.close(open_nofollow(self.path, self.permissions, self.mode))
        self._lock = self._filelock.FileLock(self.path, mode=self.mode, thread_local=False)

    def _try_lock(self) -> bool:
        try:
            self._lock.acquire(blocking=False)
        except self._filelock.Timeout:
            return False
        return True

    def _unlock(self) -> None:
        self._lock.release()

    def _close(self) -> None:
        self._lock = None

    def _abandon(self) -> None:
        # filelock refuses an instance inherited through fork(); keep it referenced so that
        # nothing in the child ever releases the parent's lock through it.
        self._inherited, self._lock = self._lock, None


BACKENDS: dict[str, type[InterProcessLock]] = {
    FlockLock.name: FlockLock,
    FileLockLock.name: FileLockLock,
    PortalockerLock.name: PortalockerLock,
}
DEFAULT_BACKEND = FlockLock.name


def make_lock(
    backend: str,
    path: str,
    timeout: float,
    mode: int = 0o666,
    permissions: Permissions | None = None,
) -> InterProcessLock:
    """The lock *backend* on *path*, created with *permissions* (else *mode* and the umask)."""
    try:
        cls = BACKENDS[backend]
    except (KeyError, TypeError):
        raise ValueError(
            f"lock must be one of {', '.join(map(repr, BACKENDS))}, not {backend!r}"
        ) from None
    try:
        return cls(path, timeout, permissions or Permissions(), mode)
    except ImportError as exc:
        raise ImportError(
            f"lock={backend!r} needs the {exc.name} package: pip install 'lockrotate[{backend}]'"
        ) from exc
