"""The deterministic simulation of lockrotate's real handlers, one test per configuration.

Each runs seeds one after the other until it has made ``SIM_STEPS`` steps (calls into the
seam; 10^5 by default, the CI budget), checks every guarantee after every step and at the
end of each seed, and on a violation shrinks the run and fails with its seed, its trace and
the command that replays it. ``pytest tests/sim --sim-seed N`` runs seed N alone (with
``SIM_STEPS`` steps) and prints its trace; ``SIM_STEPS=10000000 pytest tests/sim -k test_family``
is the long run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from .run import FAMILIES, Result, Run
from .shrink import command, shrink

STEPS = int(os.environ.get("SIM_STEPS", "100000"))
#: Steps of one seed: long enough for hundreds of rollovers, short enough for many seeds.
SEED_STEPS = 25_000


def report(family: str, results: list[Result], seconds: float) -> str:
    steps = sum(r.steps for r in results)
    limits: Counter[str] = Counter()
    for r in results:
        limits.update(r.limits)
    allowed = ", ".join(f"{way}: {n}" for way, n in sorted(limits.items())) or "none"
    return (
        f"{family}: {len(results)} seeds, {steps} steps, {sum(r.turns for r in results)} turns, "
        f"{sum(r.records for r in results)} records, {sum(r.rollovers for r in results)} "
        f"rollovers in {seconds:.1f} s ({steps / seconds:.0f} steps/s); "
        f"limits: {allowed}"
    )


def fail_with(result: Result) -> None:
    shrunk, disabled = shrink(result)
    pytest.fail(
        f"{result.trace()}\n\nshrunk to {shrunk.turns} turns, {len(shrunk.chaos)} chaos "
        f"actions:\n{shrunk.trace()}\nreplay: {command(result, disabled)}",
        pytrace=False,
    )


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family(family: str, sim_seed: int | None) -> None:
    """Seeds of this configuration, to STEPS steps in all: no guarantee broken."""
    started = time.perf_counter()
    results: list[Result] = []
    seed = sim_seed if sim_seed is not None else 1
    while sum(r.steps for r in results) < STEPS:
        steps = STEPS if sim_seed is not None else SEED_STEPS
        result = Run(FAMILIES[family], seed, steps).go()
        results.append(result)
        if sim_seed is not None:
            print(result.trace(last=10**6))
        if result.violation is not None:
            fail_with(result)
        if sim_seed is not None:
            break
        seed += 1
    print(report(family, results, time.perf_counter() - started))


def test_a_seed_replays_exactly() -> None:
    """The same seed makes the same run, step for step: what replay and shrinking rest on."""
    family = FAMILIES["mixed"]
    first, second = (Run(family, 7, 5000).go() for _ in range(2))
    assert (first.steps, first.turns, first.records, first.rollovers) == (
        second.steps,
        second.turns,
        second.records,
        second.rollovers,
    )
    assert [str(c) for c in first.chaos] == [str(c) for c in second.chaos]
    assert str(first.violation) == str(second.violation)


def test_a_seed_replays_in_another_process() -> None:
    """Replay happens in a new process, with another string hash seed: the run is the same."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from sim.run import FAMILIES, Run; "
        "r = Run(FAMILIES['mixed-time'], 12, 25000).go(); "
        "print(r.steps, r.turns, r.records, r.rollovers, [str(c) for c in r.chaos])"
    )
    tests = str(Path(__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code, tests],
            env={**env, "PYTHONHASHSEED": str(hash_seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in (1, 2)
    }
    assert len(outputs) == 1, outputs


@pytest.mark.parametrize(("family", "seed"), [("size", 5), ("namer", 5), ("mixed", 17)])
def test_finding_9_a_killed_shift_never_misleads_retention(family: str, seed: int) -> None:
    """Finding 9 (docs/simulation.md): a holder killed mid-shift changed the chain's names
    without moving the base file, and the next rollover's survey (made before the lock)
    dropped a newer file. Each seed broke the retention check before the shift verified
    every file it moves."""
    result = Run(FAMILIES[family], seed, SEED_STEPS).go()
    if result.violation is not None:
        fail_with(result)
