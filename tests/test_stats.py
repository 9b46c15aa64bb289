"""HandlerStats on its own: what one lock hold adds, the plain-values view, the sample cap."""

from __future__ import annotations

import json

import pytest

from lockrotate import HandlerStats

# (waited, held, rotated) for three holds, in seconds.
HOLDS = [(0.25, 0.5, False), (0.0, 0.125, True), (1.5, 0.0625, False)]


def test_a_new_stats_object_is_all_zero() -> None:
    stats = HandlerStats()
    values = stats.as_dict()
    assert {k: v for k, v in values.items() if not isinstance(v, list)} == dict.fromkeys(
        [
            "records",
            "bytes",
            "rollovers",
            "adopted",
            "lock_acquisitions",
            "lock_timeouts",
            "lock_wait_total",
            "lock_wait_max",
            "lock_held_max",
        ],
        0,
    )
    assert (values["lock_waits"], values["lock_holds"], values["rollover_holds"]) == ([], [], [])


def test_record_lock_adds_one_hold() -> None:
    stats = HandlerStats()
    for waited, held, rotated in HOLDS:
        stats.record_lock(waited, held, rotated)
    assert stats.lock_acquisitions == 3
    assert stats.lock_wait_total == 1.75
    assert stats.lock_wait_max == 1.5
    assert stats.lock_held_max == 0.5
    assert list(stats.lock_waits) == [0.25, 0.0, 1.5]
    assert list(stats.lock_holds) == [0.5, 0.125, 0.0625]
    # Only the hold in which this process rotated.
    assert list(stats.rollover_holds) == [0.125]
    # Taking the lock is not rolling over, and not timing out: those are counted elsewhere.
    assert (stats.rollovers, stats.lock_timeouts, stats.records) == (0, 0, 0)


def test_as_dict_is_plain_values_and_a_copy() -> None:
    stats = HandlerStats(records=7, bytes=700, rollovers=2, adopted=1, lock_timeouts=3)
    for waited, held, rotated in HOLDS:
        stats.record_lock(waited, held, rotated)
    values = stats.as_dict()
    assert json.loads(json.dumps(values)) == values
    assert (values["records"], values["bytes"], values["rollovers"]) == (7, 700, 2)
    assert (values["adopted"], values["lock_timeouts"], values["lock_acquisitions"]) == (1, 3, 3)
    assert values["lock_waits"] == [0.25, 0.0, 1.5]
    assert values["rollover_holds"] == [0.125]
    # Later holds do not change a dict already taken.
    stats.record_lock(9.0, 9.0, True)
    assert values["lock_waits"] == [0.25, 0.0, 1.5]
    assert values["lock_acquisitions"] == 3
    assert stats.as_dict()["lock_waits"] == [0.25, 0.0, 1.5, 9.0]


@pytest.mark.parametrize("rotated", [False, True])
def test_samples_keep_only_the_latest_4096(rotated: bool) -> None:
    """The cap the docstring states; the totals and maxima still count every hold."""
    cap = 4096
    stats = HandlerStats()
    extra = 100
    for n in range(cap + extra):
        stats.record_lock(float(n), float(n) / 2, rotated)
    kept = list(range(extra, cap + extra))
    assert list(stats.lock_waits) == [float(n) for n in kept]
    assert list(stats.lock_holds) == [n / 2 for n in kept]
    assert list(stats.rollover_holds) == ([n / 2 for n in kept] if rotated else [])
    assert stats.lock_acquisitions == cap + extra
    assert stats.lock_wait_total == sum(float(n) for n in range(cap + extra))
    assert stats.lock_wait_max == cap + extra - 1
    assert stats.lock_held_max == (cap + extra - 1) / 2
    assert len(stats.as_dict()["lock_waits"]) == cap  # type: ignore[arg-type]


def test_each_object_has_its_own_samples() -> None:
    first, second = HandlerStats(), HandlerStats()
    first.record_lock(0.5, 0.5, True)
    assert (list(second.lock_waits), list(second.rollover_holds)) == ([], [])


def test_repr_is_one_short_line_whatever_the_samples() -> None:
    stats = HandlerStats(records=7, bytes=700, rollovers=2)
    for _ in range(5000):
        stats.record_lock(0.001, 0.002, True)
    text = repr(stats)
    assert "\n" not in text
    assert len(text) < 250, text
    assert text.startswith("HandlerStats(records=7, bytes=700, rollovers=2, adopted=0, ")
    assert "lock_acquisitions=5000" in text
    assert "samples=4096" in text
    assert str(stats) == text
