"""Inter-process lock backends behind one small interface.

The base class owns the algorithm (fork safety, deadline, back-off); a backend only says how
to open its lock, try it once without blocking, drop it and close it. All three backends
take an ``flock`` lock on their own open file description.

Across ``fork()`` a child must neither use nor keep its parent's lock: ``flock`` belongs to
the open file description, so an unlock in the child would drop the parent's hold, and a
copy kept open would keep the lock held after the parent died. At fork the child closes its
copy (without unlocking) and opens its own on first use.
"""

from __future__ import annotations

import fcntl
import math
import os
import time
from abc import ABC, abstractmethod
from typing import Any, Final, Literal

from ._files import NotRegularFile, check_companion, open_companion
from ._permissions import Permissions

LockBackend = Literal["flock", "filelock", "portalocker"]

_FIRST_PAUSE: Final = 20e-6
_LONGEST_PAUSE: Final = 250e-6
LONGEST_TIMEOUT: Final = 3600.0


class LockTimeout(TimeoutError):
    """The rollover lock stayed held by another process for longer than the timeout."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__(
            f"lockrotate could not take the lock {path!r} within {timeout:g} s; "
            "records still go to the current file and the rollover is tried again later"
        )
        self.path = path
        self.timeout = timeout

    def __reduce__(self) -> tuple[type[LockTimeout], tuple[str, float]]:
        # Picklable across multiprocessing and concurrent.futures.
        return (LockTimeout, (self.path, self.timeout))


class LockUnusable(OSError):
    """The lock file cannot be opened or locked (a planted directory or FIFO, permissions)."""


def check_timeout(value: float) -> float:
    if not (math.isfinite(value) and 0 <= value <= LONGEST_TIMEOUT):
        raise ValueError(
            f"lock_timeout must be between 0 and {LONGEST_TIMEOUT:g} seconds, not {value!r}: "
            "a logging call must never wait forever for another process"
        )
    return value


class InterProcessLock(ABC):
    """An exclusive lock on a file, shared by every process that names the same path.

    ``acquire`` tries once and then polls with a back-off that grows from 20 µs to 250 µs, so a
    waiter starts at most about a quarter of a millisecond after the holder lets go, and
    gives up at its deadline with :class:`LockTimeout`.
    """

    name = ""

    def __init__(self, path: str, timeout: float, permissions: Permissions, mode: int) -> None:
        self.path = path
        self.timeout = timeout
        self.permissions = permissions
        self.mode = mode
        # What is wrong with the lock file as found (another user's, wider bits), if anything.
        self.problem: str | None = None
        self._opened = False
        self._pid = -1

    def acquire(self, deadline: float | None = None) -> float:
        """Take the lock by *deadline* (``time.monotonic()``; None: ``timeout`` from now, and
        a deadline already past tries once); return the seconds spent waiting."""
        start = time.monotonic()
        if deadline is None:
            deadline = start + self.timeout
        if self._pid != os.getpid():
            # Inherited through fork() by a process whose handler did not see it happen.
            self.after_fork()
        if not self._opened:
            self._open_checked()
        pause = _FIRST_PAUSE
        waited = False
        while True:
            if self._try_lock():
                if self._still_named():
                    return time.monotonic() - start if waited else 0.0
                # The lock file was removed or replaced (its folder deleted and made again):
                # a lock on the old inode excludes nobody who opens the new one.
                self._unlock()
                self.close()
                self._open_checked()
                continue
            now = time.monotonic()
            if now >= deadline:
                raise LockTimeout(self.path, self.timeout)
            time.sleep(min(pause, deadline - now))
            waited = True
            pause = min(pause * 2, _LONGEST_PAUSE)

    def release(self) -> None:
        """Let go; after a fork inside a hold, the child has nothing of the parent's to drop."""
        if self._opened and self._pid == os.getpid():
            self._unlock()

    def close(self) -> None:
        if self._pid != os.getpid():
            self.after_fork()
        elif self._opened:
            self._opened = False
            self._close()

    def after_fork(self) -> None:
        """In a child: drop the parent's copy without unlocking it."""
        if self._opened:
            self._opened = False
            self._abandon()
        self._pid = os.getpid()

    def _open_checked(self) -> None:
        try:
            self._open()
        except (NotRegularFile, PermissionError, IsADirectoryError) as exc:
            message = f"the lock file cannot be used: {exc}"
            raise LockUnusable(exc.errno, message, self.path) from exc
        self._opened = True
        self._pid = os.getpid()

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
        """Close what was inherited through fork() without unlocking the parent's lock."""


class _DescriptorLock(InterProcessLock):
    """Shared by the backends that lock a descriptor of their own."""

    def __init__(self, path: str, timeout: float, permissions: Permissions, mode: int) -> None:
        super().__init__(path, timeout, permissions, mode)
        self._fd = -1

    def _open(self) -> None:
        self._fd = open_companion(self.path, self.permissions, self.mode)
        self.problem = check_companion(self._fd, self.mode)

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

    def _open(self) -> None:
        fd = open_companion(self.path, self.permissions, self.mode)
        try:
            self.problem = check_companion(fd, self.mode)
            writable = os.access(self.path, os.W_OK)
        finally:
            os.close(fd)
        if not writable:
            raise PermissionError(f"filelock needs to write the lock file {self.path!r}")
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
        # filelock refuses an instance inherited through fork(); close the descriptor it holds
        # (that never unlocks the parent's hold) and forget the instance.
        context = getattr(self._lock, "_context", None)
        fd = getattr(context, "lock_file_fd", None)
        if isinstance(fd, int):
            os.close(fd)
        self._lock = None


BACKENDS: dict[str, type[InterProcessLock]] = {
    FlockLock.name: FlockLock,
    FileLockLock.name: FileLockLock,
    PortalockerLock.name: PortalockerLock,
}
DEFAULT_BACKEND: Final[LockBackend] = "flock"


def make_lock(
    backend: str,
    path: str,
    timeout: float,
    mode: int = 0o660,
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

