"""The time schedule: aligned boundaries every process computes alike, DST included."""

from __future__ import annotations

import calendar
import datetime
import itertools
import logging.handlers
import os
import tempfile
import time
from collections import Counter

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from conftest import NEW_YORK, local_zone
from lockrotate._schedule import (
    DAY,
    INTERVAL_FROM_FIRST_ROLLOVER,
    SKIPPED_TIME_BEFORE_JUMP,
    TimeSchedule,
    ext_match,
    make_schedule,
)

# Lord Howe Island moves its clock by half an hour: a shift that is not a whole hour.
LORD_HOWE = "LHST-10:30LHDT-11,M10.1.0,M4.1.0"
INDIA = "IST-5:30"
ZONES = ["UTC0", NEW_YORK, LORD_HOWE, INDIA]
WEEKLY = [f"W{day}" for day in range(7)]

instants = st.floats(min_value=946684800, max_value=2208988800, allow_nan=False)
at_times = st.none() | st.times().map(lambda t: t.replace(microsecond=0))


@st.composite
def schedules(draw: st.DrawFn) -> TimeSchedule:
    when = draw(st.sampled_from(["S", "M", "H", "D", "midnight", *WEEKLY]))
    interval = draw(st.integers(1, 12)) if not when.startswith("W") else 1
    at_time = draw(at_times) if when == "midnight" or when.startswith("W") else None
    return make_schedule(when, interval, draw(st.booleans()), at_time)


def local_ts(year: int, month: int, day: int, hour: int = 0) -> int:
    return int(time.mktime((year, month, day, hour, 0, 0, 0, 0, -1)))


def boundaries(schedule: TimeSchedule, start: float, end: float) -> list[int]:
    """Every boundary in [start, end), walked with next_boundary."""
    found = []
    t = schedule.next_boundary(start - 1)
    while t < end:
        found.append(t)
        t = schedule.next_boundary(t)
    return found


# Invariants, for every setting and time zone -------------------------------------------


@settings(max_examples=300, deadline=None)
@given(schedule=schedules(), t=instants, zone=st.sampled_from(ZONES), fraction=st.floats(0, 1))
def test_period_invariants(schedule: TimeSchedule, t: float, zone: str, fraction: float) -> None:
    with local_zone(zone):
        start = schedule.period_start(t)
        end = schedule.next_boundary(t)
        assert start <= t < end
        assert schedule.period_start(end) == end
        assert schedule.period_start(start) == start
        if schedule.grid != schedule.length:
            # 3.13's midnight/W0-W6 with an interval: a period starts on any day (or week) and
            # is shared through the period file; test_interval_counts_as_the_stdlib checks it.
            assert schedule.next_boundary(start) <= end
            return
        assert schedule.next_boundary(start) == end
        assert schedule.period_start(end - 1) == start
        # Another process, at another instant of the same period, sees the same period.
        other = start + fraction * (end - start)
        assume(other < end)
        assert schedule.period_start(other) == start
        assert schedule.next_boundary(other) == end


@settings(max_examples=200, deadline=None)
@given(t=instants, interval=st.integers(1, 30), zone=st.sampled_from([NEW_YORK, "UTC0", INDIA]))
def test_minutes_align_to_multiples_of_the_interval(t: float, interval: int, zone: str) -> None:
    with local_zone(zone):
        schedule = make_schedule("M", interval, False, None)
        start, end = schedule.period_start(t), schedule.next_boundary(t)
        for boundary in (start, end):
            wall = time.localtime(boundary)
            assert wall.tm_sec == 0
            minutes = (boundary + wall.tm_gmtoff) // 60
            assert minutes % interval == 0
        if interval in (5, 10, 15):
            assert time.localtime(end).tm_min % interval == 0


@settings(max_examples=200, deadline=None)
@given(t=instants, utc=st.booleans())
def test_hours_and_days_start_on_the_full_hour_and_midnight(t: float, utc: bool) -> None:
    with local_zone(NEW_YORK):
        convert = time.gmtime if utc else time.localtime
        hour = convert(make_schedule("H", 1, utc, None).next_boundary(t))
        assert (hour.tm_min, hour.tm_sec) == (0, 0)
        day = convert(make_schedule("D", 1, utc, None).next_boundary(t))
        assert (day.tm_hour, day.tm_min, day.tm_sec) == (0, 0, 0)


def test_five_minutes_fall_on_the_clock() -> None:
    schedule = make_schedule("M", 5, True, None)
    t = datetime.datetime(2024, 5, 6, 10, 3, 17, tzinfo=datetime.UTC).timestamp()
    after = [schedule.next_boundary(t)]
    for _ in range(3):
        after.append(schedule.next_boundary(after[-1]))
    assert [time.strftime("%H:%M:%S", time.gmtime(b)) for b in after] == [
        "10:05:00",
        "10:10:00",
        "10:15:00",
        "10:20:00",
    ]
    assert time.strftime("%H:%M:%S", time.gmtime(schedule.period_start(t))) == "10:00:00"


def test_local_time_unless_utc() -> None:
    with local_zone(INDIA):
        t = datetime.datetime(2024, 5, 6, 10, 3, tzinfo=datetime.UTC).timestamp()
        local = make_schedule("D", 1, False, None).next_boundary(t)
        utc = make_schedule("D", 1, True, None).next_boundary(t)
        assert time.strftime("%H:%M", time.localtime(local)) == "00:00"
        assert time.strftime("%H:%M", time.gmtime(utc)) == "00:00"
        assert utc - local == 5 * 3600 + 1800


# The same boundaries as the stdlib where the stdlib is aligned (midnight, W0-W6) -------


def stdlib_rollover(
    when: str, utc: bool, at_time: datetime.time | None, t: int, interval: int = 1
) -> int:
    path = os.path.join(tempfile.gettempdir(), "lockrotate-never-created.log")
    handler = logging.handlers.TimedRotatingFileHandler(
        path, when=when, interval=interval, utc=utc, atTime=at_time, delay=True
    )
    try:
        return handler.computeRollover(t)
    finally:
        handler.close()


@settings(max_examples=300, deadline=None)
@given(
    when=st.sampled_from(["midnight", *WEEKLY]),
    at_time=at_times,
    t=st.integers(946684800, 2208988800),
    utc=st.booleans(),
)
def test_midnight_and_weekdays_as_the_stdlib(
    when: str, at_time: datetime.time | None, t: int, utc: bool
) -> None:
    # A zone without daylight saving: there the stdlib's arithmetic is exact.
    with local_zone(INDIA):
        schedule = make_schedule(when, 1, utc, at_time)
        assume(schedule.period_start(t) != t)  # the stdlib rolls at once on a boundary
        assert schedule.next_boundary(t) == stdlib_rollover(when, utc, at_time, t)


@pytest.mark.skipif(
    not INTERVAL_FROM_FIRST_ROLLOVER, reason="before 3.13 the stdlib ignores interval there"
)
@settings(max_examples=300, deadline=None)
@given(
    when=st.sampled_from(["midnight", *WEEKLY]),
    interval=st.integers(2, 9),
    at_time=at_times,
    t=st.integers(946684800, 2208988800),
    utc=st.booleans(),
    zone=st.sampled_from(ZONES),
)
def test_interval_counts_as_the_stdlib(
    when: str, interval: int, at_time: datetime.time | None, t: int, utc: bool, zone: str
) -> None:
    """3.13: midnight and W0-W6 honour interval, counted from the next rollover time; the
    rotated file of a period is dated by its start, the stdlib's ``rolloverAt - interval``."""
    with local_zone(zone):
        schedule = make_schedule(when, interval, utc, at_time)
        assert schedule.length == schedule.grid * interval
        end = schedule.next_boundary(t)
        assume(abs(time.localtime(end).tm_gmtoff - time.localtime(t).tm_gmtoff) == 0)
        assert end == stdlib_rollover(when, utc, at_time, t, interval)
        start = schedule.period_start(t)
        assert start <= t < schedule.next_boundary(start)


# Daylight saving time -------------------------------------------------------------------


def test_hourly_meets_every_real_hour_once_in_the_fall_back_day(new_york: None) -> None:
    start, end = local_ts(2024, 11, 3), local_ts(2024, 11, 4)
    hours = boundaries(make_schedule("H", 1, False, None), start, end)
    assert end - start == 25 * 3600
    assert hours == list(range(start, end, 3600))


def test_hourly_meets_every_real_hour_once_in_the_spring_forward_day(new_york: None) -> None:
    start, end = local_ts(2024, 3, 10), local_ts(2024, 3, 11)
    hours = boundaries(make_schedule("H", 1, False, None), start, end)
    assert end - start == 23 * 3600
    assert hours == list(range(start, end, 3600))


@pytest.mark.parametrize(("when", "step"), [("S", 1), ("M", 60), ("M", 300), ("H", 3600)])
def test_short_periods_are_evenly_spaced_through_the_changes(
    new_york: None, when: str, step: int
) -> None:
    schedule = make_schedule(when, step // {"S": 1, "M": 60, "H": 3600}[when], False, None)
    for day in ((2024, 3, 10), (2024, 11, 3)):
        start = local_ts(*day, hour=1)
        found = boundaries(schedule, start, start + 3 * 3600)
        assert found == list(range(start, start + 3 * 3600, step))


@pytest.mark.parametrize("when", ["D", "midnight"])
def test_daily_meets_each_local_midnight_once(new_york: None, when: str) -> None:
    start, end = local_ts(2024, 1, 1), local_ts(2025, 1, 1)
    days = boundaries(make_schedule(when, 1, False, None), start, end)
    assert len(days) == 366
    for boundary in days:
        wall = time.localtime(boundary)
        assert (wall.tm_hour, wall.tm_min, wall.tm_sec) == (0, 0, 0)


def wall_reaches(date: datetime.date, at: datetime.time) -> int:
    """The first instant at which the local clock reads *at* on *date*, or later that day
    (before Python 3.13)."""
    target = (date.year, date.month, date.day, at.hour, at.minute, at.second)
    t = local_ts(date.year, date.month, date.day) - 3 * 3600
    for step in (60, 1):
        while time.localtime(t + step)[:6] < target:
            t += step
    t = t + 1 if time.localtime(t)[:6] < target else t
    if SKIPPED_TIME_BEFORE_JUMP and time.localtime(t)[:6] != target:
        # Skipped by a jump: from 3.13, that time read with the offset before the jump.
        return calendar.timegm((*target, 0, 0, 0)) - time.localtime(t - 1).tm_gmtoff
    return t


@pytest.mark.parametrize(
    "at_time",
    [
        datetime.time(0, 30),
        datetime.time(1, 30),  # happens twice on the fall-back day
        datetime.time(2, 30),  # never happens on the spring-forward day
        datetime.time(12, 0),
        datetime.time(23, 59, 59),
    ],
)
def test_daily_at_time_once_a_day_through_the_changes(
    new_york: None, at_time: datetime.time
) -> None:
    schedule = make_schedule("midnight", 1, False, at_time)
    first = datetime.date(2024, 1, 1)
    expected = [wall_reaches(first + datetime.timedelta(days=n), at_time) for n in range(366)]
    found = boundaries(schedule, expected[0], expected[-1] + 1)
    per_day = Counter(time.strftime("%Y-%m-%d", time.localtime(b)) for b in found)
    days = [(first + datetime.timedelta(days=n)).isoformat() for n in range(366)]
    assert [day for day in days if per_day[day] != 1] == []
    assert found == expected


@pytest.mark.parametrize("day", range(7))
def test_weekly_once_a_week_on_its_weekday(new_york: None, day: int) -> None:
    schedule = make_schedule(f"W{day}", 1, False, datetime.time(6, 15))
    weeks = boundaries(schedule, local_ts(2024, 1, 1), local_ts(2025, 1, 1))
    assert len(weeks) in (52, 53)
    for boundary in weeks:
        wall = time.localtime(boundary)
        assert (wall.tm_wday, wall.tm_hour, wall.tm_min) == (day, 6, 15)
    assert all(abs(b - a - 7 * DAY) <= 3600 for a, b in itertools.pairwise(weeks))


def test_weekly_without_at_time_rolls_at_the_midnight_ending_its_weekday() -> None:
    """The stdlib's W0 (atTime=None) rolls when Monday ends: at 00:00 on Tuesday."""
    schedule = make_schedule("W0", 1, True, None)
    saturday = datetime.datetime(2024, 6, 1, 12, tzinfo=datetime.UTC).timestamp()
    rollover = datetime.datetime.fromtimestamp(schedule.next_boundary(saturday), datetime.UTC)
    assert rollover == datetime.datetime(2024, 6, 4, tzinfo=datetime.UTC)


# Labels: the stdlib's suffixes ------------------------------------------------------------


@pytest.mark.parametrize("when", ["S", "M", "H", "D", "midnight", "W0", "W6"])
@pytest.mark.parametrize("utc", [False, True])
def test_label_is_the_stdlib_suffix(new_york: None, when: str, utc: bool) -> None:
    path = os.path.join(tempfile.gettempdir(), "lockrotate-never-created.log")
    stdlib = logging.handlers.TimedRotatingFileHandler(path, when=when, utc=utc, delay=True)
    stdlib.close()
    schedule = make_schedule(when, 1, utc, None)
    assert schedule.suffix == stdlib.suffix
    start = schedule.period_start(1730617200.5)  # during the repeated hour of 2024-11-03
    stamp = time.gmtime(start) if utc else time.localtime(start)
    label = schedule.label(start)
    assert label == time.strftime(stdlib.suffix, stamp)
    assert ext_match(schedule).match(label)
    assert ext_match(schedule).match(label + ".3")
    assert stdlib.extMatch.match(label)
    assert not ext_match(schedule).match(label + ".bak")


def test_labels() -> None:
    t = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC).timestamp()
    labels = {when: make_schedule(when, 1, True, None).label(int(t)) for when in "SMHD"}
    assert labels == {
        "S": "2024-01-02_03-04-05",
        "M": "2024-01-02_03-04",
        "H": "2024-01-02_03",
        "D": "2024-01-02",
    }


# Validation -------------------------------------------------------------------------------


@pytest.mark.parametrize("when", ["X", "W7", "W", "W10", "", "hourly"])
def test_unknown_when(when: str) -> None:
    with pytest.raises(ValueError, match="when"):
        make_schedule(when, 1, False, None)


@pytest.mark.parametrize("interval", [0, -1])
def test_interval_below_one(interval: int) -> None:
    with pytest.raises(ValueError, match="interval"):
        make_schedule("H", interval, False, None)


@pytest.mark.parametrize("when", ["S", "M", "H", "D"])
def test_at_time_is_ignored_unless_midnight_or_a_weekday(when: str) -> None:
    """As the stdlib (3.11 to 3.13) does."""
    assert make_schedule(when, 1, False, datetime.time(1)) == make_schedule(when, 1, False, None)


@pytest.mark.parametrize(
    ("when", "interval", "at_time", "name"),
    [
        (1, 1, None, "when"),
        ("H", 1.5, None, "interval"),
        ("H", "1", None, "interval"),
        ("H", True, None, "interval"),
        ("midnight", 1, "01:00", "atTime"),
    ],
)
def test_bad_types(when: object, interval: object, at_time: object, name: str) -> None:
    with pytest.raises(TypeError, match=name):
        make_schedule(when, interval, False, at_time)  # type: ignore[arg-type]


def test_case_insensitive_when() -> None:
    assert make_schedule("midnight", 1, False, None) == make_schedule("MIDNIGHT", 1, False, None)
    assert make_schedule("w2", 1, False, None).when == "W2"


@pytest.mark.parametrize("when", ["W0", "W6", "midnight"])
def test_interval_of_whole_day_periods_follows_this_python(when: str) -> None:
    """3.13's handler rolls W0-W6 every N weeks and midnight every N days, counted from the
    next rollover time; before, W0-W6 ignore interval (lockrotate's midnight: N aligned days)."""
    unit = 7 * DAY if when.startswith("W") else DAY
    schedule = make_schedule(when, 3, True, None)
    t = 1_717_243_200  # 2024-06-01 12:00 UTC, a Saturday
    start = schedule.period_start(t)
    if INTERVAL_FROM_FIRST_ROLLOVER:
        assert schedule.next_boundary(start) - start == 3 * unit
        assert schedule.next_boundary(t) == stdlib_rollover(when, True, None, t, 3)
    elif when.startswith("W"):
        assert schedule.next_boundary(start) - start == unit
    else:
        assert schedule.next_boundary(start) - start == 3 * DAY
        assert start % (3 * DAY) == 0  # aligned to the epoch


@pytest.mark.parametrize(
    ("when", "interval", "at_time"),
    [("S", 5, None), ("H", 3, None), ("D", 2, None), ("midnight", 3, datetime.time(2)),
     ("W2", 2, None), ("W6", 1, datetime.time(6, 15))],
)  # fmt: skip
def test_a_signature_reads_back_as_its_schedule(
    when: str, interval: int, at_time: datetime.time | None
) -> None:
    schedule = make_schedule(when, interval, False, at_time)
    assert TimeSchedule.from_signature(schedule.signature) == schedule
