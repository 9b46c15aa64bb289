"""The rollover protocol, in one place: every decision a record meets, from the handler's
bytes to the disk.

Between rollovers nobody takes a lock: every process appends whole records to its own
``O_APPEND`` descriptor of the base file (:meth:`Core.write`, the fast path). A process
whose trigger says "roll over" then:

1. takes the inter-process lock, bounded by one deadline for the thread mutex and the file
   lock together (on timeout it goes on writing to the file the base path names, checked
   for every record until the next try; later tries wait a growing pause, which ends at the
   next time boundary at the latest, and do not block on the lock until it is free again);
2. re-checks the base path: if it no longer names the file this process writes to, another
   process (or logrotate, or a person) has already moved it, so this process adopts the new
   file, opening it in append mode, and decides again on that file;
3. otherwise asks the trigger, now with the lock held, whether the file is really due; if so
   the roller renames it away (reading the archive's inventory for the names in use), this
   process opens the new base file in append mode, the dating part records its period, and
   the archive tidies (repair, retention) and hands plain files to the compressor;
4. lets go of the lock.

Besides, at least every ``check_interval`` seconds a process looks whether the base path
still names its file (:meth:`Core.follow`): that is how it notices a rollover it was not
part of. In strict mode (``lock_every_write``) every record takes the lock, and its write
is preceded by that check, so no record reaches a file after its rename.

A base file nobody has dated yet (the first one of a timed log) is dated under the lock
too, once for every process. Threads of one process share one lock descriptor, which
``flock`` does not tell apart: a mutex in the core makes them take turns. A file that is
not a regular file (a pipe behind ``/dev/stdout``, a FIFO, a tty) is written and never
rotated.

So each rollover is performed exactly once, every other process adopts its result, and no
file is ever opened in a mode that could truncate it.

Glossary:

- *date*: decide which time period a base file belongs to (the time policy's dating part),
  recorded under the lock in the period ledger so that every process agrees.
- *book*: the rotation book in the period ledger: each rotation of a dated log, numbered
  under the lock before its rename; retention removes dated files in its order.
- *adopt*: start writing to the file the base path names now, one that another process (or
  a person) put there.
- *tidy*: after a rollover, with the lock held: repair, retention, compression hand-off.
- *slot*: a rotated file's place in its naming scheme (a backup index; a label and counter).
- *scratch*: a hidden name in the log's folder for a file on its way in or out.
- *trash*: files moved to scratch names under the lock, unlinked after it is released.
- *companion*: the lock and period files that live beside (or apart from) the log.
- *outage*: a run of failures of one or more kinds, reported once (:mod:`._outage`).
- *stuck*: the lock could not be had in time; until it is free again, no try waits for it.

One rollover, from ``emit`` to the rename, is seven frames deep: ``emit``,
:meth:`Core.write`, ``_slow``, ``_roll_reporting`` (which takes the lock), then with it held
:meth:`Core.rotate_if_due_locked`, the roller's ``rotate_locked`` and the handler's
``rotate`` (the stdlib's hook), which calls the system's ``rename``
(``benchmarks/rollover_frames.py`` prints them).
"""

from __future__ import annotations

import errno
import logging
import math
from collections.abc import Callable
from typing import Protocol

from ._archive import Archive, Book, Inventory, Scheme
from ._compress import Compressor
from ._errors import LockTimeout, LockUnusable
from ._files import AppendFile, companion_warning
from ._fork import watch
from ._locks import InterProcessLock
from ._naming import Namer
from ._outage import Backoff, Outages
from ._permissions import Permissions
from ._policy import Terms
from ._stats import HandlerStats
from ._system import System


class Trigger(Protocol):
    """When a file rolls over."""

    def terms(self) -> Terms:
        """When the file is due, as data (:meth:`due` tests them; so does the fast path)."""

    def due(self, file: AppendFile, nbytes: int, record: object = None) -> bool:
        """Without the lock, cheaply: must *file* roll over before *nbytes* more (of
        *record*)? The slow path asks it; the fast path tests :meth:`terms` itself."""

    def due_locked(self, file: AppendFile, nbytes: int) -> bool:
        """With the lock held: must *file* really roll over?"""

    def period_over(self) -> Callable[[], bool] | None:
        """A test of whether the time period now current has ended (None: no periods): a
        failed rollover is tried again by then at the latest."""

    def hook_due(self, file: AppendFile, nbytes: int) -> bool:
        """The stdlib's ``shouldRollover`` answer (by size whatever ``backupCount``)."""


class Discard(Protocol):
    def __call__(self, path: str) -> None: ...


class Roller(Protocol):
    """How a file rolls over, and which rotated files are the log's."""

    @property
    def kept_by_count(self) -> int:
        """How many rotated files retention keeps by count (0: the scheme does it)."""

    def scheme(self) -> Scheme:
        """The naming scheme of the rotated files."""

    def book(self) -> Book | None:
        """Which rotation made which rotated file (None: the names are their own order)."""

    def rotate_locked(self, file: AppendFile, inventory: Inventory, discard: Discard) -> None:
        """With the lock held: move the base file away."""


class Dating(Protocol):
    """Which period a base file belongs to (only a time policy has one)."""

    def wants_lock_to_adopt(self, file: AppendFile) -> bool:
        """Must *file* be dated under the lock before it is written?"""

    def adopted(self, file: AppendFile, locked: bool) -> None:
        """*file* is now this process's file: learn (and, if *locked*, record) its period."""

    def created(self, file: AppendFile) -> None:
        """With the lock held: *file* is the new, empty base file this process created."""

    def after_fork(self) -> None:
        """In a child: forget what belonged to the parent process."""


class Hooks(Protocol):
    """The handler's stdlib hooks and its error reporting, as the core uses them."""

    @property
    def namer(self) -> Namer | None: ...

    @property
    def rotator(self) -> Callable[[str, str], None] | None: ...

    def rotation_filename(self, default_name: str) -> str: ...

    def rotate(self, source: str, dest: str) -> None: ...

    def report(self, message: str) -> None:
        """A problem found outside a record's write (a warning, the compressor thread)."""


ShouldRollover = Callable[[logging.LogRecord], bool]

DoRollover = Callable[[], None]
_SEEK_END = 2  # os.SEEK_END, the same on every POSIX system
_ADOPTIONS = 3  # tries to adopt a timed log's base file that others keep rotating meanwhile
_ANY = Terms(None, -math.inf, math.inf, None)


class Core:
    """Runs the protocol for one handler in one process, and owns that process's file."""

    def __init__(
        self,
        base_path: str,
        system: System,
        lock: InterProcessLock,
        trigger: Trigger,
        roller: Roller,
        dating: Dating | None,
        archive: Archive,
        compressor: Callable[[Core], Compressor] | None,
        permissions: Permissions,
        outages: Outages,
        hooks: Hooks,
        strict: bool = False,
        check_interval: float = 1.0,
    ) -> None:
        self.base_path = base_path
        self.system = system
        self.lock = lock
        self.trigger = trigger
        self.roller = roller
        self.dating = dating
        self.archive = archive
        self.permissions = permissions
        self.outages = outages
        self.hooks = hooks
        self.strict = strict
        self.check_interval = check_interval
        #: A line end in the handler's encoding, which repairs a torn write (AppendFile).
        self.line_end = b"\n"
        self.file: AppendFile | None = None
        self._hold = (0.0, 0, 0.0)
        self.should: ShouldRollover | None = None
        self.do: DoRollover | None = None
        # The fast path's terms (``arm``): the handler's own shouldRollover to ask, or the
        # size the file may reach without asking the trigger (None: any).
        self.ask: ShouldRollover | None = None
        self.clock, self.since, self.until, self.limit = _ANY
        self.closed = False
        self._warned: str | None = None
        # The fast path's calls, as instance attributes: the builtins, looked up fastest.
        self._monotonic, self._lseek = system.monotonic, system.lseek
        self.pid = system.getpid()
        self._reset()
        # Built last, from the finished core, which is its host.
        self.compressor = None if compressor is None else compressor(self)
        watch(self)

    def _reset(self) -> None:
        """Per-process state, fresh (at construction, and in a child)."""
        self.stats = HandlerStats()
        self.backoff = Backoff(self._monotonic)
        self.mutex = self.system.mutex()
        self.holder: int | None = None
        # When the base path is next checked; while a failed rollover waits for its next try
        # (``deferred``) the trigger is not asked at all.
        self.next_check = 0.0
        self.deferred = False
        # Until when (``monotonic``) records may take the fast path; 0: the next one does not.
        self.fast_until = 0.0
        # The record on the slow path: its thread, and the deadline of its first wait for the
        # lock (inf: none yet).
        self._bound: tuple[int, float] | None = None

    # The write path ------------------------------------------------------------------------

    def write(self, data: bytes, record: logging.LogRecord) -> None:
        """Write one record (*data*) as one ``write()``, rolling over first when it is due.

        ``should`` and ``do`` are the handler's ``shouldRollover``/``doRollover`` when a
        subclass (or the instance) overrides them; each is asked at most once per record.
        """
        due: bool | None = None
        # The fast path: one write, nothing else. ``fast_until`` (see ``arm``) says that a
        # regular file or a pipe is open, not in strict mode, not torn, and that the base path
        # was checked within ``check_interval``. Then a handler's own ``shouldRollover``
        # (``ask``) is asked, or the trigger's terms (its ``due`` as data) are tested here,
        # which saves a frame per record.
        if self._monotonic() < self.fast_until:
            file = self.file
            n = len(data)
            try:
                fd = file.fd  # type: ignore[union-attr]
                ask = self.ask
                if ask is not None:
                    due = ask(record)
                else:
                    clock, limit = self.clock, self.limit
                    due = clock is not None and not self.since <= clock() < self.until
                    if not due and limit is not None:
                        size = self._lseek(fd, 0, _SEEK_END)
                        due = size > 0 and size + n > limit
                if not due:
                    written = self.system.write(fd, data)
            except OSError as exc:
                # The file another thread just closed as it rolled over (or a child's copy
                # of it, forked meanwhile): the slow path writes to the current one.
                if exc.errno != errno.EBADF:
                    raise
            else:
                if not due:
                    if written != n:
                        self._finish(file, data, written)  # type: ignore[arg-type]
                    stats = self.stats
                    stats.records += 1
                    stats.bytes += n
                    return
        self.outages.record = record
        try:
            self._slow(data, due, record)
        finally:
            self.outages.record = None
            if not self.strict:  # (strict mode never takes the fast path)
                self.arm()

    def take_hooks(self, should: ShouldRollover | None, do: DoRollover | None) -> None:
        """The handler's own ``shouldRollover``/``doRollover`` (None: the core decides)."""
        self.should, self.do = should, do
        self.arm()

    def arm(self) -> None:
        """Decide whether the next records may take the fast path, and on what terms (again
        whenever they may have changed: after the slow path, a new hook, a new ``maxBytes``).
        The fast path is closed while the terms change: a setter may run in another thread."""
        self.fast_until = 0.0
        file = self.file
        ask: ShouldRollover | None = None
        terms = _ANY
        if (
            file is None
            or self.strict
            or self.closed
            or file.torn
            or "write" in self.outages.failing
        ):
            until = 0.0  # every record takes the slow path
        elif not file.regular:
            until = math.inf
        elif self.deferred:
            # A failed rollover waiting for its next try: the trigger is not asked.
            until = self.next_check
        elif self.should is not None:
            until, ask = self.next_check, self.should
        else:
            until, terms = self.next_check, self.trigger.terms()
        self.ask = ask
        self.clock, self.since, self.until, self.limit = terms
        self.fast_until = until

    def _finish(self, file: AppendFile, data: bytes, written: int) -> None:
        """A short write: finish it (a failure leaves the file torn, for the slow path)."""
        try:
            file.finish(data, written)
        finally:
            self.arm()

    def write_failed(self, record: logging.LogRecord) -> None:
        """Called from an ``except`` block: *record*'s write failed (reported once per
        outage; the next record tries again, on the slow path, which ends the outage)."""
        self.outages.record = record
        try:
            self.outages.failed("write")
        finally:
            self.outages.record = None
            self.fast_until = 0.0

    def _append(self, file: AppendFile, data: bytes) -> None:
        file.write(data)
        stats = self.stats
        stats.records += 1
        stats.bytes += len(data)
        if self.outages.failing:
            self.outages.ok("write")

    def _slow(self, data: bytes, due: bool | None, record: logging.LogRecord) -> None:
        """Everything but the fast path: open, follow an outside move, roll over. Every wait
        for the lock in it (dating a file it adopts, then rolling over) ends by the deadline
        of the first, so that a record waits one ``lock_timeout`` in all."""
        outer, self._bound = self._bound, (self.system.thread_id(), math.inf)
        try:
            should, do = self.should, self.do
            self.check_fork()
            if self.closed:
                self._write_once(data)
                return
            if self.strict and not self._strict(data, record, should, do):
                return
            file = self._attempt("open", self.ensure_open)
            if file is None:
                return
            if file.regular and self.holder != self.system.thread_id():
                # (This thread holds the lock: a namer, rotator or handleError that logs during
                # our own rollover writes where we are.)
                now = self._monotonic()
                if now >= self.next_check:
                    self.next_check = now + self.check_interval
                    followed = self._attempt("follow", self.follow)
                    if followed is None:
                        # Our file may be rotated away, and then out of the log, by the others
                        # before the next check: the next record looks again.
                        self.next_check = now
                    file = followed or file
                self.deferred = not self.backoff.ready()
                if not self.deferred:
                    if due is None:
                        due = self._due(file, len(data), record, should)
                    if due and not self._roll_reporting(len(data), should is not None, do):
                        # Our try failed, perhaps after waiting for the lock while the others
                        # rotated our file away: this record looks again too.
                        self.deferred = True
                        file = self._attempt("follow", self.follow) or self.file or file
                    elif due:
                        file = self.file or file
                if self.deferred:
                    # After our own failed rollover the trigger is not asked, so nothing tells us
                    # that the others rotated our file: until the next try, every record checks
                    # the base path (one stat), or retention may remove the file it goes to.
                    self.next_check = now
            self._append(file, data)
        finally:
            self._bound = outer

    def _current_locked(self) -> AppendFile:
        """With the lock held: the file the base path names, adopted if it is not ours."""
        file = self.file
        if file is None or (file.regular and not file.is_current()):
            file = self._open(locked=True)
        return file

    def _due(
        self,
        file: AppendFile,
        nbytes: int,
        record: logging.LogRecord,
        should: ShouldRollover | None,
    ) -> bool:
        return should(record) if should is not None else self.trigger.due(file, nbytes, record)

    def _strict(
        self,
        data: bytes,
        record: logging.LogRecord,
        should: ShouldRollover | None,
        do: DoRollover | None,
    ) -> bool:
        """Strict mode: the record is written with the lock held, after checking that the base
        path still names our file. False when it was written; True when the lock cannot be
        had (stuck, or re-entered from our own rollover): then the unlocked path writes it."""
        backoff = self.backoff
        if self.holder == self.system.thread_id() or (backoff.lock_stuck and not backoff.ready()):
            return True
        try:
            with self.held():
                if backoff.lock_stuck:
                    backoff.succeeded()
                # A base path that cannot be checked (EIO) is reported; the record goes on.
                file = self._attempt("follow", self._current_locked) or self.file
                if file is None:
                    return True  # nothing open: the unlocked path opens (or reports)
                n = len(data)
                if file.regular and backoff.ready() and self._due(file, n, record, should):
                    self._roll_reporting(n, should is not None, do, locked=True)
                    file = self.file or file
                self._append(file, data)
        except (LockTimeout, LockUnusable):
            self._lock_failed()
            return True
        finally:
            self.archive.trash.empty()
        if self.outages.failing:
            self.outages.ok("lock")
        return False

    def _roll_reporting(
        self, nbytes: int, force: bool, do: DoRollover | None, locked: bool = False
    ) -> bool:
        """Roll over (through the handler's ``doRollover`` if it has its own); a failure is
        reported once per outage and tried again after a pause. False: it failed."""
        try:
            if do is not None:
                do()
            elif locked:
                self.rotate_if_due_locked(nbytes, force)
            else:
                survey = self.archive.survey()  # the rotated files are found before the lock
                try:
                    with self.held():
                        self.rotate_if_due_locked(nbytes, force, survey=survey)
                finally:
                    self.archive.trash.empty()
        except (LockTimeout, LockUnusable):
            self._lock_failed()
            return False
        except Exception:
            self.backoff.failed(period_over=self.trigger.period_over())
            self.outages.failed("roll")
            return False
        self.backoff.succeeded()
        self.outages.ok("lock")
        self.outages.ok("roll")
        return True

    def _lock_failed(self) -> None:
        """From an ``except`` block: the lock could not be had (reported once per outage);
        until it is free again, no try waits for it."""
        self.backoff.failed(lock=True, period_over=self.trigger.period_over())
        self.outages.failed("lock")

    def _write_once(self, data: bytes) -> None:
        """After ``close()``: append the record through a descriptor of its own, as the stdlib
        reopens its file; nothing is kept open, nothing rolls over, no lock is taken."""
        file = AppendFile(self.base_path, self.permissions, self.system, self.line_end)
        try:
            file.write(data)
        finally:
            file.close()

    def _attempt(self, kind: str, action: Callable[[], AppendFile]) -> AppendFile | None:
        """Run *action*; a failure is reported once per outage and None returned."""
        try:
            result = action()
        except Exception:
            self.outages.failed(kind)  # type: ignore[arg-type]  # a Kind
            return None
        self.outages.ok(kind)  # type: ignore[arg-type]
        return result

    # The rollover --------------------------------------------------------------------------

    def ensure_open(self) -> AppendFile:
        """The file; its first open waits up to ``lock_timeout`` for a FIFO's reader."""
        file = self.file
        if file is not None and file.fd >= 0:
            return file
        # (Closed: a child forked while another thread rolled over copied it so.)
        return self._open(False, self.lock.timeout)

    def follow(self) -> AppendFile:
        """Without the lock: if the base path no longer names our file, switch to what is there.

        This is how a process notices a rename or removal it was not part of (logrotate's
        ``create`` mode, a person with ``mv`` or ``rm``); a missing base file is created.
        """
        file = self.ensure_open()
        if file.regular and not file.is_current():
            return self._open(locked=False)
        return file

    def due_now(self, nbytes: int) -> bool:
        """The stdlib's ``shouldRollover``: would *nbytes* more roll the file over now?"""
        file = self.ensure_open()
        return file.regular and self.trigger.hook_due(file, nbytes)

    def roll_now(self) -> None:
        """The stdlib's ``doRollover``: roll over, unless another process just did."""
        if self.reentered():
            self.rotate_if_due_locked(0, force=True)
        else:
            self.roll(0, force=True)

    def roll(self, nbytes: int, force: bool = False) -> AppendFile:
        """Take the lock and roll over if the file is due (or *force*); raises
        :class:`LockTimeout` (or :class:`LockUnusable`) when the lock cannot be had."""
        survey = self.archive.survey()  # the rotated files are found before the lock
        try:
            with self.held():
                return self.rotate_if_due_locked(nbytes, force, survey=survey)
        finally:
            self.archive.trash.empty()

    def rotate_if_due_locked(
        self, nbytes: int, force: bool = False, survey: Inventory | None = None
    ) -> AppendFile:
        """With the lock held: return the file to write to, rotating it first if it is due.

        ``force`` rotates the current file even if the trigger would not, unless another
        process has just rotated it (then its new file is adopted, not rotated again).
        *survey*: the archive's inventory, made before the lock was taken.
        """
        file = self.file if self.file is not None else self._open(locked=True)
        if file.regular and not file.is_current():
            file = self._open(locked=True)
            force = False
        if not file.regular or not (force or self.trigger.due_locked(file, nbytes)):
            return file
        if not self.lock.still_named(recheck=True):
            # The lock file was replaced since it was last checked: our hold excludes nobody.
            raise LockUnusable(errno.ESTALE, "the lock file was replaced", self.lock.path)
        archive = self.archive
        self.roller.rotate_locked(file, archive.inventory_locked(survey), archive.trash.discard)
        fresh = AppendFile(self.base_path, self.permissions, self.system, self.line_end)
        file.close()
        self.file = fresh
        self.stats.rollovers += 1
        if self.dating is not None:
            self.dating.created(fresh)
        try:
            waiting = archive.tidy_locked(file.identity)
        except Exception:
            self.outages.failed("tidy")
        else:
            self.outages.ok("tidy")
            # A rotator of the user's may compress (or move) files itself.
            if self.compressor is not None and not callable(self.hooks.rotator):
                for identity, orphan in waiting:
                    self.compressor.submit(identity, orphan)
        return fresh

    def _open(self, locked: bool, reader_wait: float = 0.0) -> AppendFile:
        """Open the base file and make it ours, dated. Without the lock another process may
        rotate it meanwhile, and a file dated then by its last write (a record on its way
        at a boundary) would take the next period's records: what the base path names after
        the dating is adopted instead (one ``stat`` per adoption of a timed log; a few tries,
        then the next check looks again)."""
        adopting = self.file is not None
        for _ in range(_ADOPTIONS):
            fresh = self._open_dated(locked, reader_wait)
            if locked or not fresh.regular or self.dating is None or self.reentered():
                break
            if self._still_current(fresh):
                break
        if adopting:
            self.stats.adopted += 1
        return fresh

    def _open_dated(self, locked: bool, reader_wait: float) -> AppendFile:
        """Open the base file and date it before it becomes ours: until then the file we
        had stays ours (a record a ``handleError`` logs meanwhile goes there). A file whose
        dating failed (an fstat with EIO) is neither: it would be written as if it belonged
        to the period this process knew before, so the next record opens it again."""
        fresh = AppendFile(
            self.base_path, self.permissions, self.system, self.line_end, reader_wait
        )
        if fresh.regular and self.dating is not None:
            try:
                self._date(self.dating, fresh, locked)
            except BaseException:
                fresh.close()
                old, self.file = self.file, None
                if old is not None:
                    old.close()
                raise
        old, self.file = self.file, fresh
        if old is not None:
            old.close()
        return fresh

    def _date(self, dating: Dating, file: AppendFile, locked: bool) -> None:
        """Learn the new file's period; date it under the lock if nobody has yet."""
        locked = locked or self.reentered()  # strict mode opens the file with the lock held
        if locked or not self.backoff.ready() or not dating.wants_lock_to_adopt(file):
            dating.adopted(file, locked)
            return
        try:
            with self.held():
                # Recorded only if still the base file: rotated while we waited for the lock,
                # its entry would replace the new file's (``_open`` then adopts that one).
                dating.adopted(file, self._still_current(file))
        except (LockTimeout, LockUnusable):
            self._lock_failed()
            dating.adopted(file, False)
        else:
            self.backoff.succeeded()

    def _still_current(self, file: AppendFile) -> bool:
        """Whether the base path still names *file* (assumed so if it cannot be looked at)."""
        try:
            return file.is_current()
        except OSError:
            return True

    # The lock ------------------------------------------------------------------------------

    def held(self) -> Core:
        """Hold the inter-process lock for a ``with`` block; raises :class:`LockTimeout` when
        it cannot be had (or :class:`LockUnusable`). Threads of one process share the lock's
        descriptor, and ``flock`` does not exclude them from each other: the mutex does, and
        one deadline bounds both waits. (The core is its own context manager: strict mode
        holds the lock for every record, and an object per hold costs more.)"""
        return self

    def reentered(self) -> bool:
        """Whether this thread already holds the lock (a namer or rotator that logs)."""
        return self.holder == self.system.thread_id()

    def busy_elsewhere(self) -> bool:
        """Whether another thread of this process holds the lock right now."""
        holder = self.holder
        return holder is not None and holder != self.system.thread_id()

    def __enter__(self) -> None:
        """Take the mutex, then the file lock, by one deadline (see :meth:`held`)."""
        if self.pid != self.system.getpid():
            self.after_fork()
        lock, stats = self.lock, self.stats
        deadline = self.backoff.deadline(lock.timeout)
        bound = self._bound
        if bound is not None and bound[0] == self.system.thread_id():
            # A record's waits end by the deadline of its first (see _slow).
            deadline = min(deadline, bound[1])
            self._bound = (bound[0], deadline)
        if not self.mutex.acquire(timeout=max(0.0, deadline - self._monotonic())):
            stats.timed_out()
            raise LockTimeout(lock.path, lock.timeout)
        try:
            waited = lock.acquire(deadline)
        except BaseException as exc:
            self.mutex.release()
            if isinstance(exc, LockTimeout):
                stats.timed_out()
            raise
        if lock.problem is not None and self._warned != lock.problem:
            self._warned = lock.problem
            risk = "any process that can read it can hold the log's lock"
            self.hooks.report(companion_warning("lock", lock.path, lock.problem, risk))
        self.holder = self.system.thread_id()
        # Only the holder writes these: the mutex keeps the compressor thread's hold apart.
        self._hold = (waited, stats.rollovers, self._monotonic())

    def __exit__(self, *exc: object) -> None:
        """Let go, and count the hold for the stats."""
        self.holder = None
        waited, rollovers, start = self._hold
        stats = self.stats
        stats.record_lock(waited, self._monotonic() - start, stats.rollovers != rollovers)
        try:
            self.lock.release()
        finally:
            self.mutex.release()

    # The compressor's host (lockrotate._compress.Host) -------------------------------------

    def locate(self, identity: tuple[int, int]) -> str | None:
        return self.archive.locate(identity)

    def put_in_place(
        self, identity: tuple[int, int], temp: str, nbytes: int, source: int | None = None
    ) -> bool:
        """With the lock: the compressed copy takes its name, then the plain file goes (found
        before the lock is taken, checked with it held; *source*: the compressor's exclusive
        descriptor of it, which the trash then owns)."""
        seen = self.archive.locate(identity)
        try:
            with self.held():
                return self.archive.put_in_place_locked(identity, temp, nbytes, seen, source)
        finally:
            self.archive.trash.empty()

    def report(self, message: str) -> None:
        self.hooks.report(message)

    # Lifetime ------------------------------------------------------------------------------

    def stop_compressing(self) -> None:
        """A compression in progress finishes; pending ones stay plain for a later rollover."""
        if self.compressor is not None:
            self.compressor.close()

    def close(self) -> None:
        """Close the file and the lock; later records are written through a descriptor each."""
        self.closed = True
        self.fast_until = 0.0
        if self.file is not None:
            file, self.file = self.file, None
            file.close()
        self.lock.close()

    def check_fork(self) -> None:
        """Reset what belonged to the parent if this process is a child: the one fork path
        (``__enter__`` inlines it),
        for a fork through Python (:mod:`._fork`) and one without its hooks (uWSGI forks in
        C): then the parent's holder, mutex and lock may still be here, mid-rollover."""
        if self.pid != self.system.getpid():
            self.after_fork()

    def after_fork(self) -> None:
        """In a child: fresh counters, mutex, back-off and outages, none of the parent's hold
        (the lock's descriptor is closed without unlocking it) and no compressor thread."""
        self.pid = self.system.getpid()
        self._reset()
        self.outages.after_fork()
        self.lock.check_fork()
        if self.dating is not None:
            self.dating.after_fork()
        self.archive.after_fork()
        if self.compressor is not None:
            self.compressor.after_fork()
