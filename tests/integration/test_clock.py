"""The clock jumps backwards and forwards (injected with ``clock=``) while processes write."""

from __future__ import annotations

import functools
import math
import multiprocessing
import os
from typing import Any

import pytest

import lockrotate

from ._fleet import Fleet
from ._support import check

pytestmark = pytest.mark.slow

# Offsets from a whole second, in the order the clock shows them.
JUMPS = [0.2, 1.3, 1.6, -3600.0, -3599.4, 1.5, 2.1, 7200.0, 2.4, -86400.0, 3.0, 3.2, 4.5]


def timed(clock: Any, path: str) -> lockrotate.TimedRotatingFileHandler:
    return lockrotate.TimedRotatingFileHandler(path, when="S", clock=lambda: clock.value)


def expected_rollovers(times: list[float]) -> int:
    """A file is rotated once when the clock enters a later second than its own;
    an earlier second adopts the file instead."""
    period, count = math.floor(times[0]), 0
    for t in times[1:]:
        if math.floor(t) > period:
            count += 1
        period = math.floor(t)
    return count


def test_clock_jumps_cause_no_storm_and_no_loss(folder: str, scratch: str) -> None:
    base = float(math.floor(1.7e9))
    times = [base + jump for jump in JUMPS]
    clock = multiprocessing.get_context("fork").RawValue("d", times[0])
    path = os.path.join(folder, "app.log")
    with Fleet(functools.partial(timed, clock), path, procs=3, scratch=scratch) as fleet:
        for step, now in enumerate(times):
            clock.value = now
            fleet.log(f"step{step}", 50)
        fleet.close()
        errors = fleet.errors()

    report = check("clock jumps", folder, "app.log", fleet.expected)
    assert report.ok, report.examples
    assert errors == [0, 0, 0]
    assert fleet.total("rollovers") == expected_rollovers(times)
    assert report.files == expected_rollovers(times) + 1
