"""The one seam between lockrotate's protocol and the world: every system call it makes.

The core (protocol, policies, archive, locks, compressor) never imports ``os``, ``fcntl``,
``time`` or ``threading`` for anything that touches shared state: it asks a :class:`System`.
Production uses :data:`REAL`, whose methods are the calls themselves; the deterministic
simulator in ``tests/sim`` passes its own, with an in-memory filesystem, an ``flock`` model,
a virtual clock and a scheduler that may switch threads at every call. So the code a test
drives is exactly the code that runs in production.

Pure computation (path arithmetic with ``os.path``, ``stat`` mode predicates, calendar
arithmetic given a timestamp) stays where it is: it touches nothing shared.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from time import sleep as _sleep
from types import TracebackType
from typing import Protocol

try:
    import fcntl
except ImportError:  # not POSIX (Windows): every handler refuses at construction
    POSIX = False
    LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN = 1, 2, 4, 8  # (never passed to a call there)
else:
    POSIX = True
    from fcntl import LOCK_EX, LOCK_NB, LOCK_SH, LOCK_UN  # noqa: F401  # for the core

UNSUPPORTED = (
    "lockrotate runs only on POSIX systems (Linux, macOS, the BSDs): it needs flock() and "
    "appends that O_APPEND makes atomic, and Windows has neither (a file another process has "
    "open cannot be renamed, and an append is a seek then a write, so lines tear). On Windows, "
    "let one process write the log: a logging.handlers.QueueHandler in every process and a "
    "QueueListener with the stdlib's RotatingFileHandler in one (see docs/platforms.md)"
)


def require_posix() -> None:
    """Refuse, at a handler's construction, a system lockrotate cannot be correct on."""
    if not POSIX:
        raise NotImplementedError(UNSUPPORTED)


class Mutex(Protocol):
    """A thread lock (``threading.Lock``'s shape)."""

    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...
    def release(self) -> None: ...
    def __enter__(self) -> bool: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
        /,
    ) -> None: ...


class Condition(AbstractContextManager[bool], Protocol):
    """A condition variable (``threading.Condition``'s shape, the parts used)."""

    def wait(self, timeout: float | None = None) -> bool: ...
    def notify(self, n: int = 1) -> None: ...
    def notify_all(self) -> None: ...


class Thread(Protocol):
    """A started thread (``threading.Thread``'s shape, the parts used)."""

    def join(self, timeout: float | None = None) -> None: ...
    def is_alive(self) -> bool: ...


class System:
    """The real world: each method is the system call of the same name.

    A subclass (the simulator's) overrides every method; the core calls nothing else.
    """

    # Files -------------------------------------------------------------------------------
    def open(self, path: str, flags: int, mode: int = 0o666) -> int:
        return os.open(path, flags, mode)

    def close(self, fd: int) -> None:
        os.close(fd)

    # The fast path calls it for every record: the builtin itself, without a frame.
    write: Callable[[int, bytes], int] = staticmethod(os.write)

    def read(self, fd: int, n: int) -> bytes:
        return os.read(fd, n)

    def pread(self, fd: int, n: int, offset: int) -> bytes:
        return os.pread(fd, n, offset)

    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        return os.pwrite(fd, data, offset)

    # The fast path calls these for every record: the builtins themselves, without a frame.
    lseek: Callable[[int, int, int], int] = staticmethod(os.lseek)

    # Strict mode checks the base path (stat) and the process (getpid) for every record.
    fstat: Callable[[int], os.stat_result] = staticmethod(os.fstat)
    stat: Callable[[str], os.stat_result] = staticmethod(os.stat)
    lstat: Callable[[str], os.stat_result] = staticmethod(os.lstat)

    def fchmod(self, fd: int, mode: int) -> None:
        os.fchmod(fd, mode)

    def fchown(self, fd: int, uid: int, gid: int) -> None:
        os.fchown(fd, uid, gid)

    def set_blocking(self, fd: int, blocking: bool) -> None:
        os.set_blocking(fd, blocking)

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def futimes(self, fd: int, ns: tuple[int, int]) -> None:
        """Set the access and modification times (nanoseconds) of the open file *fd*."""
        os.utime(fd, ns=ns)

    # Names -------------------------------------------------------------------------------
    def rename(self, src: str, dst: str) -> None:
        os.rename(src, dst)

    def link(self, src: str, dst: str) -> None:
        os.link(src, dst)

    def unlink(self, path: str) -> None:
        os.unlink(path)

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def scandir(self, path: str) -> Iterator[os.DirEntry[str]]:
        return os.scandir(path)

    # Locks -------------------------------------------------------------------------------
    def flock(self, fd: int, operation: int) -> None:
        fcntl.flock(fd, operation)

    # Clocks ------------------------------------------------------------------------------
    # The fast path calls these for every record: the builtins themselves, without a frame.
    monotonic: Callable[[], float] = staticmethod(time.monotonic)
    time: Callable[[], float] = staticmethod(time.time)  # (shadows the module from here)

    def sleep(self, seconds: float) -> None:
        _sleep(seconds)

    # Processes and threads ---------------------------------------------------------------
    getpid: Callable[[], int] = staticmethod(os.getpid)

    def geteuid(self) -> int:
        return os.geteuid()

    thread_id: Callable[[], int] = staticmethod(threading.get_ident)

    def mutex(self) -> Mutex:
        return threading.Lock()

    def condition(self) -> Condition:
        return threading.Condition()

    def start_thread(self, target: Callable[[], None], name: str) -> Thread:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        return thread


REAL = System()
"""The system every handler uses unless a test passes another."""
