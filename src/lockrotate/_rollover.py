"""The rollover protocol, in one place.

Between rollovers nobody takes a lock: every process appends whole records to its own
``O_APPEND`` descriptor of the base file. A process whose policy says "roll over" then:

1. takes the inter-process lock, bounded by one deadline for the thread mutex and the file
   lock together (on timeout it goes on writing to the file it has; later tries wait a
   growing pause and do not block on the lock until it is free again);
2. re-checks the base path: if it no longer names the file this process writes to, another
   process (or logrotate, or a person) has already moved it, so this process adopts the new
   file, opening it in append mode, and decides again on that file;
3. otherwise asks the policy, now with the lock held, whether the file is really due; if so
   the policy renames it away (reading the archive's inventory for the names in use), this
   process opens the new base file in append mode, the policy records what it needs about
   it, and the archive applies retention, repair and compression;
4. lets go of the lock.

A base file nobody has dated yet (the first one of a timed log) is dated under the lock too,
once for every process. Threads of one process share one lock descriptor, which ``flock``
does not tell apart: a mutex in the coordinator makes them take turns. A file that is not
a regular file (a pipe behind ``/dev/stdout``, a FIFO, a tty) is written and never rotated.

So each rollover is performed exactly once, every other process adopts its result, and no
file is ever opened in a mode that could truncate it.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from typing import Protocol

from ._archive import Archive, Inventory, Scheme
from ._files import AppendFile
from ._locks import InterProcessLock, LockTimeout, LockUnusable
from ._outage import Backoff, Outages
from ._permissions import Permissions
from ._stats import HandlerStats


class Policy(Protocol):
    """What a handler tells the protocol about when and how its file rolls over."""

    max_bytes: int
    backup_count: int

    @property
    def rolls(self) -> bool:
        """Whether this policy ever rolls a file over."""

    @property
    def kept_by_count(self) -> int:
        """How many rotated files retention keeps by count (0: the scheme does it)."""

    def scheme(self) -> Scheme:
        """The naming scheme of the rotated files."""

    def due(self, file: AppendFile, nbytes: int) -> bool:
        """Without the lock, cheaply: must *file* roll over before *nbytes* more?"""

    def wants_lock_to_adopt(self, file: AppendFile) -> bool:
        """Must *file* be dated under the lock before it is written?"""

    def adopted(self, file: AppendFile, locked: bool) -> None:
        """*file* is now this process's file: learn (and, if *locked*, record) its state."""

    def due_locked(self, file: AppendFile, nbytes: int) -> bool:
        """With the lock held: must *file* really roll over?"""

    def rotate_locked(self, file: AppendFile, inventory: Inventory, discard: Discard) -> None:
        """With the lock held: move the base file away."""

    def created(self, file: AppendFile) -> None:
        """With the lock held: *file* is the new, empty base file this process created."""

    def after_fork(self) -> None:
        """In a child: forget what belonged to the parent process."""


class Discard(Protocol):
    def __call__(self, path: str) -> None: ...


class Coordinator:
    """Runs the protocol for one handler in one process, and owns that process's file."""

    def __init__(
        self,
        base_path: str,
        lock: InterProcessLock,
        policy: Policy,
        archive: Archive,
        permissions: Permissions,
        outages: Outages,
        warn: Callable[[str], None],
    ) -> None:
        self.base_path = base_path
        self.lock = lock
        self.policy = policy
        self.archive = archive
        self.permissions = permissions
        self.outages = outages
        self.warn = warn
        self._warned: str | None = None
        self.stats = HandlerStats()
        self.backoff = Backoff()
        self.file: AppendFile | None = None
        #: A line end in the handler's encoding, which repairs a torn write (AppendFile).
        self.line_end = b"\n"
        self.mutex = threading.Lock()
        self.holder: int | None = None
        archive.hold = self.held
        # Servers that fork in C (uWSGI) may skip Python's at-fork hooks: a changed pid at the
        # next hold is a fork too, and *on_fork* (the handler's reset) runs then.
        self.pid = os.getpid()
        self.on_fork: Callable[[], None] = self.after_fork

    def check_fork(self) -> None:
        """Reset what belonged to the parent if this process was forked without Python's
        at-fork hooks (then the holder, mutex and lock of the parent are still here)."""
        if self.pid != os.getpid():
            self.on_fork()

    def ensure_open(self) -> AppendFile:
        """The file; its first open waits up to ``lock_timeout`` for a FIFO's reader."""
        return self.file if self.file is not None else self._open(False, self.lock.timeout)

    def follow(self) -> AppendFile:
        """Without the lock: if the base path no longer names our file, switch to what is there.

        This is how a process notices a rename or removal it was not part of (logrotate's
        ``create`` mode, a person with ``mv`` or ``rm``); a missing base file is created.
        """
        file = self.ensure_open()
        if file.regular and not file.is_current():
            return self._open(locked=False)
        return file

    def busy_elsewhere(self) -> bool:
        """Whether another thread of this process holds the lock right now."""
        holder = self.holder
        return holder is not None and holder != threading.get_ident()

    def reentered(self) -> bool:
        """Whether this thread already holds the lock (a namer or rotator that logs)."""
        return self.holder == threading.get_ident()

    def held(self) -> Held:
        """Hold the inter-process lock; raises :class:`LockTimeout` when it cannot be had
        (or :class:`LockUnusable`)."""
        return Held(self)

    def rotate_if_due_locked(self, nbytes: int, force: bool = False) -> AppendFile:
        """With the lock held: return the file to write to, rotating it first if it is due.

        ``force`` rotates the current file even if the policy would not, unless another
        process has just rotated it (then its new file is adopted, not rotated again).
        """
        file = self.file if self.file is not None else self._open(locked=True)
        if file.regular and not file.is_current():
            file = self._open(locked=True)
            force = False
        if not file.regular or not (force or self.policy.due_locked(file, nbytes)):
            return file
        if not self.lock.still_named(recheck=True):
            # The lock file was replaced since it was last checked: our hold excludes nobody.
            raise LockUnusable(errno.ESTALE, "the lock file was replaced", self.lock.path)
        archive = self.archive
        self.policy.rotate_locked(file, archive.scan(), archive.trash.discard)
        fresh = AppendFile(self.base_path, self.permissions, self.line_end)
        file.close()
        self.file = fresh
        self.stats.rollovers += 1
        self.policy.created(fresh)
        try:
            archive.tidy_locked(file.identity)
        except Exception:
            self.outages.failed("tidy")
        else:
            self.outages.ok("tidy")
        return fresh

    def roll(self, nbytes: int, force: bool = False) -> AppendFile:
        try:
            with self.held():
                return self.rotate_if_due_locked(nbytes, force)
        finally:
            self.archive.trash.empty()

    def close(self) -> None:
        if self.file is not None:
            file, self.file = self.file, None
            file.close()
        self.lock.close()

    def after_fork(self) -> None:
        """In a child: fresh counters, mutex and back-off, and none of the parent's hold."""
        self.pid = os.getpid()
        self.stats = HandlerStats()
        self.backoff = Backoff()
        self.mutex = threading.Lock()
        self.holder = None
        self.lock.after_fork()
        self.policy.after_fork()
        self.archive.after_fork()

    def _open(self, locked: bool, reader_wait: float = 0.0) -> AppendFile:
        fresh = AppendFile(self.base_path, self.permissions, self.line_end, reader_wait)
        if self.file is not None:
            self.file.close()
            self.stats.adopted += 1
        self.file = fresh
        if fresh.regular:
            self._date(fresh, locked)
        return fresh

    def _date(self, file: AppendFile, locked: bool) -> None:
        """Learn the new file's state; date it under the lock if nobody has yet."""
        policy = self.policy
        locked = locked or self.reentered()  # strict mode opens the file with the lock held
        if locked or not self.backoff.ready() or not policy.wants_lock_to_adopt(file):
            policy.adopted(file, locked)
            return
        try:
            with self.held():
                policy.adopted(file, True)
        except (LockTimeout, LockUnusable):
            self.backoff.failed(lock=True)
            self.outages.failed("lock")
            policy.adopted(file, False)
        else:
            self.backoff.succeeded()


class Held:
    """The lock held for a ``with`` block, timed for the stats (a class: strict mode enters
    one per record, and a generator-based context manager costs several times more).

    Threads of one process share the lock's descriptor, and ``flock`` does not exclude
    them from each other: the coordinator's mutex does. One deadline bounds both waits.
    """

    __slots__ = ("coordinator", "rollovers", "start", "waited")

    def __init__(self, coordinator: Coordinator) -> None:
        self.coordinator = coordinator

    def __enter__(self) -> None:
        coordinator = self.coordinator
        coordinator.check_fork()
        lock, stats = coordinator.lock, coordinator.stats
        deadline = coordinator.backoff.deadline(lock.timeout)
        if not coordinator.mutex.acquire(timeout=max(0.0, deadline - time.monotonic())):
            stats.timed_out()
            raise LockTimeout(lock.path, lock.timeout)
        try:
            self.waited = lock.acquire(deadline)
        except BaseException as exc:
            coordinator.mutex.release()
            if isinstance(exc, LockTimeout):
                stats.timed_out()
            raise
        if lock.problem is not None and coordinator._warned != lock.problem:
            coordinator._warned = lock.problem
            coordinator.warn(
                f"lockrotate: the lock file {lock.path} {lock.problem}: any process that can "
                "read it can hold the log's lock; keep shared logs in a folder that only "
                "trusted users can write"
            )
        coordinator.holder = threading.get_ident()
        self.rollovers = stats.rollovers
        self.start = time.monotonic()

    def __exit__(self, *exc: object) -> None:
        coordinator = self.coordinator
        coordinator.holder = None
        stats = coordinator.stats
        held = time.monotonic() - self.start
        stats.record_lock(self.waited, held, stats.rollovers != self.rollovers)
        try:
            coordinator.lock.release()
        finally:
            coordinator.mutex.release()
