"""Drop-in replacements for the rotating handlers of :mod:`logging.handlers`.

The constructors take the stdlib's arguments in the stdlib's order; the options lockrotate
adds (:class:`lockrotate._base.Options`) come after them, keyword-only. These classes only
say when a file is due and what its rotated copies are called.
"""

from __future__ import annotations

import datetime
import os
import re
from typing import Unpack

from ._base import Options, SharedFileHandler, count_arg
from ._naming import (
    beyond_retention,
    next_counter,
    numbered,
    timed,
    timed_backups,
    timed_entries,
)
from ._schedule import ext_match, make_schedule
from ._writer import AppendFile


def _size_due(file: AppendFile, nbytes: int, max_bytes: int) -> bool:
    if max_bytes <= 0:
        return False
    size = file.size()
    return size > 0 and size + nbytes > max_bytes


class RotatingFileHandler(SharedFileHandler):
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
        **options: Unpack[Options],
    ) -> None:
        if mode != "a":
            raise ValueError(
                f"mode must be 'a', not {mode!r}: a shared log is only ever appended to, "
                "since 'w' would wipe the records of every other process"
            )
        self.maxBytes = count_arg("maxBytes", maxBytes)
        self.backupCount = count_arg("backupCount", backupCount)
        super().__init__(filename, encoding, delay, errors, **options)

    def _due(self, file: AppendFile, nbytes: int) -> bool:
        return self.backupCount > 0 and _size_due(file, nbytes, self.maxBytes)

    def _slots(self, names: list[str]) -> dict[int, list[str]]:
        """Backup index -> the names it has now: plain, compressed, or (after a crash) both.

        Without a ``namer`` one ``listdir`` finds them; with one, each index is probed, as the
        stdlib does.
        """
        extension = self._extension()
        slots: dict[int, list[str]] = {}
        if self.namer is None:
            folder, name = os.path.split(self.baseFilename)
            own = re.compile(rf"{re.escape(name)}\.([1-9]\d*)(?:{re.escape(extension)})?")
            for entry in sorted(names):
                m = own.fullmatch(entry)
                if m and int(m[1]) <= self.backupCount:
                    slots.setdefault(int(m[1]), []).append(os.path.join(folder, entry))
            return slots
        for index in range(1, self.backupCount + 1):
            path = self.rotation_filename(numbered(self.baseFilename, index))
            variants = [path, path + extension] if extension else [path]
            present = [variant for variant in variants if os.path.lexists(variant)]
            if present:
                slots[index] = present
        return slots

    def _backups(self, names: list[str]) -> list[str]:
        slots = self._slots(names)
        return [path for index in sorted(slots, reverse=True) for path in slots[index]]

    def _rotate_locked(self, file: AppendFile) -> None:
        """Shift the backups up by one, dropping the oldest, then move the base file to .1.

        Only the run of backups that starts at .1 without a gap is shifted: a chain left
        half-shifted by a crash closes its gap instead of losing a file.
        """
        slots = self._slots(self._listing())
        run = 0
        while run < self.backupCount and run + 1 in slots:
            run += 1
        if run == self.backupCount:
            for path in slots[run]:
                self._discard_locked(path)
            run -= 1
        for index in range(run, 0, -1):
            name = self.rotation_filename(numbered(self.baseFilename, index))
            target = self.rotation_filename(numbered(self.baseFilename, index + 1))
            for path in slots[index]:
                os.rename(path, target + path[len(name) :])
        self.rotate(self.baseFilename, self.rotation_filename(numbered(self.baseFilename, 1)))


class TimedRotatingFileHandler(SharedFileHandler):
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
        **options: Unpack[Options],
    ) -> None:
        self._schedule = make_schedule(when, interval, utc, atTime)
        self.when = self._schedule.when
        # The stdlib's value, even for W0-W6, where (as in the stdlib) it is not used.
        self.interval = self._schedule.length * (interval if self.when.startswith("W") else 1)
        self.utc = self._schedule.utc
        self.atTime = atTime
        self.suffix = self._schedule.suffix
        self.extMatch = ext_match(self._schedule)
        if self.when.startswith("W"):
            self.dayOfWeek = int(self.when[1])
        self.backupCount = count_arg("backupCount", backupCount)
        self.maxBytes = count_arg("maxBytes", maxBytes)
        super().__init__(filename, encoding, delay, errors, **options)
        if self._coordinator.file is None:
            self._enter_period(self._schedule.period_start(self._clock()))

    def computeRollover(self, currentTime: float) -> int:
        """The first boundary after *currentTime* (the stdlib's hook)."""
        return self._schedule.next_boundary(currentTime)

    def getFilesToDelete(self) -> list[str]:
        """The rotated files of this log beyond ``backupCount``, oldest first."""
        return beyond_retention(self._backups(self._listing()), self.backupCount)

    def _entries(self, names: list[str]) -> list[tuple[str, int, str]]:
        return timed_entries(
            self.baseFilename,
            names,
            self._schedule.label_pattern,
            self.namer,
            self._extension(),
        )

    def _backups(self, names: list[str]) -> list[str]:
        return timed_backups(
            self.baseFilename, names, self._schedule.label_pattern, self.namer, self._extension()
        )

    def _kept_by_count(self) -> int:
        return self.backupCount

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
        current = self._schedule.period_start(self._clock())
        known = self._ledger.period_of(file)
        if known is not None:
            self._enter_period(known)
        if file.size() == 0 or current < self._period:
            # Nothing to rotate, or the clock went back: the file now belongs to this period.
            if self._period != current:
                self._ledger.write(file.identity, current)
                self._enter_period(current)
            return False
        return self._period < current or _size_due(file, nbytes, self.maxBytes)

    def _rotate_locked(self, file: AppendFile) -> None:
        label = self._schedule.label(self._period)
        extension = self._extension()
        counter = next_counter(self._entries(self._listing()), label)
        while True:
            dest = self.rotation_filename(timed(self.baseFilename, label, counter))
            if not (os.path.lexists(dest) or (extension and os.path.lexists(dest + extension))):
                self.rotate(self.baseFilename, dest)
                return
            counter += 1  # a name this log's scheme does not recognise as its own: keep it

    def _started(self, file: AppendFile) -> None:
        period = self._schedule.period_start(self._clock())
        self._ledger.write(file.identity, period)
        self._enter_period(period)
