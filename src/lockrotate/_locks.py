"""Inter-process lock backends behind one small interface.

The base class owns the algorithm (fork safety, deadline, back-off); a backend only says how
to open its lock, try it once without blocking, drop it and close it. All three backends
take an ``flock`` lock on their own open file description.

Across ``fork()`` a child must neither use nor keep its parent's lock: ``flock`` belongs to
the open file description, so an unlock in the child would drop the parent's hold, and a
copy kept open would keep the lock held after the parent died. At fork the child closes its
copy (without unlocking) and opens its own on first use: the core that owns the lock calls
:meth:`InterProcessLock.check_fork` (see :mod:`lockrotate._fork`).

Every call goes through a :class:`lockrotate._system.System`. The ``filelock`` and
``portalocker`` backends lock through their packages, which call the kernel themselves: they
run on the real system only.
"""

from __future__ import annotations

import contextlib
import math
import os
from abc import ABC, abstractmethod
from typing import Any, Final, Literal

with contextlib.suppress(ImportError):  # not POSIX: no handler is built (require_posix)
    import fcntl

from ._errors import LockTimeout, LockUnusable, NotRegularFile
from ._files import check_companion, open_companion
from ._fork import watch
from ._permissions import Permissions
from ._system import REAL, System
from ._waiter import Waiter

LockBackend = Literal["flock", "filelock", "portalocker"]

_FIRST_PAUSE: Final = 20e-6
_LONGEST_PAUSE: Final = 250e-6
LONGEST_TIMEOUT: Final = 3600.0
_NAME_CHECK_INTERVAL: Final = 1.0
_HANDOFF: Final = 0.002


def check_timeout(value: float) -> float:
    if not (math.isfinite(value) and 0 <= value <= LONGEST_TIMEOUT):
        raise ValueError(
            f"lock_timeout must be between 0 and {LONGEST_TIMEOUT:g} seconds, not {value!r}: "
            "a logging call must never wait forever for another process"
        )
    return value


class InterProcessLock(ABC):
    """An exclusive lock on a file, shared by every process that names the same path.

    ``acquire`` tries once; if the lock is taken it waits until the holder lets go or the
    deadline passes (:class:`LockTimeout`). How it waits is the backend's: woken by the
    kernel where it can block, else polling with a back-off from 20 µs to 250 µs.
    """

    name = ""

    def __init__(
        self,
        path: str,
        timeout: float,
        permissions: Permissions,
        mode: int,
        system: System = REAL,
    ) -> None:
        self.system = system
        self.pid = system.getpid()
        self.path = path
        self.timeout = timeout
        self.permissions = permissions
        self.mode = mode
        # What is wrong with the lock file as found (another user's, wider bits), if anything.
        self.problem: str | None = None
        self._opened = False
        self._named_until = 0.0
        watch(self)

    def acquire(self, deadline: float | None = None) -> float:
        """Take the lock by *deadline* (``time.monotonic()``; None: ``timeout`` from now, and
        a deadline already past tries once); return the seconds spent waiting."""
        if self.pid != self.system.getpid():
            self.check_fork()
        monotonic = self.system.monotonic
        start = monotonic()
        if deadline is None:
            deadline = start + self.timeout
        while True:
            if not self._opened:
                self._open_checked()
            try:
                waited = not self._try_lock()
                if waited and not self._wait(deadline):
                    raise LockTimeout(self.path, self.timeout)
            except (LockTimeout, LockUnusable):
                raise
            except OSError as exc:
                # flock failing outright (NFS: ENOLCK, EIO): as unusable as a planted FIFO.
                raise LockUnusable(
                    exc.errno, f"the lock cannot be taken: {exc}", self.path
                ) from exc
            try:
                named = self.still_named()
            except OSError as exc:
                # The lock file's name cannot be looked at (EACCES, EIO): let go at once (a
                # hold kept here would block every other process) and fail like flock.
                self.release()
                raise LockUnusable(
                    exc.errno, f"the lock file cannot be checked: {exc}", self.path
                ) from exc
            if named:
                return monotonic() - start if waited else 0.0
            # The lock file was removed or replaced (its folder deleted and made again):
            # a lock on the old inode excludes nobody who opens the new one.
            self.release()
            self.close()

    def still_named(self, recheck: bool = False) -> bool:
        """Whether the locked file is still the one at ``path``: checked at most once a
        second (strict mode takes the lock for every record) unless *recheck*, and always
        when it failed."""
        now = self.system.monotonic()
        if now < self._named_until and not recheck:
            return True
        if not self._still_named():
            self._named_until = 0.0
            return False
        self._named_until = now + _NAME_CHECK_INTERVAL
        return True

    def release(self) -> None:
        """Let go; after a fork inside a hold, the child has nothing of the parent's to drop."""
        if self.pid != self.system.getpid():
            self.check_fork()
        if self._opened:
            self._release()

    def close(self) -> None:
        if self._opened:
            self._opened = False
            self._close()

    def check_fork(self) -> None:
        """In a child (a changed pid): drop the parent's copy without unlocking it."""
        pid = self.system.getpid()
        if pid == self.pid:
            return
        self.pid = pid
        if self._opened:
            self._opened = False
            self._abandon()

    def _open_checked(self) -> None:
        try:
            self._open()
        except (NotRegularFile, PermissionError, IsADirectoryError) as exc:
            message = f"the lock file cannot be used: {exc}"
            raise LockUnusable(exc.errno, message, self.path) from exc
        self._opened = True
        self._named_until = 0.0

    def _wait(self, deadline: float) -> bool:
        """The lock was taken: poll until it is ours or *deadline* passes."""
        pause = _FIRST_PAUSE
        system = self.system
        while True:
            now = system.monotonic()
            if now >= deadline:
                return False
            system.sleep(min(pause, deadline - now))
            if self._try_lock():
                return True
            pause = min(pause * 2, _LONGEST_PAUSE)

    @abstractmethod
    def _open(self) -> None:
        """Make the lock usable in this process."""

    @abstractmethod
    def _try_lock(self) -> bool:
        """Take the lock if it is free, without waiting."""

    @abstractmethod
    def _release(self) -> None: ...

    @abstractmethod
    def _still_named(self) -> bool:
        """Whether the file we locked is still the one at ``path``."""

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def _abandon(self) -> None:
        """Close what was inherited through fork() without unlocking the parent's lock."""


class _DescriptorLock(InterProcessLock):
    """Shared by the backends that lock a descriptor of their own, and can block on it."""

    def __init__(
        self,
        path: str,
        timeout: float,
        permissions: Permissions,
        mode: int,
        system: System = REAL,
    ) -> None:
        super().__init__(path, timeout, permissions, mode, system)
        self._fd = -1
        self._waiter: Waiter | None = None

    def _open(self) -> None:
        self._fd = open_companion(self.path, self.permissions, self.mode, True, self.system)
        self.problem = check_companion(self._fd, self.mode, self.system)

    def _wait(self, deadline: float) -> bool:
        if self._waiter is None:
            self._waiter = Waiter(self._fd, self._block, self._release_fd, self.system)
        # Even a try that may not wait gives the thread a moment: it may be getting the lock
        # that its holder just let go.
        try:
            return self._waiter.wait(max(deadline, self.system.monotonic() + _HANDOFF))
        except RuntimeError:
            # No new thread at interpreter shutdown: poll instead; a rollover still happens.
            if self._waiter.pending:
                raise
            self._waiter = None
            return super()._wait(deadline)

    def _try_lock(self) -> bool:
        if self._waiter is not None and self._waiter.pending:
            return False  # the waiter thread is asking for it: only it may take it now
        return self._try_fd()

    def _release(self) -> None:
        self._release_fd(self._fd)

    def _close(self) -> None:
        waiter, self._waiter = self._waiter, None
        fd, self._fd = self._fd, -1
        if fd >= 0 and (waiter is None or waiter.close()):
            self.system.close(fd)

    def _abandon(self) -> None:
        # Closing our copy of the parent's open file description does not drop its flock;
        # the parent's waiter thread does not exist here.
        self._waiter = None
        fd, self._fd = self._fd, -1
        if fd >= 0:
            self.system.close(fd)

    def _still_named(self) -> bool:
        try:
            named = self.system.lstat(self.path)
        except FileNotFoundError:
            return False
        held = self.system.fstat(self._fd)
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)

    @abstractmethod
    def _try_fd(self) -> bool: ...

    @abstractmethod
    def _block(self, fd: int) -> None:
        """Take the lock on *fd*, blocking until it is free."""

    @abstractmethod
    def _release_fd(self, fd: int) -> None: ...


class FlockLock(_DescriptorLock):
    """``fcntl.flock`` from the standard library: the cheapest, and the default."""

    name = "flock"

    def _try_fd(self) -> bool:
        try:
            self.system.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _block(self, fd: int) -> None:
        self.system.flock(fd, fcntl.LOCK_EX)

    def _release_fd(self, fd: int) -> None:
        self.system.flock(fd, fcntl.LOCK_UN)


class PortalockerLock(_DescriptorLock):
    """The portalocker package (``flock`` here, ``LockFileEx`` on Windows)."""

    name = "portalocker"

    def __init__(
        self,
        path: str,
        timeout: float,
        permissions: Permissions,
        mode: int,
        system: System = REAL,
    ) -> None:
        import portalocker

        super().__init__(path, timeout, permissions, mode, system)
        self._portalocker = portalocker

    def _try_fd(self) -> bool:
        pl = self._portalocker
        try:
            pl.lock(self._fd, pl.LockFlags.EXCLUSIVE | pl.LockFlags.NON_BLOCKING)
        except pl.AlreadyLocked:
            return False
        return True

    def _block(self, fd: int) -> None:
        self._portalocker.lock(fd, self._portalocker.LockFlags.EXCLUSIVE)

    def _release_fd(self, fd: int) -> None:
        self._portalocker.unlock(fd)


class FileLockLock(InterProcessLock):
    """The filelock package; we poll it ourselves instead of its 50 ms default sleep.

    filelock opens the lock file itself and keeps its descriptor private, so the check that
    the locked file is still the one named (:meth:`InterProcessLock.still_named`) compares
    the inode filelock holds (read from its context) with the path's, like the others.
    """

    name = "filelock"

    def __init__(
        self,
        path: str,
        timeout: float,
        permissions: Permissions,
        mode: int,
        system: System = REAL,
    ) -> None:
        import filelock

        super().__init__(path, timeout, permissions, mode, system)
        self._filelock = filelock
        self._lock: Any = None

    def _open(self) -> None:
        fd = open_companion(self.path, self.permissions, self.mode, True, self.system)
        try:
            self.problem = check_companion(fd, self.mode, self.system)
            writable = os.access(self.path, os.W_OK)
        finally:
            self.system.close(fd)
        if not writable:
            raise PermissionError(f"filelock needs to write the lock file {self.path!r}")
        self._lock = self._filelock.FileLock(self.path, mode=self.mode, thread_local=False)

    def _try_lock(self) -> bool:
        try:
            self._lock.acquire(blocking=False)
        except self._filelock.Timeout:
            return False
        return True

    def _release(self) -> None:
        self._lock.release()

    def _close(self) -> None:
        self._lock = None

    def _held_fd(self) -> int | None:
        context = getattr(self._lock, "_context", None)
        fd = getattr(context, "lock_file_fd", None)
        return fd if isinstance(fd, int) else None

    def _still_named(self) -> bool:
        fd = self._held_fd()
        if fd is None:
            return True  # not held: nothing to compare (acquire asks only while it holds)
        try:
            named = self.system.lstat(self.path)
        except FileNotFoundError:
            return False
        held = self.system.fstat(fd)
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)

    def _abandon(self) -> None:
        # filelock refuses an instance inherited through fork(); close the descriptor it holds
        # (that never unlocks the parent's hold) and forget the instance.
        fd = self._held_fd()
        if fd is not None:
            self.system.close(fd)
        self._lock = None


BACKENDS: Final[dict[str, type[InterProcessLock]]] = {
    FlockLock.name: FlockLock,
    FileLockLock.name: FileLockLock,
    PortalockerLock.name: PortalockerLock,
}
DEFAULT_BACKEND: Final[LockBackend] = "flock"


def check_backend(backend: object) -> LockBackend:
    """Validate ``lock``: one of the backends' names."""
    for name in BACKENDS:
        if backend == name and isinstance(backend, str):
            return name  # type: ignore[return-value]  # the keys are LockBackend's values
    raise ValueError(f"lock must be one of {', '.join(map(repr, BACKENDS))}, not {backend!r}")


def make_lock(
    backend: str,
    path: str,
    timeout: float,
    mode: int = 0o660,
    permissions: Permissions | None = None,
    system: System = REAL,
) -> InterProcessLock:
    """The lock *backend* on *path*, created with *permissions* (else *mode* and the umask)."""
    cls = BACKENDS[check_backend(backend)]
    try:
        return cls(path, timeout, permissions or Permissions(), mode, system)
    except ImportError as exc:
        raise ImportError(
            f"lock={backend!r} needs the {exc.name} package: pip install 'lockrotate[{backend}]'"
        ) from exc
