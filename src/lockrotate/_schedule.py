"""When a timed log rolls over: boundaries that every process computes alike.

For S, M and H, a boundary is an instant whose wall-clock reading (local time unless
``utc``), counted from the epoch, is a whole multiple of the interval: every real hour of a
daylight-saving change is met once. For periods of whole days (D, midnight, W0-W6), a
boundary is the first instant at which the wall clock reads the rollover time (midnight or
``atTime``) on a day whose number since the epoch is aligned to the interval: once a
calendar day, whether that time is repeated or skipped by the change (skipped: the jump, or
from 3.13 that time read with the offset before the jump). Two processes started at
different moments therefore share every boundary.

Where the stdlib changed its meaning, the schedule follows the Python it runs on. Before 3.13,
``midnight`` with ``interval=N`` rolls every N days aligned as above, and ``W0``-``W6`` ignore
``interval``. From 3.13 both honour it as that handler does: a period starts at the
first rollover time (midnight or ``atTime``, on the weekday for ``W0``-``W6``) and lasts N days
or weeks of wall-clock time. Such periods are not aligned to the epoch; processes share them
through the period file, which records when the current one started.
"""

from __future__ import annotations

# time.strptime imports this module at its first call: a server that drops its privileges
# after importing lockrotate (gunicorn's workers, a setuid child) may no longer read it then.
import _strptime  # type: ignore[import-not-found]  # noqa: F401
import calendar
import dataclasses
import datetime
import math
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

DAY = 86400
_UNIT = {"S": 1, "M": 60, "H": 3600, "D": DAY, "MIDNIGHT": DAY}
_LABELS = {
    "S": ("%Y-%m-%d_%H-%M-%S", r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}"),
    "M": ("%Y-%m-%d_%H-%M", r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}"),
    "H": ("%Y-%m-%d_%H", r"\d{4}-\d{2}-\d{2}_\d{2}"),
    "D": ("%Y-%m-%d", r"\d{4}-\d{2}-\d{2}"),
}
_LONGEST = 100 * 366 * DAY
# strftime directives whose text strptime reads back, and what that text looks like.
_DIRECTIVES = {
    "Y": r"\d{4}",
    "y": r"\d{2}",
    "m": r"\d{2}",
    "d": r"\d{2}",
    "H": r"\d{2}",
    "M": r"\d{2}",
    "S": r"\d{2}",
    "j": r"\d{3}",
    "%": "%",
}
# Python 3.13's handler counts ``interval`` for ``midnight`` and ``W0``-``W6`` from the first
# rollover time after the file's start; earlier handlers ignore it there (3.11, 3.12: weekly;
# lockrotate before 3.13: ``midnight`` rolls every N days aligned to the epoch).
INTERVAL_FROM_FIRST_ROLLOVER = sys.version_info >= (3, 13)
# A rollover time that a daylight-saving jump skips: 3.13's handler rolls at that time read with
# the offset before the jump (2:30 becomes 3:30); earlier ones are off by the jump.
SKIPPED_TIME_BEFORE_JUMP = sys.version_info >= (3, 13)
# 1970-01-01 was a Thursday: W3 in the stdlib's numbering (W0 is Monday).
_EPOCH_WEEKDAY = 3

OffsetFn = Callable[[float], int]


def local_offset(t: float) -> int:
    """Seconds east of UTC of the local wall clock at instant *t*."""
    return time.localtime(t).tm_gmtoff


def utc_offset(t: float) -> int:
    return 0


@dataclass(frozen=True)
class TimeSchedule:
    """The boundaries of one ``when``/``interval``/``atTime``/``utc`` setting.

    ``length`` is a period's length and ``grid`` the spacing of the instants a period may
    start at: equal for aligned periods; on Python 3.13, ``midnight`` and ``W0``-``W6`` with an
    interval above 1 start on any day (or week) and last ``length``.
    """

    when: str
    length: int
    grid: int
    phase: int
    utc: bool
    suffix: str
    label_pattern: str

    @property
    def offset(self) -> OffsetFn:
        return utc_offset if self.utc else local_offset

    def next_boundary(self, t: float) -> int:
        """The first boundary strictly after *t*."""
        if self.length % DAY == 0:
            return self._next_day_boundary(t)
        offset = self.offset
        start = math.floor(t)
        before = offset(start)
        candidate = self._next_aligned(start, before)
        if offset(candidate) == before:
            return candidate
        change = self._change_between(start, candidate, before)
        return self._next_aligned(change - 1, offset(change))

    def period_start(self, t: float) -> int:
        """The last boundary at or before *t*: the start of the period *t* belongs to."""
        if self.length % DAY == 0:
            return self._day_period_start(t)
        offset = self.offset
        end = math.floor(t)
        now = offset(end)
        candidate = end - (end + now - self.phase) % self.length
        if offset(candidate) == now:
            return candidate
        change = self._change_between(candidate, end, offset(candidate))
        earlier = change - 1
        return earlier - (earlier + offset(earlier) - self.phase) % self.length

    def parse_label(self, label: str) -> float | None:
        """The instant a rotated file's *label* names, or None if it is no real date (such a
        name is not this log's)."""
        try:
            parsed = time.strptime(label, self.suffix)
        except ValueError:
            return None
        if self.utc:
            return float(calendar.timegm(parsed))
        try:
            return time.mktime(parsed)
        except (OverflowError, ValueError):
            return None

    @property
    def signature(self) -> str:
        """``WHEN/length/phase/utc|local``: what the period file records of the schedule that
        dated a file, so that a process configured otherwise can tell."""
        return f"{self.when}/{self.length}/{self.phase}/{'utc' if self.utc else 'local'}"

    @classmethod
    def from_signature(cls, signature: str) -> TimeSchedule | None:
        """The schedule a period file's *signature* was written with (labels as the
        stdlib's for its ``when``); None if it is not one."""
        try:
            when, length, phase, zone = signature.split("/")
            schedule = make_schedule(when, 1, zone == "utc", None)
            grid = int(length)
            if INTERVAL_FROM_FIRST_ROLLOVER and (when == "MIDNIGHT" or when.startswith("W")):
                grid = schedule.grid  # 3.13: such a period starts on any day (or week)
            return dataclasses.replace(schedule, length=int(length), grid=grid, phase=int(phase))
        except ValueError:
            return None

    def with_suffix(self, suffix: str) -> TimeSchedule:
        """The same boundaries, with rotated files labelled by the strftime format *suffix*."""
        return dataclasses.replace(self, suffix=suffix, label_pattern=label_regex(suffix))

    def label(self, period_start: int) -> str:
        """The date-and-time text a rotated file of that period carries (the stdlib's format)."""
        stamp = time.gmtime(period_start) if self.utc else time.localtime(period_start)
        return time.strftime(self.suffix, stamp)

    def _day_boundary(self, day: int) -> int:
        """The first instant the wall clock reads the rollover time on *day* (or after it)."""
        offset = self.offset
        wall = day * DAY + self.phase % DAY
        candidates = {wall - o for o in (offset(wall - DAY), offset(wall), offset(wall + DAY))}
        real = [t for t in candidates if t + offset(t) == wall]
        if real:
            return min(real)
        # The clock jumps over that time today: the jump itself is the boundary; from 3.13,
        # as that handler, the time read with the offset before the jump (2:30 is 3:30).
        low = min(candidates)
        if SKIPPED_TIME_BEFORE_JUMP:
            return wall - offset(low)
        return self._change_between(low, max(candidates), offset(low))

    def _wall_day(self, t: int) -> int:
        return (t + self.offset(t)) // DAY

    def _next_day_boundary(self, t: float) -> int:
        """The first start of a grid step after *t*, then (3.13) the rest of the period in
        wall-clock days: what the stdlib's ``computeRollover`` returns."""
        step = self.grid // DAY
        start = math.floor(t)
        day = self._wall_day(start) - 1
        day -= (day - self.phase // DAY) % step
        while (boundary := self._day_boundary(day)) <= t or (
            # 3.13, past a jump over the rollover time: that day's rollover was skipped.
            SKIPPED_TIME_BEFORE_JUMP and start + self.offset(start) >= day * DAY + self.phase % DAY
        ):
            day += step
        if self.grid == self.length:
            return boundary
        return self._day_boundary(day + (self.length - self.grid) // DAY)

    def _day_period_start(self, t: float) -> int:
        step = self.grid // DAY
        day = self._wall_day(math.floor(t)) + 1
        day -= (day - self.phase // DAY) % step
        while (boundary := self._day_boundary(day)) > t:
            day -= step
        return boundary

    def _next_aligned(self, t: int, offset: int) -> int:
        return t - (t + offset - self.phase) % self.length + self.length

    def _change_between(self, low: int, high: int, low_offset: int) -> int:
        """The first second in (low, high] whose offset differs from ``low_offset``."""
        offset = self.offset
        while high - low > 1:
            mid = (low + high) // 2
            if offset(mid) == low_offset:
                low = mid
            else:
                high = mid
        return high


def make_schedule(
    when: str, interval: object, utc: bool, at_time: datetime.time | None
) -> TimeSchedule:
    """Validate the stdlib's ``when``/``interval``/``atTime`` and build their schedule."""
    if not isinstance(when, str):
        raise TypeError(f"when must be a string such as 'H' or 'midnight', not {when!r}")
    if isinstance(interval, bool) or not isinstance(interval, int):
        raise TypeError(f"interval must be an int, not {interval!r}")
    if interval < 1:
        raise ValueError(f"interval must be at least 1, not {interval}")
    key = when.upper()
    phase = 0
    if key.startswith("W"):
        if len(key) != 2 or key[1] not in "0123456":
            raise ValueError(f"when={when!r}: a weekly rollover is 'W0' (Monday) to 'W6' (Sunday)")
        grid = 7 * DAY
        length = grid * interval if INTERVAL_FROM_FIRST_ROLLOVER else grid
        # As the stdlib: without atTime, at the midnight that ends the weekday.
        phase = (int(key[1]) - _EPOCH_WEEKDAY + (at_time is None)) % 7 * DAY
        label_key = "D"
    elif key in _UNIT:
        length = _UNIT[key] * interval
        grid = DAY if key == "MIDNIGHT" and INTERVAL_FROM_FIRST_ROLLOVER else length
        label_key = "D" if key == "MIDNIGHT" else key
    else:
        raise ValueError(f"when must be one of S, M, H, D, midnight or W0-W6, not {when!r}")
    if length > _LONGEST:
        raise ValueError(f"interval={interval} is too long: a period may last up to 100 years")
    # As the stdlib, atTime is ignored unless the rollover is at midnight or weekly.
    if at_time is not None and (key == "MIDNIGHT" or key.startswith("W")):
        if not isinstance(at_time, datetime.time):
            raise TypeError(f"atTime must be a datetime.time, not {at_time!r}")
        phase += at_time.hour * 3600 + at_time.minute * 60 + at_time.second
    suffix, pattern = _LABELS[label_key]
    return TimeSchedule(key, length, grid, phase, bool(utc), suffix, pattern)


def label_regex(suffix: str) -> str:
    """The regular expression of the labels the strftime format *suffix* produces.

    Only numeric directives are accepted: a label must read back as the date it was made
    from, or retention could not tell this log's files from others.
    """
    if not isinstance(suffix, str) or not suffix:
        raise TypeError(f"suffix must be a non-empty strftime format, not {suffix!r}")
    parts = []
    rest = iter(suffix)
    for char in rest:
        if char != "%":
            if char in "/\\\0":
                raise ValueError(f"suffix {suffix!r} would put {char!r} in a file name")
            parts.append(re.escape(char))
            continue
        directive = next(rest, "")
        if directive not in _DIRECTIVES:
            raise ValueError(
                f"suffix {suffix!r}: %{directive} cannot be read back from a file name; "
                f"use only %{', %'.join(d for d in _DIRECTIVES if d != '%')} and literal text"
            )
        parts.append(_DIRECTIVES[directive])
    return "".join(parts)


def ext_match(schedule: TimeSchedule) -> re.Pattern[str]:
    """The stdlib's ``extMatch``: what follows ``base.`` in a rotated file's name."""
    return re.compile(rf"^{schedule.label_pattern}(?:\.\d+)?$", re.ASCII)
