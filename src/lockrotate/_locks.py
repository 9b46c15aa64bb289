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
import threading
import time
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Final, Literal

from ._files import NotRegularFile, check_companion, open_companion
from ._permissions import Permissions

LockBackend = Literal["flock", "filelock", "portalocker"]

_FIRST_PAUSE: Final = 20e-6
_LONGEST_PAUSE: Final = 250e-6
LONGEST_TIMEOUT: Final = 3600.0
_NAME_CHECK_INTERVAL: Final = 1.0
_HANDOFF: Final = 0.002


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


_LIVE: weakref.WeakSet[InterProcessLock] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for lock in list(_LIVE):
        lock.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


class InterProcessLock(ABC):
    """An exclusive lock on a file, shared by every process that names the same path.

    ``acquire`` tries once; if the lock is taken it waits until the holder lets go or the
    deadline passes (:class:`LockTimeout`). How it waits is the backend's: woken by the
    kernel where it can block, else polling with a back-off from 20 µs to 250 µs.
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
        self._named_until = 0.0
        _LIVE.add(self)

    def acquire(self, deadline: float | None = None) -> float:
        """Take the lock by *deadline* (``time.monotonic()``; None: ``timeout`` from now, and
        a deadline already past tries once); return the seconds spent waiting."""
        start = time.monotonic()
        if deadline is None:
            deadline = start + self.timeout
        while True:
            if not self._opened:
                self._open_checked()
            waited = not self._try_lock()
            if waited and not self._wait(deadline):
                raise LockTimeout(self.path, self.timeout)
            if self.still_named():
                return time.monotonic() - start if waited else 0.0
            # The lock file was removed or replaced (its folder deleted and made again):
            # a lock on the old inode excludes nobody who opens the new one.
            self._unlock()
            self.close()

    def still_named(self, recheck: bool = False) -> bool:
        """Whether the locked file is still the one at ``path``: checked at most once a
        second (strict mode takes the lock for every record) unless *recheck*, and always
        when it failed."""
        now = time.monotonic()
        if now < self._named_until and not recheck:
            return True
        if not self._still_named():
            self._named_until = 0.0
            return False
        self._named_until = now + _NAME_CHECK_INTERVAL
        return True

    def release(self) -> None:
        """Let go; after a fork inside a hold, the child has nothing of the parent's to drop."""
        if self._opened:
            self._unlock()

    def close(self) -> None:
        if self._opened:
            self._opened = False
            self._close()

    def after_fork(self) -> None:
        """In a child: drop the parent's copy without unlocking it."""
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
        while True:
            now = time.monotonic()
            if now >= deadline:
                return False
            time.sleep(min(pause, deadline - now))
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
    def _unlock(self) -> None: ...

    def _still_named(self) -> bool:
        """Whether the file we locked is still the one at ``path``."""
        return True

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def _abandon(self) -> None:
        """Close what was inherited through fork() without unlocking the parent's lock."""


class _Waiter:
    """A thread that blocks in the kernel for the lock, so that a waiter is woken the moment
    the holder lets go instead of at its next poll.

    The thread asks for the lock on the owner's descriptor; the owner waits for its answer
    with a timeout. An owner that gave up leaves the request behind: if the lock comes after
    all, the thread lets go of it at once, unless the owner asked again meanwhile. While a
    request is pending, the owner never tries the descriptor itself, so only one of them
    can ever believe it holds the lock. Closing hands the descriptor to a pending thread,
    which closes it when its request ends.
    """

    _IDLE, _ASKED, _ABANDONED, _GRANTED = range(4)

    def __init__(
        self, fd: int, block: Callable[[int], None], unlock: Callable[[int], None]
    ) -> None:
        self.fd = fd
        self._block = block
        self._unlock = unlock
        self._state = self._IDLE
        self._pending = False
        self._closing = False
        self._cond = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> bool:
        return self._pending

    def wait(self, deadline: float) -> bool:
        with self._cond:
            self._state = self._ASKED
            if not self._pending:
                self._pending = True
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="lockrotate-lock-waiter", daemon=True
                    )
                    self._thread.start()
                self._cond.notify_all()
            granted = self._cond.wait_for(
                lambda: self._state == self._GRANTED, max(0.0, deadline - time.monotonic())
            )
            self._state = self._IDLE if granted else self._ABANDONED
            return granted

    def close(self) -> bool:
        """Stop; True if the descriptor is still ours to close (no request pending)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            return not self._pending

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closing)
                if not self._pending:
                    return
            try:
                self._block(self.fd)
                failed = False
            except OSError:
                failed = True
            with self._cond:
                if not failed and self._state == self._ASKED and not self._closing:
                    self._state = self._GRANTED
                    self._pending = False
                    self._cond.notify_all()
                    continue
                if not failed:
                    # Nobody wants it any more. Let go while still pending: until then the
                    # owner does not try the descriptor itself, which would find this lock on
                    # it and believe it its own.
                    self._unlock(self.fd)
                self._pending = False
                if self._closing:
                    os.close(self.fd)
                    return


class _DescriptorLock(InterProcessLock):
    """Shared by the backends that lock a descriptor of their own, and can block on it."""

    def __init__(self, path: str, timeout: float, permissions: Permissions, mode: int) -> None:
        super().__init__(path, timeout, permissions, mode)
        self._fd = -1
        self._waiter: _Waiter | None = None

    def _open(self) -> None:
        self._fd = open_companion(self.path, self.permissions, self.mode)
        self.problem = check_companion(self._fd, self.mode)

    def _wait(self, deadline: float) -> bool:
        if self._waiter is None:
            self._waiter = _Waiter(self._fd, self._block, self._release_fd)
        # Even a try that may not wait gives the thread a moment: it may be getting the lock
        # that its holder just let go.
        return self._waiter.wait(max(deadline, time.monotonic() + _HANDOFF))

    def _try_lock(self) -> bool:
        if self._waiter is not None and self._waiter.pending:
            return False  # the waiter thread is asking for it: only it may take it now
        return self._try_fd()

    def _unlock(self) -> None:
        self._release_fd(self._fd)

    def _close(self) -> None:
        waiter, self._waiter = self._waiter, None
        fd, self._fd = self._fd, -1
        if fd >= 0 and (waiter is None or waiter.close()):
            os.close(fd)

    def _abandon(self) -> None:
        # Closing our copy of the parent's open file description does not drop its flock;
        # the parent's waiter thread does not exist here.
        self._waiter = None
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def _still_named(self) -> bool:
        try:
            named = os.lstat(self.path)
        except FileNotFoundError:
            return False
        held = os.fstat(self._fd)
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
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _block(self, fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)

    def _release_fd(self, fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class PortalockerLock(_DescriptorLock):
    """The portalocker package (``flock`` here, ``LockFileEx`` on Windows)."""

    name = "portalocker"

    def __init__(self, path: str, timeout: float, permissions: Permissions, mode: int) -> None:
        import portalocker

        super().__init__(path, timeout, permissions, mode)
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
