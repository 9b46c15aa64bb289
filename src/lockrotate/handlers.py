"""Drop-in replacements for the rotating handlers of :mod:`logging.handlers`.

The constructors take the stdlib's arguments in the stdlib's order; the options lockrotate
adds (:class:`lockrotate._settings.Options`) come after them, keyword-only. These classes only
choose a policy and keep the stdlib's attributes as views of it.
"""

from __future__ import annotations

import datetime
import os
from typing import Unpack, cast

from ._archive import expired
from ._base import SharedFileHandler
from ._compose import BySize, ByTime, HandlerHooks, ledger_for
from ._compress import EXTENSIONS
from ._naming import check_fits
from ._policy import SizePolicy, TimePolicy
from ._schedule import ext_match, make_schedule
from ._settings import Options, Settings, check, count_arg, flag_arg, whole_arg
from ._system import REAL, System


def _extension(settings: Settings) -> str:
    return "" if settings.compress is None else EXTENSIONS[settings.compress]


class RotatingFileHandler(SharedFileHandler):
    """``logging.handlers.RotatingFileHandler`` that many processes can share.

    As in the stdlib, a rollover happens only when both ``maxBytes`` and ``backupCount`` are
    above zero; the file then rolls when the next record would take it past ``maxBytes``,
    judged by the shared file's real size, and backups are ``app.log.1`` (newest) to
    ``app.log.<backupCount>``.
    """

    _policy: SizePolicy

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
        system: System | None = None,
        **options: Unpack[Options],
    ) -> None:
        if mode != "a":
            raise ValueError(
                f"mode must be 'a', not {mode!r}: a shared log is only ever appended to, "
                "since 'w' would wipe the records of every other process"
            )
        max_bytes = count_arg("maxBytes", maxBytes, whole_floats=True)
        backup_count = count_arg("backupCount", backupCount)
        settings = check(filename, encoding, errors, **options)
        check_fits(settings.base_path, f".{backup_count}{_extension(settings)}")
        rotation = BySize(max_bytes, backup_count)
        super().__init__(settings, rotation, encoding, delay, errors, system or REAL)


class TimedRotatingFileHandler(SharedFileHandler):
    """``logging.handlers.TimedRotatingFileHandler`` that many processes can share.

    One deliberate difference from the stdlib: S, M, H and D boundaries are aligned to the
    clock (``when='H'`` rolls at every full hour, ``when='M', interval=5`` at :00, :05...),
    so processes started at different moments roll at the same instant. ``maxBytes`` adds a
    size limit within a period; every rotated file of one period gets its own name.
    Setting ``suffix`` (a strftime format of numeric directives) renames what follows.
    """

    _policy: TimePolicy

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
        system: System | None = None,
        **options: Unpack[Options],
    ) -> None:
        periods = whole_arg("interval", interval)
        schedule = make_schedule(when, periods, flag_arg("utc", utc), atTime)
        backup_count = count_arg("backupCount", backupCount)
        max_bytes = count_arg("maxBytes", maxBytes, whole_floats=True)
        settings = check(filename, encoding, errors, **options)
        # The label, with room for a counter of two digits (a second file of one period).
        check_fits(settings.base_path, f".{schedule.label(0)}.99{_extension(settings)}")
        self.when = schedule.when
        # The stdlib's value, N weeks for W0-W6 also where (before 3.13) it is not used.
        weeks = cast(int, periods)  # make_schedule refused anything but an int
        self.interval = schedule.grid * weeks if self.when.startswith("W") else schedule.length
        self.utc = schedule.utc
        self.atTime = atTime
        self.extMatch = ext_match(schedule)
        if self.when.startswith("W"):
            self.dayOfWeek = int(self.when[1])
        system = system or REAL
        rotation = ByTime(
            schedule,
            backup_count,
            max_bytes,
            ledger_for(settings, schedule, HandlerHooks(self), system),
        )
        super().__init__(settings, rotation, encoding, delay, errors, system)

    @property
    def suffix(self) -> str:
        """The strftime format of rotated names' labels (the stdlib's attribute)."""
        return self._policy.schedule.suffix

    @suffix.setter
    def suffix(self, value: str) -> None:
        schedule = self._policy.schedule.with_suffix(value)
        check_fits(self.baseFilename, f".{schedule.label(0)}.99{_extension(self._settings)}")
        self._policy.schedule = schedule
        self.extMatch = ext_match(schedule)

    @property
    def rolloverAt(self) -> int:
        """The next boundary (the stdlib's attribute)."""
        return self._policy.rollover_at

    @rolloverAt.setter
    def rolloverAt(self, value: int) -> None:
        self._policy.rollover_at = value

    def computeRollover(self, currentTime: float) -> int:
        """The first boundary after *currentTime* (the stdlib's hook)."""
        return self._policy.schedule.next_boundary(currentTime)

    def getFilesToDelete(self) -> list[str]:
        """The rotated files of this log beyond ``backupCount``, oldest first."""
        entries = self._core.archive.by_age()
        doomed = expired(entries, self.backupCount, None, None, 0.0)
        return [info.path for entry in doomed for info in entry.files]
