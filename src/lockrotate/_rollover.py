"""The rollover protocol, in one place.

Between rollovers nobody takes a lock: every process appends whole records to its own
``O_APPEND`` descriptor of the base file. A process whose policy says "roll over" then:

1. takes the inter-process lock (bounded by a timeout: on timeout it goes on writing to the
   file it has and tries again later);
2. re-checks the base path: if it no longer names the file this process writes to, another
   process (or logrotate, or a person) has already moved it, so this process adopts the new
   file, opening it in append mode, and decides again on that file;
3. otherwise asks the policy, now with the lock held, whether the file is really due; if so
   the policy renames it away, this process opens the new base file in append mode, and the
   policy applies retention;
4. lets go of the lock.

Threads of one process share one lock descriptor, which ``flock`` does not tell apart: a
mutex in the coordinator makes them take turns.

So each rollover is performed exactly once, every other process adopts its result, and no
file is ever opened in a mode that could truncate it.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Protocol

from ._locks import InterProcessLock, LockTimeout, open_nofollow
from ._permissions import Permissions
from ._stats import HandlerStats
from ._writer import AppendFile, Identity


class Policy(Protocol):
    """What a handler tells the protocol about when and how its file rolls over."""

    def _opened(self, file: AppendFile) -> None:
        """*file* is now this process's file: learn what its state is."""

    def _due_locked(self, file: AppendFile, nbytes: int) -> bool:
        """With the lock held: must *file* roll over before *nbytes* more are written?"""

    def _rotate_locked(self, file: AppendFile) -> None:
        """With the lock held: move the base file away."""

    def _started(self, file: AppendFile) -> None:
        """With the lock held: *file* is the new, empty base file this process created."""

    def _tidy_locked(self, rotated: Identity) -> None:
        """With the lock held, after rotating the file *rotated*: retention, compression,
        and what a crash left behind."""


class Coordinator:
    """Runs the protocol for one handler in one process, and owns that process's file."""

    def __init__(
        self,
        base_path: str,
        lock: InterProcessLock,
        stats: HandlerStats,
        permissions: Permissions,
    ) -> None:
        self.base_path = base_path
        self.lock = lock
        self.stats = stats
        self.permissions = permissions
        self.file: AppendFile | None = None
        self.mutex = threading.Lock()

    def ensure_open(self, policy: Policy) -> AppendFile:
        if self.file is None:
            self.file = AppendFile(self.base_path, self.permissions)
            policy._opened(self.file)
        return self.file

    def follow(self, policy: Policy) -> AppendFile:
        """Without the lock: if the base path no longer names our file, switch to what is there.

        This is how a process notices a rename or removal it was not part of (logrotate's
        ``create`` mode, a person with ``mv`` or ``rm``); a missing base file is created.
        """
        file = self.ensure_open(policy)
        if not file.is_current():
            self._adopt(policy)
        return self.ensure_open(policy)

    def held(self) -> Held:
        """Hold the inter-process lock; raises :class:`LockTimeout` when it cannot be had."""
        return Held(self)

    def settle(self, nbytes: int, policy: Policy, force: bool = False) -> AppendFile:
        """With the lock held: return the file to write to, rotating it first if it is due.

        ``force`` rotates the current file even if the policy would not, unless another
        process has just rotated it (then its new file is adopted, not rotated again).
        """
        file = self.ensure_open(policy)
        if not file.is_current():
            file = self._adopt(policy)
            force = False
        if not (force or policy._due_locked(file, nbytes)):
            return file
        policy._rotate_locked(file)
        fresh = AppendFile(self.base_path, self.permissions)
        file.close()
        self.file = fresh
        self.stats.rollovers += 1
        policy._started(fresh)
        policy._tidy_locked(file.identity)
        return fresh

    def roll(self, nbytes: int, policy: Policy, force: bool = False) -> AppendFile:
        with self.held():
            return self.settle(nbytes, policy, force)

    def close(self) -> None:
        if self.file is not None:
            file, self.file = self.file, None
            file.close()
        self.lock.close()

    def _adopt(self, policy: Policy) -> AppendFile:
        fresh = AppendFile(self.base_path, self.permissions)
        if self.file is not None:
            self.file.close()
            self.stats.adopted += 1
        self.file = fresh
        policy._opened(fresh)
        return fresh


class Held:
    """The lock held for a ``with`` block, timed for the stats (a class: strict mode enters
    one per record, and a generator-based context manager costs several times more).

    Threads of one process share the lock's descriptor, and ``flock`` does not exclude
    them from each other: the coordinator's mutex does.
    """

    __slots__ = ("coordinator", "rollovers", "start", "waited")

    def __init__(self, coordinator: Coordinator) -> None:
        self.coordinator = coordinator

    def __enter__(self) -> None:
        coordinator = self.coordinator
        lock, stats = coordinator.lock, coordinator.stats
        if not coordinator.mutex.acquire(timeout=lock.timeout):
            stats.lock_timeouts += 1
            raise LockTimeout(lock.path, lock.timeout)
        try:
            self.waited = lock.acquire()
        except BaseException:
            coordinator.mutex.release()
            if isinstance(sys.exc_info()[1], TimeoutError):
                stats.lock_timeouts += 1
            raise
        self.rollovers = stats.rollovers
        self.start = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        coordinator = self.coordinator
        try:
            coordinator.lock.release()
        finally:
            coordinator.mutex.release()
        stats = coordinator.stats
        held = time.monotonic() - self.start
        stats.record_lock(self.waited, held, stats.rollovers != self.rollovers)


_READ = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class PeriodLedger:
    """Which file holds which time period, kept beside the lock file.

    File timestamps come from a coarse kernel clock that can read a few milliseconds behind
    ``time.time()``, so a file created just after a boundary may carry an mtime from before
    it. The process that creates a new base file therefore writes its (device, inode) and
    period here, under the lock; the others trust this over the mtime.
    """

    _WIDTH = 64

    def __init__(self, path: str, permissions: Permissions, mode: int) -> None:
        self.path = path
        self.permissions = permissions
        self.mode = mode

    def read(self) -> tuple[Identity, int] | None:
        """The last entry; None if there is none yet or it cannot be read (then the file's
        mtime decides)."""
        try:
            fd = os.open(self.path, _READ)
        except OSError:
            return None
        try:
            raw = os.pread(fd, self._WIDTH, 0)
        finally:
            os.close(fd)
        try:
            dev, ino, period = (int(part) for part in raw.split())
        except ValueError:
            return None
        return (dev, ino), period

    def write(self, identity: Identity, period: int) -> None:
        line = f"{identity[0]} {identity[1]} {period}".ljust(self._WIDTH - 1) + "\n"
        fd = open_nofollow(self.path, self.permissions, self.mode)
        try:
            os.pwrite(fd, line.encode("ascii"), 0)
        finally:
            os.close(fd)

    def period_of(self, file: AppendFile) -> int | None:
        entry = self.read()
        if entry is not None and entry[0] == file.identity:
            return entry[1]
        return None
