"""Shrinking a failing run to the fewest chaos actions and scheduler turns that still fail
the same way.

Each chaos action is keyed by the scheduler turn it happened at, and drawn from a stream of
its own, so a run with some actions disabled keeps the others. The shrinker first cuts the run
at the failing turn, then drops chaos actions one at a time (keeping a drop when the same
violation still shows), then halves the turns while the violation still shows.
"""

from __future__ import annotations

import re
import time

from .run import FAMILIES, Family, Result, Run


def kind(result: Result) -> str:
    """The violation without its numbers: two runs fail "the same way" if these match."""
    return re.sub(r"[\d.]+", "N", str(result.violation))[:60]


def replay(
    family: Family, seed: int, steps: int, disabled: frozenset[int] = frozenset(),
    max_turns: int | None = None,
) -> Result:  # fmt: skip
    return Run(family, seed, steps, disabled, max_turns).go()


def shrink(
    failing: Result, budget: float = 60.0, family: Family | None = None
) -> tuple[Result, frozenset[int]]:
    """The smallest run found within *budget* seconds that fails as *failing* does, and the
    chaos turns it disables (*family*: the failing run's, if it is not one of FAMILIES)."""
    assert failing.violation is not None
    config = family if family is not None else FAMILIES[failing.family]
    deadline = time.monotonic() + budget
    want = kind(failing)
    best, disabled = failing, frozenset[int]()
    steps = failing.steps * 2 + 1000

    def still(trial: Result) -> bool:
        return trial.violation is not None and kind(trial) == want

    for chaos in sorted(failing.chaos, key=lambda c: -c.turn):
        if time.monotonic() > deadline:
            break
        trial = replay(config, failing.seed, steps, disabled | {chaos.turn}, best.turns)
        if still(trial):
            best, disabled = trial, disabled | {chaos.turn}
    turns = best.turns
    while turns > 1 and time.monotonic() < deadline:
        trial = replay(config, failing.seed, steps, disabled, turns // 2)
        if not still(trial):
            break
        best, turns = trial, trial.turns
    return best, disabled


def command(result: Result, disabled: frozenset[int]) -> str:
    """The command that replays *result*'s seed (the whole run, which fails the same way)."""
    shrunk = f" (shrunk: chaos of turns {sorted(disabled)} left out)" if disabled else ""
    node = f"tests/sim/test_sim.py::test_family[{result.family}]"
    return f'SIM_STEPS={result.budget} pytest "{node}" --sim-seed {result.seed}{shrunk}'
