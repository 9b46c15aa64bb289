"""Drop-in replacements for the rotating handlers of :mod:`logging.handlers`.

The constructors take the stdlib's arguments in the stdlib's order; what is new comes after
them, keyword-only. The classes choose a policy (size, time, or both) and hand each record
to the append writer; the rollover itself is :mod:`lockrotate._rollover`'s job.
"""

from __future__ import annotations

import codecs
import datetime
import errno
import locale
import logging
import logging.handlers
import os
import time
import weakref
from collections.abc import Callable

from ._locks import DEFAULT_BACKEND, LockTimeout, make_lock
from ._naming import beyond_retention, lock_stem, numbered, timed, timed_backups
from ._rollover import Coordinator, PeriodLedger
from ._schedule import ext_match, make_schedule
from ._stats import HandlerStats
from ._writer import AppendFile

_RETRY_AFTER_FAILURE = 1.0
_LIVE: weakref.WeakSet[_SharedFileHandler] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for handler in list(_LIVE):
        handler._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {value}")
    return value


def _seconds(name: str, value: object, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    if not value >= minimum:
        raise ValueError(f"{name} must be at least {minimum:g}, not {value!r}")
    return float(value)


def _codec(encoding: str, errors: str) -> str:
    name = locale.getpreferredencoding(False) if encoding == "locale" else encoding
    try:
        codecs.lookup(name)
    except LookupError:
        raise ValueError(f"encoding {encoding!r} is not a known codec") from None
    try:
        codecs.lookup_error(errors)
    except LookupError:
        raise ValueError(f"errors {errors!r} is not a known error handler") from None
    return name


class _SharedFileHandler(logging.handlers.BaseRotatingHandler):
    """What both handlers share: the write path, the lock and the error reporting."""

    def __init__(
        self,
        filename: str | os.PathLike[str],
        encoding: str | None,
        delay: bool,
        errors: str | None,
        *,
        lock: str,
        lock_timeout: float,
        lock_dir: str | os.PathLike[str] | None,
        lock_every_write: bool,
        check_interval: float,
    ) -> None:
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"filename must be a str or os.PathLike, not {filename!r}")
        timeout = _seconds("lock_timeout", lock_timeout, 0.0)
        interval = _seconds("check_interval", check_interval, 0.0)
        super().__init__(filename, "a", encoding=encoding, delay=True, errors=errors)
        self.delay = delay
        self._codec = _codec(self.encoding or "locale", errors or "strict")
        self._errors = errors or "strict"
        folder = os.path.dirname(self.baseFilename)
        if lock_dir is not None and not os.path.isdir(lock_dir):
            raise ValueError(f"lock_dir {os.fspath(lock_dir)!r} is not an existing folder")
        stem = lock_stem(self.baseFilename, None if lock_dir is None else os.fspath(lock_dir))
        try:
            lock_mode = os.stat(self.baseFilename).st_mode & 0o777
        except OSError:
            lock_mode = 0o666
        self.stats = HandlerStats()
        self.lock_file = stem + ".lock"
        self._ledger = PeriodLedger(stem + ".period", lock_mode)
        backend = make_lock(lock, self.lock_file, timeout, lock_mode)
        self._coordinator = Coordinator(self.baseFilename, backend, self.stats, 0o666)
        self._strict = bool(lock_every_write)
        self._check_interval = interval
        self._next_check = 0.0
        self._retry_at = 0.0
        self._failing = False
        _LIVE.add(self)
        if not delay:
            if not os.path.isdir(folder):
                raise FileNotFoundError(
                    errno.ENOENT, f"the folder of log file {self.baseFilename!r} does not exist"
                )
            self._coordinator.ensure_open(self)

    # The write path ---------------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record as one ``write()``; roll over first if the policy says so."""
        try:
            data = (self.format(record) + self.terminator).encode(self._codec, self._errors)
            if self._strict:
                self._emit_locked(data, record)
                return
            file = self._coordinator.file
            if file is None or self._due(file, len(data)) or time.monotonic() >= self._next_check:
                file = self._prepare(len(data), record)
            file.write(data)
            stats = self.stats
            stats.records += 1
            stats.bytes += len(data)
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)

    def _prepare(self, nbytes: int, record: logging.LogRecord) -> AppendFile:
        """The slow path: open, follow an outside move, roll over; report failures once."""
        coordinator = self._coordinator
        now = time.monotonic()
        try:
            file = coordinator.ensure_open(self)
            if now >= self._next_check:
                self._next_check = now + self._check_interval
                file = coordinator.follow(self)
            if now >= self._retry_at and self._due(file, nbytes):
                file = coordinator.roll(nbytes, self)
        except Exception:
            if coordinator.file is None:
                raise
            self._retry_at = now + _RETRY_AFTER_FAILURE
            self._report_once(record)
            return coordinator.file
        self._failing = False
        return file

    def _emit_locked(self, data: bytes, record: logging.LogRecord) -> None:
        """Strict mode: the lock is held around the write itself, for filesystems without
        atomic ``O_APPEND`` (NFS)."""
        coordinator = self._coordinator
        try:
            with coordinator.held():
                coordinator.settle(len(data), self).write(data)
        except LockTimeout:
            self._report_once(record)
            coordinator.ensure_open(self).write(data)
        else:
            self._failing = False
        self.stats.records += 1
        self.stats.bytes += len(data)

    def _report_once(self, record: logging.LogRecord) -> None:
        """Call from an ``except`` block: the first failure of a run goes to handleError."""
        if not self._failing:
            self._failing = True
            self.handleError(record)

    # Stdlib hooks ----------------------------------------------------------------------------

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        """Whether *record* would trigger a rollover now (the stdlib's hook)."""
        data = (self.format(record) + self.terminator).encode(self._codec, self._errors)
        return self._due(self._coordinator.ensure_open(self), len(data))

    def doRollover(self) -> None:
        """Roll over now, unless another process just did (then its new file is used)."""
        self.acquire()
        try:
            self._coordinator.roll(0, self, force=True)
        finally:
            self.release()

    def rotate(self, source: str, dest: str) -> None:
        """Move *source* to *dest* (or call ``rotator``); never replaces an existing file."""
        if callable(self.rotator):
            self.rotator(source, dest)
            return
        if os.path.lexists(dest):
            raise FileExistsError(errno.EEXIST, "lockrotate never overwrites a rotated file", dest)
        os.rename(source, dest)

    def close(self) -> None:
        self.acquire()
        try:
            self._coordinator.close()
        finally:
            _LIVE.discard(self)
            self.release()
            logging.Handler.close(self)

    def _forked(self) -> None:
        self.stats = self._coordinator.stats = HandlerStats()

    # Policy (lockrotate._rollover.Policy); subclasses fill these in -------------------

    def _due(self, file: AppendFile, nbytes: int) -> bool:
        """Without the lock, cheaply: does the policy want a rollover before this write?"""
        raise NotImplementedError

    def _opened(self, file: AppendFile) -> None:
        """The default: the file's own size is all the state there is."""

    def _due_locked(self, file: AppendFile, nbytes: int) -> bool:
        return self._due(file, nbytes)

    def _rotate_locked(self, file: AppendFile) -> None:
        raise NotImplementedError

    def _started(self, file: AppendFile) -> None:
        """The default: nothing to record about a new file."""


def _size_due(file: AppendFile, nbytes: int, max_bytes: int) -> bool:
    if max_bytes <= 0:
        return False
    size = file.size()
    return size > 0 and size + nbytes > max_bytes


class RotatingFileHandler(_SharedFileHandler):
    """``logging.handlers.RotatingFileHandler`` that many processes can share.

    As in the stdlib, a rollover happens only when both ``maxBytes`` and ``backupCount`` are
    above zero; the file then rolls when the next record would take it past ``maxBytes``,
    judged by the shared file's real size, and backups are ``app.log.1`` (newest) to
    ``app.log.<backupCount>``.
    """

    def __init__(
        self,
        filename: str | os.PathLike[str],
        mode: str = "a",
        maxBytes: int = 0,
        backupCount: int = 0,
        encoding: str | None = None,
        delay: bool = False,
        errors: str | None = None,
        *,
        lock: str = DEFAULT_BACKEND,
        lock_timeout: float = 1.0,
        lock_dir: str | os.PathLike[str] | None = None,
        lock_every_write: bool = False,
        check_interval: float = 1.0,
    ) -> None:
        if mode != "a":
            raise ValueError(
                f"mode must be 'a', not {mode!r}: a shared log is only ever appended to, "
                "since 'w' would wipe the records of every other process"
            )
        self.maxBytes = _count("maxBytes", maxBytes)
        self.backupCount = _count("backupCount", backupCount)
        self._limit = self.maxBytes if self.backupCount > 0 else 0
        super().__init__(
            filename,
            encoding,
            delay,
            errors,
            lock=lock,
            lock_timeout=lock_timeout,
            lock_dir=lock_dir,
            lock_every_write=lock_every_write,
            check_interval=check_interval,
        )

    def _due(self, file: AppendFile, nbytes: int) -> bool:
        return _size_due(file, nbytes, self._limit)

    def backup_names(self) -> list[str]:
        """The names of backups 1 (newest) to ``backupCount``, after ``namer``."""
        return [
            self.rotation_filename(numbered(self.baseFilename, index))
            for index in range(1, self.backupCount + 1)
        ]

    def _rotate_locked(self, file: AppendFile) -> None:
        """Shift the backups up by one, dropping the oldest, then move the base file to .1.

        Only the run of backups that starts at .1 without a gap is shifted: a chain left
        half-shifted by a crash closes its gap instead of losing a file.
        """
        names = self.backup_names()
        run = 0
        while run < len(names) and os.path.lexists(names[run]):
            run += 1
        if run == len(names):
            os.remove(names[-1])
            run -= 1
        for index in range(run, 0, -1):
            os.rename(names[index - 1], names[index])
        self.rotate(self.baseFilename, names[0])


class TimedRotatingFileHandler(_SharedFileHandler):
    """``logging.handlers.TimedRotatingFileHandler`` that many processes can share.

    One deliberate difference from the stdlib: S, M, H and D boundaries are aligned to the
    clock (``when='H'`` rolls at every full hour, ``when='M', interval=5`` at :00, :05...),
    so processes started at different moments roll at the same instant. ``maxBytes`` adds a
    size limit within a period; every rotated file of one period gets its own name.
    """

    def __init__(
        self,
        filename: str | os.PathLike[str],
        when: str = "h",
        interval: int = 1,
        backupCount: int = 0,
        encoding: str | None = None,
        delay: bool = False,
        utc: bool = False,
        atTime: datetime.time | None = None,
        errors: str | None = None,
        *,
        maxBytes: int = 0,
        lock: str = DEFAULT_BACKEND,
        lock_timeout: float = 1.0,
        lock_dir: str | os.PathLike[str] | None = None,
        lock_every_write: bool = False,
        check_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._schedule = make_schedule(when, interval, utc, atTime)
        self.when = self._schedule.when
        self.interval = self._schedule.length
        self.utc = self._schedule.utc
        self.atTime = atTime
        self.suffix = self._schedule.suffix
        self.extMatch = ext_match(self._schedule)
        if self.when.startswith("W"):
            self.dayOfWeek = int(self.when[1])
        self.backupCount = _count("backupCount", backupCount)
        self.maxBytes = _count("maxBytes", maxBytes)
        if not callable(clock):
            raise TypeError(f"clock must be a callable returning seconds, not {clock!r}")
        self._clock = clock
        self._period = self._schedule.period_start(clock())
        self.rolloverAt = self._schedule.next_boundary(self._period)
        super().__init__(
            filename,
            encoding,
            delay,
            errors,
            lock=lock,
            lock_timeout=lock_timeout,
            lock_dir=lock_dir,
            lock_every_write=lock_every_write,
            check_interval=check_interval,
        )

    def computeRollover(self, currentTime: float) -> int:
        """The first boundary after *currentTime* (the stdlib's hook)."""
        return self._schedule.next_boundary(currentTime)

    def getFilesToDelete(self) -> list[str]:
        """The rotated files of this log beyond ``backupCount``, oldest first."""
        return beyond_retention(self._backups(), self.backupCount)

    def _backups(self) -> list[str]:
        folder = os.path.dirname(self.baseFilename)
        return timed_backups(
            self.baseFilename, os.listdir(folder), self._schedule.label_pattern, self.namer
        )

    def _due(self, file: AppendFile, nbytes: int) -> bool:
        now = self._clock()
        return (
            now >= self.rolloverAt or now < self._period or _size_due(file, nbytes, self.maxBytes)
        )

    def _enter_period(self, period: int) -> None:
        self._period = period
        self.rolloverAt = self._schedule.next_boundary(period)

    def _opened(self, file: AppendFile) -> None:
        """Learn the period of *file*: from the ledger, else from its last write."""
        period = self._ledger.period_of(file)
        if period is None:
            now = self._clock()
            stamp = file.mtime() if file.size() > 0 else now
            period = self._schedule.period_start(min(stamp, now))
        self._enter_period(period)

    def _due_locked(self, file: AppendFile, nbytes: int) -> bool:
        schedule = self._schedule
        current = schedule.period_start(self._clock())
        self._opened(file)
        if file.size() == 0 or current < self._period:
            # Nothing to rotate, or the clock went back: the file now belongs to this period.
            if self._period != current:
                self._ledger.write(file.identity, current)
                self._enter_period(current)
            return False
        return self._period < current or _size_due(file, nbytes, self.maxBytes)

    def _rotate_locked(self, file: AppendFile) -> None:
        label = self._schedule.label(self._period)
        counter = 0
        while True:
            dest = self.rotation_filename(timed(self.baseFilename, label, counter))
            if not os.path.lexists(dest):
                break
            counter += 1
        self.rotate(self.baseFilename, dest)
        for old in self.getFilesToDelete():
            os.remove(old)

    def _started(self, file: AppendFile) -> None:
        period = self._schedule.period_start(self._clock())
        self._ledger.write(file.identity, period)
        self._enter_period(period)
