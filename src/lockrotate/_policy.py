"""When a file rolls over, and what its rotated copy is called: one policy object per handler.

Split the way logback splits it (:mod:`lockrotate._rollover`): each policy is a *trigger*
("is this file due?", cheaply without the lock, then really, with it) and a *roller* ("move it
away", the naming scheme the archive reads); only the time policy also has a *dating* part
("which period does this file belong to?", recorded in the :mod:`period ledger
<lockrotate._ledger>`). Each owns the state its answers need.
"""

from __future__ import annotations

import errno
import logging.handlers
import math
import os
from collections.abc import Callable
from typing import Final, NamedTuple, Protocol

from ._archive import FileInfo, Inventory, Scheme, still
from ._compress import EXTENSIONS
from ._errors import NotRegularFile
from ._files import AppendFile, Identity, lexists, never_overwrite
from ._ledger import Book, PeriodLedger, Unreadable, book_capacity
from ._naming import (
    Namer,
    NumberedScheme,
    TimedScheme,
    check_rotated_name,
    numbered_name,
    timed_name,
)
from ._outage import Outages
from ._schedule import TimeSchedule
from ._system import REAL, System


class Terms(NamedTuple):
    """The trigger's ``due``, as data the write path tests without a call (``Core.write``):
    a record is due outside ``[since, until)`` on ``clock`` (None: never by time), or when
    it would take a non-empty file past ``limit`` bytes (None: never by size)."""

    clock: Callable[[], float] | None
    since: float
    until: float
    limit: int | None


_SEEK_END: Final = os.SEEK_END
#: Errors that say the ledger cannot be written by this process (not that it failed once).
_UNUSABLE: Final = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.EBADF})
#: How long (seconds) rotations wait for the rotation book to take their records again
#: before they go on without (a full disk for a moment, or a ledger that stays broken).
BOOK_PATIENCE: Final = 60.0
#: What a rotated file's name may carry: nothing, or a compressed copy's extension.
_COPIES: Final = ("", *EXTENSIONS.values())


class Hooks(Protocol):
    """The stdlib's extension points, which the handler keeps: ``namer`` and ``rotator``."""

    @property
    def namer(self) -> Namer | None: ...

    def rotation_filename(self, default_name: str) -> str: ...

    def rotate(self, source: str, dest: str) -> None: ...


def user_naming(hooks: Hooks) -> Namer | None:
    """The user's naming, if any: a ``namer``, or a subclass's ``rotation_filename``."""
    default = logging.handlers.BaseRotatingHandler.rotation_filename
    if hooks.namer is None and getattr(type(hooks), "rotation_filename", default) is default:
        return None
    return hooks.rotation_filename


def size_due(file: AppendFile, nbytes: int, max_bytes: int) -> bool:
    """Would *nbytes* more take a non-empty file past *max_bytes* (0: no limit)?"""
    if max_bytes <= 0:
        return False
    size = file.size()
    return size > 0 and size + nbytes > max_bytes


class SizePolicy:
    """The stdlib's size rotation: ``app.log.1`` (newest) to ``app.log.<backupCount>``.

    As in the stdlib, there is a rollover only when both ``maxBytes`` and ``backupCount`` are
    above zero.
    """

    def __init__(
        self,
        base_path: str,
        max_bytes: int,
        backup_count: int,
        hooks: Hooks,
        system: System = REAL,
    ) -> None:
        self.system = system
        self.lseek = system.lseek
        self.base_path = base_path
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        self.hooks = hooks

    @property
    def kept_by_count(self) -> int:
        """Retention by count is the shifting itself: nothing more to remove."""
        return 0

    def terms(self) -> Terms:
        """Any time; within ``maxBytes`` when there is a rollover at all."""
        active = self.max_bytes > 0 and self.backup_count > 0
        return Terms(None, -math.inf, math.inf, self.max_bytes if active else None)

    def period_over(self) -> None:
        """No time periods."""
        return None

    def hook_due(self, file: AppendFile, nbytes: int) -> bool:
        """The stdlib's ``shouldRollover`` answer: by size alone, whatever ``backupCount``
        (with 0 the stdlib's rollover only reopens the file, so ``emit`` skips it here)."""
        return size_due(file, nbytes, self.max_bytes)

    def scheme(self) -> Scheme:
        return NumberedScheme(self.base_path, self.backup_count, user_naming(self.hooks))

    def book(self) -> None:
        """Numbered names are their own order: no book."""
        return None

    def due(self, file: AppendFile, nbytes: int, record: object = None) -> bool:
        """``size_due``, inlined: the slow path asks it (in strict mode, for every record)."""
        max_bytes = self.max_bytes
        if max_bytes <= 0 or self.backup_count <= 0:
            return False
        size = self.lseek(file.fd, 0, _SEEK_END)
        return size > 0 and size + nbytes > max_bytes

    def due_locked(self, file: AppendFile, nbytes: int) -> bool:
        return self.due(file, nbytes)

    def rotate_locked(
        self, file: AppendFile, inventory: Inventory, discard: Callable[[str], None]
    ) -> None:
        """Shift the backups up by one, dropping the oldest, then move the base file to .1.

        Only the run of backups that starts at .1 without a gap is shifted: a chain left
        half-shifted by a crash closes its gap instead of losing a file. The names are known:
        a target is checked only if this shift has not just emptied it, and each move is
        recorded in the *inventory*, which retention then reads without a listing. If a name
        is not as the inventory (made before the lock) says, a fresh one finishes the shift.
        """
        try:
            self._shift(inventory, discard)
        except (FileNotFoundError, FileExistsError):
            if inventory.refresh is None:
                raise
            inventory = inventory.refresh()
            self._shift(inventory, discard)
        first = self.hooks.rotation_filename(numbered_name(self.base_path, 1))
        self.hooks.rotate(self.base_path, first)
        inventory.record(self.base_path, first)

    def _shift(self, inventory: Inventory, discard: Callable[[str], None]) -> None:
        slots = {entry.slot: entry for entry in inventory.entries}
        run = 0
        while run < self.backup_count and run + 1 in slots:
            run += 1
        # Each file the shift moves or drops must be the one the inventory saw: a holder
        # killed mid-shift changes the chain's names without moving the base file, and a
        # file dropped by a stale inventory would be a newer one.
        for index in range(1, run + 1):
            for info in slots[index].files:
                if not still(info, self.system):
                    raise FileNotFoundError(errno.ENOENT, "not as the inventory saw it", info.path)
        if run == self.backup_count:
            for info in slots[run].files:
                discard(info.path)
                inventory.record(info.path, None)
            run -= 1
        name = self.hooks.rotation_filename
        moved = inventory.moves  # a name moved from is empty: no need to look at it again
        target = name(numbered_name(self.base_path, run + 1))
        check_rotated_name(
            self.base_path, name(numbered_name(self.base_path, 1)), self.scheme().parse
        )
        # The slot the chain grows into must be empty: a compressed copy put there since the
        # inventory was made (the compressor's, of the file that was there) would be left
        # beside a newer plain file.
        for extension in _COPIES:
            if target + extension not in moved:
                never_overwrite(target + extension, self.system)
        for index in range(run, 0, -1):
            source = name(numbered_name(self.base_path, index))
            for info in slots[index].files:
                dest = target + info.path[len(source) :]
                if dest not in moved:
                    never_overwrite(dest, self.system)
                self.system.rename(info.path, dest)
                moved[info.path] = dest
            target = source


class TimePolicy:
    """Rotation at the schedule's boundaries, optionally also by size within a period.

    Every rotated file of one period gets its own name: ``app.log.<label>``, then
    ``.1``, ``.2``... A period-file entry that names a future period, or another file, is
    ignored; one written with another ``when``/``interval``/``utc``/``atTime`` is reported
    once per other configuration, and this process keeps its own schedule: each rollover still
    happens once, under the lock, and never over an existing name.
    """

    def __init__(
        self,
        base_path: str,
        schedule: TimeSchedule,
        backup_count: int,
        max_bytes: int,
        ledger: PeriodLedger,
        hooks: Hooks,
        clock: Callable[[], float],
        outages: Outages,
        warn: Callable[[str], None],
        system: System = REAL,
    ) -> None:
        self.system = system
        self.base_path = base_path
        self.schedule = schedule
        self.backup_count = backup_count
        self.max_bytes = max_bytes
        self.ledger = ledger
        self.hooks = hooks
        self.clock = clock
        self.outages = outages
        self.warn = warn
        self.mismatches: set[str] = set()
        self._enter(schedule.period_start(clock()))
        #: Since when (``monotonic``) this process's records in the book have failed.
        self._failing_since: float | None = None

    @property
    def kept_by_count(self) -> int:
        return self.backup_count

    def hook_due(self, file: AppendFile, nbytes: int) -> bool:
        """The stdlib's ``shouldRollover`` answer."""
        return self.due(file, nbytes)

    def scheme(self) -> Scheme:
        return TimedScheme(self.base_path, self.schedule, user_naming(self.hooks))

    def book(self) -> Book:
        """The rotation book, which orders the rotated files for retention (raises OSError
        if the ledger cannot be read)."""
        return self.ledger.book()

    def _enter(self, period: int) -> None:
        self.period = period
        self.rollover_at = self.schedule.next_boundary(period)

    def terms(self) -> Terms:
        """Within the current period, on this policy's clock; within ``maxBytes`` if set."""
        limit = self.max_bytes if self.max_bytes > 0 else None
        return Terms(self.clock, self.period, self.rollover_at, limit)

    def due(self, file: AppendFile, nbytes: int, record: object = None) -> bool:
        now = self.clock()
        if now >= self.rollover_at or now < self.period:
            return True
        return self.max_bytes > 0 and size_due(file, nbytes, self.max_bytes)

    def period_over(self) -> Callable[[], bool]:
        """Whether the period now current (on this policy's clock) has ended, or the clock
        has gone back before it."""
        clock = self.clock
        start = self.schedule.period_start(clock())
        end = self.schedule.next_boundary(start)
        return lambda: not start <= clock() < end

    def _recorded(self, file: AppendFile) -> int | None:
        """The period the ledger holds for *file*, if it is believable."""
        entry = self.ledger.read()
        if entry is None or entry[0] != file.identity:
            return None
        _, period, signature = entry
        if period > self.schedule.period_start(self.clock()):
            return None  # a period that has not begun: planted, or another host's clock
        if file.size() > 0 and file.mtime() < period:
            return None  # written before its period began (mtime set back): date it by mtime
        if signature != self.ledger.signature and signature not in self.mismatches:
            self.mismatches.add(signature)
            self.warn(
                f"lockrotate: {self.base_path} is rotated by time with when/interval/"
                f"offset/zone {self.ledger.signature} here, but another process dated it with "
                f"{signature}; each process keeps its own schedule (every rollover still "
                "happens once, and nothing is overwritten): give them one configuration"
            )
        return period

    def wants_lock_to_adopt(self, file: AppendFile) -> bool:
        """A file nobody has dated yet is dated under the lock, once for every process."""
        try:
            return self._recorded(file) is None
        except Unreadable:
            return True

    def adopted(self, file: AppendFile, locked: bool) -> None:
        """Learn the period of *file*: from the ledger; else decide it (and, with the lock,
        record it): an empty file belongs to the current period, a written one to the period
        of its last write. A ledger that cannot be read is not written either: it may hold
        this file's period, which other processes still read (this one dates it alone)."""
        try:
            period = self._recorded(file)
        except Unreadable:
            self.outages.failed("period")
            period, locked = None, False
        if period is None:
            now = self.clock()
            stamp = file.mtime() if file.size() > 0 else now
            period = self.schedule.period_start(min(stamp, now))
            if locked:
                self._record(file, period)
        self._enter(period)

    def due_locked(self, file: AppendFile, nbytes: int) -> bool:
        current = self.schedule.period_start(self.clock())
        try:
            known = self._recorded(file)
        except Unreadable as exc:
            # Dating the file anew by its last write could move its records to a later
            # period's name: the rollover waits for the ledger, as for the book's record.
            self._ledger_failed(exc)
            known = None
        if known is not None:
            self._enter(known)
        if file.size() == 0 or current < self.period:
            # Nothing to rotate, or the clock went back: the file now belongs to this period.
            if self.period != current or known is None:
                self._record(file, current)
                self._enter(current)
            return False
        if known is None:
            self._record(file, self.period)
        return self.period < current or size_due(file, nbytes, self.max_bytes)

    def rotate_locked(
        self, file: AppendFile, inventory: Inventory, discard: Callable[[str], None]
    ) -> None:
        """Move the base file to its period's name, after every file of that period already
        there (even if retention removed some before them), so that names keep the order;
        never to a name the rotation book knows (a clock stepped back makes a period's
        names again once its files are gone: the old record would order the new file)."""
        label = self.schedule.label(self.period)
        slots = [entry.slot for entry in inventory.entries]
        counter = max(
            (slot[1] + 1 for slot in slots if isinstance(slot, tuple) and slot[0] == label),
            default=0,
        )
        try:
            book: Book | None = self.ledger.book()
        except OSError:
            book = None  # (the record below reports a ledger that cannot be used)
        while True:
            dest = self.hooks.rotation_filename(timed_name(self.base_path, label, counter))
            check_rotated_name(self.base_path, dest, self.scheme().parse)
            # (A name this log's scheme does not recognise as its own is kept, too.)
            if (book is None or book.rotation(os.path.basename(dest)) is None) and not any(
                lexists(dest + ext, self.system) for ext in ("", *inventory.extensions)
            ):
                number = self._note(dest, file.identity[1])
                self.hooks.rotate(self.base_path, dest)
                inventory.record(self.base_path, dest)
                if number is not None:
                    self._renote(dest, file.identity, number)
                return
            counter += 1

    def _note(self, dest: str, inode: int) -> int | None:
        """Record in the book, before the rename, that this rotation makes *dest* out of the
        file *inode*; returns its number.

        A file rotated without its record is placed by its last write, which a late append
        or a clock stepped back misleads: so a rotation whose record fails is not made (the
        rollover fails, and is tried again after a pause), unless the ledger cannot be used
        at all (another user's, a directory, a read-only filesystem) or its records have
        failed for :data:`BOOK_PATIENCE`; then the rotation goes on, the failure reported.
        """
        try:
            number = self.ledger.note_rotation(
                os.path.basename(dest), inode, book_capacity(self.backup_count)
            )
        except OSError as exc:
            self._ledger_failed(exc)
            return None
        self._failing_since = None
        return number

    def _ledger_failed(self, exc: OSError) -> None:
        """From an ``except`` block: the ledger failed a rotation. Raise (the rollover fails
        and is tried again after a pause) unless the ledger cannot be used at all or has
        failed for :data:`BOOK_PATIENCE`; then report, and the rotation goes on without."""
        now = self.system.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        unusable = isinstance(exc, NotRegularFile) or exc.errno in _UNUSABLE
        if not unusable and now - self._failing_since < BOOK_PATIENCE:
            raise exc
        self.outages.failed("period")

    def _renote(self, dest: str, rotated: Identity, number: int) -> None:
        """A ``rotator`` may have made *dest* a new file (a compressed copy): its record
        then names that file. (A failure leaves the record naming the file renamed: the new
        one goes by its last write.)"""
        try:
            info = FileInfo.of(dest, self.system)
            if info is not None and info.identity != rotated:
                self.ledger.note_rotation(
                    os.path.basename(dest),
                    info.identity[1],
                    book_capacity(self.backup_count),
                    number,
                )
        except OSError:
            self.outages.failed("period")

    def created(self, file: AppendFile) -> None:
        period = self.schedule.period_start(self.clock())
        self._enter(period)
        self._record(file, period)

    def _record(self, file: AppendFile, period: int) -> None:
        """Write the ledger; a failure is reported and costs only the precision of the
        other processes' dating (they fall back to the file's mtime)."""
        try:
            self.ledger.write(file.identity, period)
        except OSError:
            self.outages.failed("period")
        else:
            self.outages.ok("period")

    def after_fork(self) -> None:
        """The period is the file's, shared with the parent: nothing to reset."""
