"""What both handlers share: the write path, outage reporting, and the stdlib's hooks.

The public classes in :mod:`lockrotate.handlers` choose a policy (:mod:`lockrotate._policy`);
the rollover itself is :mod:`lockrotate._rollover`'s job, rotated files are
:mod:`lockrotate._archive`'s.
"""

from __future__ import annotations

import errno
import functools
import io
import logging
import logging.handlers
import os
import time
import weakref
from collections.abc import Callable
from typing import ClassVar

from ._archive import Archive, Retention
from ._compress import Compressor
from ._files import AppendFile
from ._locks import LockTimeout, LockUnusable, make_lock
from ._outage import Kind, Outages
from ._rollover import Coordinator, Policy
from ._settings import Settings, count_arg, flag_arg
from ._stats import HandlerStats

_LIVE: weakref.WeakSet[SharedFileHandler] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for handler in list(_LIVE):
        handler._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


class SharedFileHandler(logging.handlers.BaseRotatingHandler):
    """A rotating file handler whose file many processes share; see the public subclasses."""

    # Whether a subclass overrides the stdlib's hooks: then emit goes through them.
    _own_should_rollover: ClassVar[bool] = False
    _own_do_rollover: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls._own_should_rollover = cls.shouldRollover is not SharedFileHandler.shouldRollover
        cls._own_do_rollover = cls.doRollover is not SharedFileHandler.doRollover

    def __init__(
        self,
        settings: Settings,
        policy: Policy,
        outages: Outages,
        encoding: str | None,
        delay: bool,
        errors: str | None,
    ) -> None:
        base = settings.base_path
        delay = flag_arg("delay", delay)
        if not delay and not os.path.isdir(os.path.dirname(base)):
            raise FileNotFoundError(errno.ENOENT, f"the folder of log file {base!r} does not exist")
        self._settings = settings
        self._policy = policy
        self._record: logging.LogRecord | None = None
        self._outages = outages
        stem, mode = settings.stem, settings.companion_mode()
        companions = settings.permissions.for_companions()
        self.lock_file = stem + ".lock"
        lock = make_lock(settings.lock, self.lock_file, settings.lock_timeout, mode, companions)
        compressor = None
        if settings.compress is not None:
            compressor = functools.partial(
                Compressor,
                settings.compress,
                base,
                settings.check_interval + 1.0,
                settings.permissions,
            )
        archive = Archive(
            base,
            lambda: Retention(policy.kept_by_count, settings.max_age, settings.max_total_bytes),
            policy.scheme,
            compressor,
            settings.clock,
            self._report_background,
            lambda: not callable(self.rotator),
        )
        self._coordinator = Coordinator(
            base,
            lock,
            policy,
            archive,
            settings.permissions,
            self._outages,
            self._report_background,
        )
        self._coordinator.on_fork = self._after_fork
        self._coordinator.line_end = "\n".encode(settings.codec)
        self.compress = settings.compress
        self.max_age = settings.max_age
        self.max_total_bytes = settings.max_total_bytes
        self._next_check = 0.0
        self._deferred = False
        # Everything that can be refused has been checked: only now does logging know the
        # handler (and close it at exit).
        super().__init__(base, "a", encoding=encoding, delay=True, errors=errors)
        # As the stdlib's rotating handlers leave them (BaseRotatingHandler resets encoding).
        self.delay = delay
        self.encoding = io.text_encoding(encoding)
        _LIVE.add(self)
        if not delay:
            try:
                self._coordinator.ensure_open()
            except BaseException:
                self.close()
                raise

    @property
    def maxBytes(self) -> int:
        """The stdlib's attribute, a view of the policy: setting it changes the policy."""
        return self._policy.max_bytes

    @maxBytes.setter
    def maxBytes(self, value: int) -> None:
        self._policy.max_bytes = count_arg("maxBytes", value, whole_floats=True)

    @property
    def backupCount(self) -> int:
        return self._policy.backup_count

    @backupCount.setter
    def backupCount(self, value: int) -> None:
        self._policy.backup_count = count_arg("backupCount", value)

    @property
    def stats(self) -> HandlerStats:
        """What this process's handler did since it was built (or since this process forked)."""
        return self._coordinator.stats

    # The write path ---------------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record as one ``write()``; roll over first if the policy says so."""
        self._record = record
        try:
            data = self._encode(record)
            if self._closed:  # type: ignore[attr-defined]  # set by logging.Handler.close
                self._write_once(data)
            elif self._settings.strict:
                self._emit_locked(data, record)
            else:
                self._append(data, record)
        except RecursionError:
            raise
        except OSError:
            self._outages.failed("write")
        except Exception:
            self.handleError(record)
        finally:
            self._record = None

    def _append(self, data: bytes, record: logging.LogRecord, locked: bool = False) -> None:
        """The path between rollovers: one cheap check of the policy, one write (*locked*:
        strict mode holds the lock around it). While a failed rollover waits for its next
        try (``_deferred``), the policy is not even asked: records go at full speed."""
        file = self._coordinator.file
        if file is None or (
            file.regular
            and (
                (not self._deferred and self._due(file, len(data), record))
                or time.monotonic() >= self._next_check
            )
        ):
            file = self._file_for_write(len(data), record, locked)
            if file is None:
                return
        file.write(data)
        stats = self._coordinator.stats
        stats.records += 1
        stats.bytes += len(data)
        self._outages.ok("write")

    def _due(self, file: AppendFile, nbytes: int, record: logging.LogRecord) -> bool:
        if self._own_should_rollover:
            return self.shouldRollover(record)
        return self._policy.due(file, nbytes)

    def _encode(self, record: logging.LogRecord) -> bytes:
        return (self.format(record) + self.terminator).encode(
            self._settings.codec, self._settings.errors
        )

    def _file_for_write(
        self, nbytes: int, record: logging.LogRecord, locked: bool
    ) -> AppendFile | None:
        """The slow path: open, follow an outside move, roll over (*locked*: the lock is
        already held, in strict mode). None if there is no file to write to."""
        coordinator = self._coordinator
        coordinator.check_fork()
        file = self._attempt("open", coordinator.ensure_open)
        if file is None or not file.regular:
            return file
        if not locked and (coordinator.reentered() or coordinator.busy_elsewhere()):
            # A namer, rotator or handleError that logs during our own rollover, or another
            # thread rolling over right now: write where we are.
            return file
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + self._settings.check_interval
            self._attempt("follow", coordinator.follow)
            file = coordinator.ensure_open()
        backoff = coordinator.backoff
        self._deferred = not backoff.ready()
        if self._deferred:
            # Back on the slow path when the next try is due.
            self._next_check = min(self._next_check, backoff.next_try)
            return file
        if self._due(file, nbytes, record):
            self._roll(nbytes, force=self._own_should_rollover, locked=locked)
        return coordinator.file

    def _roll(self, nbytes: int, force: bool, locked: bool) -> None:
        coordinator = self._coordinator
        try:
            if self._own_do_rollover:
                self.doRollover()
            elif locked:
                coordinator.rotate_if_due_locked(nbytes, force)
            else:
                coordinator.roll(nbytes, force)
        except (LockTimeout, LockUnusable):
            coordinator.backoff.failed(lock=True)
            self._outages.failed("lock")
        except Exception:
            coordinator.backoff.failed()
            self._outages.failed("roll")
        else:
            coordinator.backoff.succeeded()
            self._outages.ok("lock")
            self._outages.ok("roll")

    def _emit_locked(self, data: bytes, record: logging.LogRecord) -> None:
        """Strict mode: the same path, with the lock held around the write itself, for
        filesystems where ``O_APPEND`` is not atomic (NFS)."""
        coordinator = self._coordinator
        coordinator.check_fork()
        backoff = coordinator.backoff
        if coordinator.reentered() or (backoff.lock_stuck and not backoff.ready()):
            # Re-entered during our own rollover, or the lock is stuck (already reported).
            self._append(data, record)
            return
        try:
            with coordinator.held():
                if backoff.lock_stuck:
                    backoff.succeeded()
                self._append(data, record, locked=True)
        except (LockTimeout, LockUnusable):
            backoff.failed(lock=True)
            self._outages.failed("lock")
            self._append(data, record)
            return
        finally:
            coordinator.archive.trash.empty()
        self._outages.ok("lock")

    def _write_once(self, data: bytes) -> None:
        """After ``close()``: append the record through a descriptor of its own, as the stdlib
        reopens its file; nothing is kept open, nothing rolls over, no lock is taken."""
        file = AppendFile(self.baseFilename, self._settings.permissions)
        try:
            file.write(data)
        finally:
            file.close()

    def _attempt(self, kind: Kind, action: Callable[[], AppendFile]) -> AppendFile | None:
        """Run *action*; a failure is reported once per outage and None returned."""
        try:
            result = action()
        except Exception:
            self._outages.failed(kind)
            return None
        self._outages.ok(kind)
        return result

    def _report(self) -> None:
        """Called from an ``except`` block when an outage starts."""
        record = self._record or logging.makeLogRecord(
            {"name": "lockrotate", "msg": f"lockrotate: logging to {self.baseFilename} failed"}
        )
        self.handleError(record)

    def _report_background(self, message: str) -> None:
        """A problem found outside ``emit`` (the compressor thread, a configuration mismatch),
        which has no record of its own: reported through ``handleError`` like the rest."""
        try:
            raise RuntimeError(message)
        except RuntimeError:
            self.handleError(logging.makeLogRecord({"name": "lockrotate", "msg": message}))

    # Stdlib hooks ----------------------------------------------------------------------------

    def shouldRollover(self, record: logging.LogRecord | None) -> bool:
        """Whether *record* would trigger a rollover now (the stdlib's hook). A subclass may
        override it: ``emit`` then asks it, and rolls over through the protocol when it
        says so."""
        self.acquire()
        try:
            file = self._coordinator.ensure_open()
            if not file.regular or not self._policy.rolls:
                return False
            nbytes = 0 if record is None else len(self._encode(record))
            return self._policy.due(file, nbytes)
        finally:
            self.release()

    def doRollover(self) -> None:
        """Roll over now, unless another process just did (then its new file is used). A
        subclass may override it; ``emit`` then calls it when a rollover is due."""
        self.acquire()
        try:
            coordinator = self._coordinator
            if coordinator.reentered():
                coordinator.rotate_if_due_locked(0, force=True)
            else:
                coordinator.roll(0, force=True)
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
        """Close the file; a compression in progress finishes, pending ones stay plain. A
        record logged after this is appended through a descriptor opened for it alone."""
        self._coordinator.archive.close()
        self.acquire()
        try:
            self._coordinator.close()
        finally:
            _LIVE.discard(self)
            self.release()
            logging.Handler.close(self)

    def _after_fork(self) -> None:
        """In a child: every piece of per-process state starts fresh."""
        self._record = None
        self._next_check = 0.0
        self._deferred = False
        self._outages.after_fork()
        self._coordinator.after_fork()
