"""What both handlers share: the write path, error reporting, retention and compression.

The public classes in :mod:`lockrotate.handlers` only say when a file is due and what a
rotated file is called; the rollover itself is :mod:`lockrotate._rollover`'s job.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime
import errno
import io
import locale
import logging
import logging.handlers
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import TypedDict

from ._compress import Compressor, check_format
from ._locks import DEFAULT_BACKEND, LockTimeout, make_lock
from ._naming import expired, lock_stem, scratch_path, stale_scratch
from ._permissions import resolve
from ._rollover import Coordinator, PeriodLedger
from ._stats import HandlerStats
from ._writer import AppendFile, Identity

_RETRY_AFTER_FAILURE = 1.0
_LIVE: weakref.WeakSet[SharedFileHandler] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for handler in list(_LIVE):
        handler._forked()


os.register_at_fork(after_in_child=_after_fork_in_child)


class Options(TypedDict, total=False):
    """The keyword-only options both handlers add to the stdlib's arguments."""

    lock: str
    lock_timeout: float
    lock_dir: str | os.PathLike[str] | None
    lock_every_write: bool
    check_interval: float
    compress: str | None
    max_age: float | datetime.timedelta | None
    max_total_bytes: int | None
    chmod: int | None
    owner: tuple[int | str, int | str] | None
    clock: Callable[[], float]


def count_arg(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {value}")
    return value


def _seconds(name: str, value: object, minimum: float) -> float:
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
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
    if "".encode(name):
        # Each record is encoded on its own: a byte-order mark would start every line.
        raise ValueError(
            f"encoding {encoding!r} writes a byte-order mark; name the byte order "
            "(e.g. 'utf-16-le') or use 'utf-8'"
        )
    try:
        codecs.lookup_error(errors)
    except LookupError:
        raise ValueError(f"errors {errors!r} is not a known error handler") from None
    return name


class SharedFileHandler(logging.handlers.BaseRotatingHandler):
    """A rotating file handler whose file many processes share; see the public subclasses."""

    backupCount: int

    def __init__(
        self,
        filename: str | os.PathLike[str],
        encoding: str | None,
        delay: bool,
        errors: str | None,
        *,
        lock: str = DEFAULT_BACKEND,
        lock_timeout: float = 1.0,
        lock_dir: str | os.PathLike[str] | None = None,
        lock_every_write: bool = False,
        check_interval: float = 1.0,
        compress: str | None = None,
        max_age: float | datetime.timedelta | None = None,
        max_total_bytes: int | None = None,
        chmod: int | None = None,
        owner: tuple[int | str, int | str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(filename, (str, os.PathLike)):
            raise TypeError(f"filename must be a str or os.PathLike, not {filename!r}")
        timeout = _seconds("lock_timeout", lock_timeout, 0.0)
        interval = _seconds("check_interval", check_interval, 0.0)
        self.max_age = None if max_age is None else _seconds("max_age", max_age, 0.0)
        self.max_total_bytes = (
            None if max_total_bytes is None else count_arg("max_total_bytes", max_total_bytes)
        )
        self.compress = check_format(compress)
        if not callable(clock):
            raise TypeError(f"clock must be a callable returning seconds, not {clock!r}")
        self._clock = clock
        permissions = resolve(chmod, owner)
        self._codec = _codec(io.text_encoding(encoding), errors or "strict")
        self._errors = errors or "strict"
        if lock_dir is not None and not os.path.isdir(lock_dir):
            raise ValueError(f"lock_dir {os.fspath(lock_dir)!r} is not an existing folder")
        base = os.path.abspath(os.fspath(filename))
        stem = lock_stem(base, None if lock_dir is None else os.fspath(lock_dir))
        try:
            lock_mode = os.stat(base).st_mode & 0o777
        except OSError:
            lock_mode = 0o666
        self.stats = HandlerStats()
        self.lock_file = stem + ".lock"
        self._ledger = PeriodLedger(stem + ".period", permissions, lock_mode)
        backend = make_lock(lock, self.lock_file, timeout, lock_mode, permissions)
        self._coordinator = Coordinator(base, backend, self.stats, permissions)
        self._compressor = (
            None
            if self.compress is None
            else Compressor(
                self.compress,
                base,
                interval + 1.0,
                permissions,
                self._locate,
                self._finish_compression,
                self._report_background,
            )
        )
        self._trash: list[str] = []
        self._strict = bool(lock_every_write)
        self._check_interval = interval
        self._next_check = 0.0
        self._retry_at = 0.0
        self._rolling = False
        self._failing: set[str] = set()
        folder = os.path.dirname(base)
        if not delay and not os.path.isdir(folder):
            raise FileNotFoundError(errno.ENOENT, f"the folder of log file {base!r} does not exist")
        # Everything that can be refused has been checked: only now does logging know the
        # handler (and close it at exit).
        super().__init__(base, "a", encoding=encoding, delay=True, errors=errors)
        # As the stdlib's rotating handlers leave them (BaseRotatingHandler resets encoding).
        self.delay = delay
        self.encoding = io.text_encoding(encoding)
        _LIVE.add(self)
        if not delay:
            try:
                self._coordinator.ensure_open(self)
            except BaseException:
                self.close()
                raise

    # The write path ---------------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record as one ``write()``; roll over first if the policy says so."""
        try:
            data = self._encode(record)
            if self._strict:
                self._emit_locked(data, record)
            else:
                self._append(data, record)
        except RecursionError:
            raise
        except OSError:
            self._report("write", record)
        except Exception:
            self.handleError(record)

    def _append(self, data: bytes, record: logging.LogRecord, locked: bool = False) -> None:
        """The path between rollovers: one cheap check of the policy, one write (*locked*:
        strict mode holds the lock around it)."""
        file = self._coordinator.file
        if file is None or self._due(file, len(data)) or time.monotonic() >= self._next_check:
            file = self._prepare(len(data), record, locked)
            if file is None:
                return
        file.write(data)
        self._written(len(data))

    def _encode(self, record: logging.LogRecord) -> bytes:
        return (self.format(record) + self.terminator).encode(self._codec, self._errors)

    def _written(self, nbytes: int) -> None:
        stats = self.stats
        stats.records += 1
        stats.bytes += nbytes
        if self._failing:
            self._failing.discard("write")

    def _prepare(
        self, nbytes: int, record: logging.LogRecord, locked: bool = False
    ) -> AppendFile | None:
        """The slow path: open, follow an outside move, roll over (*locked*: the lock is
        already held, in strict mode). None if there is no file to write to."""
        coordinator = self._coordinator
        if not self._attempt("open", record, lambda: coordinator.ensure_open(self)):
            return None
        if self._rolling:
            # A namer, rotator or handleError that logs here during our own rollover.
            return coordinator.file
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self._check_interval
            self._attempt("follow", record, lambda: coordinator.follow(self))
        roll = (lambda: self._settle_held(nbytes)) if locked else (lambda: self._roll(nbytes))
        if (
            now >= self._retry_at
            and self._due(coordinator.ensure_open(self), nbytes)
            and not self._attempt("roll", record, roll)
        ):
            self._retry_at = now + _RETRY_AFTER_FAILURE
        return coordinator.file

    def _settle_held(self, nbytes: int) -> None:
        self._rolling = True
        try:
            self._coordinator.settle(nbytes, self)
        finally:
            self._rolling = False

    def _roll(self, nbytes: int, force: bool = False) -> None:
        self._rolling = True
        try:
            self._coordinator.roll(nbytes, self, force)
        finally:
            self._rolling = False
            self._empty_trash()

    def _emit_locked(self, data: bytes, record: logging.LogRecord) -> None:
        """Strict mode: the same path, with the lock held around the write itself, for
        filesystems where ``O_APPEND`` is not atomic (NFS)."""
        if self._rolling or time.monotonic() < self._retry_at:
            # Re-entered during our own rollover, or the lock is stuck (already reported).
            self._append(data, record)
            return
        try:
            with self._coordinator.held():
                self._append(data, record, locked=True)
        except LockTimeout:
            self._retry_at = time.monotonic() + _RETRY_AFTER_FAILURE
            self._report("lock", record)
            self._append(data, record)
            return
        finally:
            self._empty_trash()
        self._failing.discard("lock")

    def _attempt(self, kind: str, record: logging.LogRecord, action: Callable[[], object]) -> bool:
        """Run *action*; a failure is reported once per outage (see ``_report``).

        Logging must go on through a failed rollover or a lost base path: the record still
        goes to the current file, and one outage is one report, not one per record.
        """
        try:
            action()
        except Exception:
            self._report(kind, record)
            return False
        self._failing.discard(kind)
        return True

    def _report(self, kind: str, record: logging.LogRecord) -> None:
        """Call from an ``except`` block: an outage is reported when it starts, and is over
        when every kind of step that failed has succeeded again."""
        if not self._failing:
            self.handleError(record)
        self._failing.add(kind)

    # Stdlib hooks ----------------------------------------------------------------------------

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        """Whether *record* would trigger a rollover now (the stdlib's hook; ``emit`` uses
        the same policy directly, so overriding this does not change what ``emit`` does)."""
        data = self._encode(record)
        self.acquire()
        try:
            return self._due(self._coordinator.ensure_open(self), len(data))
        finally:
            self.release()

    def doRollover(self) -> None:
        """Roll over now, unless another process just did (then its new file is used)."""
        self.acquire()
        try:
            self._roll(0, force=True)
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
        """Close the file; a compression in progress finishes, pending ones stay plain."""
        if self._compressor is not None:
            self._compressor.close()
        self.acquire()
        try:
            self._coordinator.close()
        finally:
            _LIVE.discard(self)
            self.release()
            logging.Handler.close(self)

    def _forked(self) -> None:
        self.stats = self._coordinator.stats = HandlerStats()
        self._coordinator.mutex = threading.Lock()
        if self._compressor is not None:
            self._compressor = self._compressor.after_fork()

    # Policy (lockrotate._rollover.Policy); subclasses fill these in ------------------------

    def _due(self, file: AppendFile, nbytes: int) -> bool:
        """Without the lock, cheaply: does the policy want a rollover before this write?"""
        raise NotImplementedError

    def _opened(self, file: AppendFile) -> None:
        """The default: the file's own size is all the state there is."""

    def _due_locked(self, file: AppendFile, nbytes: int) -> bool:
        return self._due(file, nbytes)

    def _rotate_locked(self, file: AppendFile) -> None:
        """Rename the base file to its rotated name (shifting older ones if the scheme does)."""
        raise NotImplementedError

    def _started(self, file: AppendFile) -> None:
        """The default: nothing to record about a new file."""

    def _backups(self, names: list[str]) -> list[str]:
        """The rotated files of this log, compressed or not, oldest first, given the names in
        its folder."""
        raise NotImplementedError

    def _kept_by_count(self) -> int:
        """How many rotated files ``backupCount`` keeps in retention (0: the scheme does it)."""
        return 0

    # Retention and compression ----------------------------------------------------------

    def _extension(self) -> str:
        """The suffix compression adds to a rotated file's name ("" without compression)."""
        return "" if self._compressor is None else self._compressor.extension

    def _compressing(self) -> Compressor | None:
        """A user's ``rotator`` takes precedence over ``compress``."""
        return None if callable(self.rotator) else self._compressor

    def _tidy_locked(self, rotated: Identity) -> None:
        """After a rollover, with the lock held: finish what a crash left, apply retention,
        and queue plain rotated files for compression: *rotated*, the file this process just
        rotated, and any another process left plain when it closed or died."""
        names = self._listing()
        self._trash.extend(stale_scratch(self.baseFilename, names, time.time()))
        backups = self._backups(names)
        compressor = self._compressing()
        if compressor is not None:
            backups = self._finish_interrupted(compressor, backups)
        keep = self._kept_by_count()
        limited = self.max_age is not None or self.max_total_bytes is not None
        if compressor is None and not limited and not 0 < keep < len(backups):
            return
        entries = []
        for path in backups:
            with contextlib.suppress(FileNotFoundError):
                st = os.lstat(path)
                entries.append((path, st.st_mtime, st.st_size, (st.st_dev, st.st_ino)))
        doomed = expired(
            [entry[:3] for entry in entries],
            keep,
            self.max_age,
            self.max_total_bytes,
            self._clock(),
        )
        for path in doomed:
            self._discard_locked(path)
        if compressor is not None:
            packed = {
                path[: -len(compressor.extension)]
                for path in backups
                if path.endswith(compressor.extension)
            }
            for path, _, _, identity in entries:
                if path not in doomed and path not in packed:
                    compressor.submit(identity, orphan=identity != rotated)

    def _listing(self) -> list[str]:
        return os.listdir(os.path.dirname(self.baseFilename))

    def _discard_locked(self, path: str) -> None:
        """With the lock held, a rename is instant where unlinking a large file is not: the
        file leaves its name now and is unlinked once the lock is released."""
        scratch = scratch_path(self.baseFilename)
        os.rename(path, scratch)
        self._trash.append(scratch)

    def _empty_trash(self) -> None:
        # The compressor thread may empty it too: pop() is the atomic step.
        while True:
            try:
                path = self._trash.pop()
            except IndexError:
                return
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)

    def _finish_interrupted(self, compressor: Compressor, backups: list[str]) -> list[str]:
        """Drop the plain copy of a file whose compressed copy is already in place (a process
        was killed between the two steps); return the backups left.

        A compressed copy carries its source's modification time to the nanosecond: a
        ``.gz`` that does not is someone else's, and both files are left alone.
        """
        present = set(backups)
        left = []
        for path in backups:
            packed = path + compressor.extension
            if not path.endswith(compressor.extension) and packed in present:
                with contextlib.suppress(FileNotFoundError):
                    if os.lstat(path).st_mtime_ns == os.lstat(packed).st_mtime_ns:
                        self._discard_locked(path)
                        continue
            left.append(path)
        return left

    def _locate(self, identity: Identity) -> str | None:
        for path in self._backups(self._listing()):
            with contextlib.suppress(FileNotFoundError):
                st = os.lstat(path)
                if (st.st_dev, st.st_ino) == identity:
                    return path
        return None

    def _finish_compression(self, identity: Identity, temp: str, nbytes: int) -> bool:
        """Called by the compressor thread: put the compressed copy in place, with the lock.

        It takes the coordinator's lock, never the handler's: ``logging.shutdown`` holds the
        handler's lock while ``close()`` waits for this thread.
        """
        compressor = self._compressor
        if compressor is None:
            return False
        try:
            with self._coordinator.held():
                path = self._locate(identity)
                if path is None or os.lstat(path).st_size != nbytes:
                    return False
                packed = path + compressor.extension
                if os.path.lexists(packed):
                    return False
                os.rename(temp, packed)
                self._discard_locked(path)
                return True
        finally:
            self._empty_trash()

    def _report_background(self, message: str) -> None:
        """A failure in the compressor thread, which has no record of its own to report."""
        self.handleError(logging.makeLogRecord({"name": "lockrotate", "msg": message}))
