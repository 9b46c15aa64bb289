"""The simulator's findings (docs/simulation.md, "What it found in lockrotate") that are
fixed: each replays the seed that showed it, with ``SIM_STRICT`` semantics (a known finding
is a violation), and the run must keep every guarantee."""

from __future__ import annotations

import pytest

from . import check
from .run import FAMILIES, Run
from .test_sim import SEED_STEPS


def replay(family: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check, "STRICT", True)
    result = Run(FAMILIES[family], seed, SEED_STEPS).go()
    assert result.violation is None, result.trace()
    assert result.excused == {}


@pytest.mark.parametrize(("family", "seed"), [("size", 3), ("size", 4)])
def test_finding_1_a_writer_after_its_own_failure_follows_the_rotation(
    family: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 1: a process whose rollover failed (waiting for its next try) appended to its
    old file for up to ``check_interval`` while the others rotated it out of the log: the
    seeds lost 3,771 and 1,544 records on the code before the fix."""
    replay(family, seed, monkeypatch)
