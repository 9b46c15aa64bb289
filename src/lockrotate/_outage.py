"""Failures while logging: reported once per outage, and tried again without stalling.

Logging must go on through a failed rollover, a lost base path or a lock that another process
keeps: records still go to the current file. An outage is one report, not one per record,
and it is over when every kind of step that failed has succeeded again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, Literal

from ._system import REAL, System

Kind = Literal["open", "follow", "roll", "lock", "write", "period", "tidy"]

FIRST_RETRY: Final = 1.0
LONGEST_RETRY: Final = 2.0


class Outages:
    """Which kinds of step are failing now; the first failure of an outage is reported.

    ``record`` is the record being written, if any: the report carries it.
    """

    def __init__(
        self, report: Callable[[logging.LogRecord | None], None], system: System = REAL
    ) -> None:
        self._report = report
        self._system = system
        self.failing: set[Kind] = set()
        self.record: logging.LogRecord | None = None
        self._mutex = system.mutex()

    def failed(self, kind: Kind) -> None:
        """Call from an ``except`` block: *report* sees the exception being handled."""
        with self._mutex:
            first = not self.failing
            self.failing.add(kind)
        if first:
            self._report(self.record)

    def ok(self, kind: Kind) -> None:
        if self.failing:
            with self._mutex:
                self.failing.discard(kind)

    def after_fork(self) -> None:
        self.failing = set()
        self.record = None
        self._mutex = self._system.mutex()


class Backoff:
    """When a failed rollover is tried again.

    Each failure pushes the next try further out, counted from the end of the failed attempt
    (1 s, then every 2 s), but no further than the end of the time period it happened in: a
    timed log's due rollover is tried again as the next period begins, so that a failure
    files only the records of its own period in an older file. After the lock could not be
    had in time, later tries do not wait for it at all: they take it only if it is free, so
    that a lock held forever costs the application one ``lock_timeout`` in all, not one per
    try.
    """

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self.next_try = 0.0
        self.pause = 0.0
        self.lock_stuck = False
        #: Whether the period of the last failure has ended (None: no periods).
        self.period_over: Callable[[], bool] | None = None

    def ready(self) -> bool:
        if self._monotonic() >= self.next_try:
            return True
        over = self.period_over
        return over is not None and over()

    def deadline(self, timeout: float) -> float:
        """The deadline for taking the lock now: none to wait while it is stuck."""
        now = self._monotonic()
        return now if self.lock_stuck else now + timeout

    def failed(self, lock: bool = False, period_over: Callable[[], bool] | None = None) -> None:
        """*period_over*: the trigger's test of whether the period now current has ended."""
        self.period_over = period_over
        self.pause = min(max(FIRST_RETRY, self.pause * 2), LONGEST_RETRY)
        self.next_try = self._monotonic() + self.pause
        self.lock_stuck = self.lock_stuck or lock

    def succeeded(self) -> None:
        self.pause = 0.0
        self.next_try = 0.0
        self.lock_stuck = False
        self.period_over = None
