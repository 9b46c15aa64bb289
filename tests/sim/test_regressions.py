"""Defects fixed before, turned back on one at a time by a patch applied in the test: the
simulator must find each within its budget. Each test prints the seed and the steps it took
(``pytest tests/sim/test_regressions.py -s``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from lockrotate import _archive, _locks, _policy, _rollover

from .run import FAMILIES, Config, Family, Result, Run
from .shrink import kind, shrink

#: The most steps a defect may take to be found, over all the seeds tried.
BUDGET = 300_000
#: Steps each family first runs without the defect, to show the violation is the defect's.
CLEAN = 100_000
QUIET = frozenset({"thread", "process", "close"})  # chaos that causes no outage


@dataclass(frozen=True)
class Defect:
    name: str
    family: Family
    expect: str  # in the violation's message
    patch: Callable[[pytest.MonkeyPatch], None]
    seed_steps: int = 20_000  # a defect of a run's first moments is found by many short seeds


def hunt(defect: Defect, budget: int = BUDGET) -> tuple[Result | None, int, int]:
    """Seeds until one fails: (its result, seeds tried, steps in all)."""
    steps = 0
    seed = 0
    while steps < budget:
        seed += 1
        result = Run(defect.family, seed, min(defect.seed_steps, budget - steps)).go()
        steps += result.steps
        if result.violation is not None:
            return result, seed, steps
    return None, seed, steps


# 1. A compressed file compressed again (app.log.1.gz.gz): compression waits for every entry,
#    and finds a file by identity in its compressed copy too.
def _recompress(mp: pytest.MonkeyPatch) -> None:
    waiting, holding = _archive.Inventory.waiting, _archive.Inventory.holding

    def all_waiting(self: _archive.Inventory) -> list[_archive.Entry]:
        packed = [
            dataclasses.replace(entry, plain=entry.packed, packed=None)
            for entry in self.entries
            if entry.plain is None and entry.packed is not None
        ]
        return waiting(self) + packed

    def by_any_copy(self: _archive.Inventory, identity: tuple[int, int]) -> _archive.Entry | None:
        for entry in self.entries:
            packed = entry.packed
            if entry.plain is None and packed is not None and packed.identity == identity:
                return dataclasses.replace(entry, plain=packed, packed=None)
        return holding(self, identity)

    mp.setattr(_archive.Inventory, "waiting", all_waiting)
    mp.setattr(_archive.Inventory, "holding", by_any_copy)


# 2. A child forked (without Python's hooks) while another thread rolls over keeps the
#    parent's mutex and holder: its pid check notes the new pid but resets nothing.
def _no_reset(mp: pytest.MonkeyPatch) -> None:
    def note_pid_only(self: _rollover.Core) -> None:
        self.pid = self.system.getpid()

    mp.setattr(_rollover.Core, "after_fork", note_pid_only)


# 3. The first timed file dated by each process's own clock, not once under the lock.
def _own_clock(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(_policy.TimePolicy, "wants_lock_to_adopt", lambda self, file: False)


# 4. A child keeps its copy of the parent's lock descriptor: the lock outlives a killed holder.
def _keep_lock(mp: pytest.MonkeyPatch) -> None:
    def keep(self: _locks._DescriptorLock) -> None:
        self._waiter = None
        self._fd = -1  # forgotten, not closed

    mp.setattr(_locks._DescriptorLock, "_abandon", keep)


# 5. Retention orders dated files by label, which another time zone writes differently.
def _by_label(mp: pytest.MonkeyPatch) -> None:
    mp.setattr(_archive.Inventory, "by_age", lambda self, book=None: list(self.entries))


# 6. An overridden shouldRollover asked twice for one due record (the fast path's answer
#    forgotten on the slow path).
def _asked_twice(mp: pytest.MonkeyPatch) -> None:
    slow = _rollover.Core._slow

    def ask_again(self: _rollover.Core, data: bytes, due: bool | None, *rest: object) -> None:
        slow(self, data, None, *rest)  # type: ignore[arg-type]

    mp.setattr(_rollover.Core, "_slow", ask_again)


# 7. The deferred work (a dated log's retention, done after the lock) skipped when there is
#    no file to unlink: ``if not self._paths: return`` at the top of ``Trash.empty``, as the
#    merge of an early return with the deferred retention had it. Timed logs grow unpruned.
def _no_work_without_items(mp: pytest.MonkeyPatch) -> None:
    empty = _archive.Trash.empty

    def skip_work(self: _archive.Trash) -> None:
        if not self._items:
            self._work = []  # dropped: what the early return left undone for ever
            return
        empty(self)

    mp.setattr(_archive.Trash, "empty", skip_work)


SIZE = Config("size", max_bytes=700, backup=3)
DEFECTS = [
    Defect(
        "gz.gz",
        FAMILIES["compression"],
        "outside the scheme",
        _recompress,
    ),
    Defect(
        "fork mid-rollover",
        Family(
            "regress-fork",
            (dataclasses.replace(SIZE, max_bytes=300),),  # many rollovers to fork in
            40e-6,
            chaos=0.02,
            kinds=frozenset({"fork", "thread"}),
            python_forks=False,
        ),
        "nothing in the last",
        _no_reset,
    ),
    Defect(
        "own clock",
        Family(
            "regress-clock",
            (Config("time", backup=3),),
            2e-3,
            lock_timeout=5.0,
            kinds=QUIET,
            near_boundary=0.008,
        ),
        "whose period starts",
        _own_clock,
        seed_steps=2_000,
    ),
    Defect(
        "killed holder's lock",
        Family("regress-lock", (SIZE,), 40e-6, kinds=QUIET | {"fork", "kill"}, python_forks=True),
        "still held",
        _keep_lock,
    ),
    Defect(
        "retention by label",
        dataclasses.replace(FAMILIES["mixed-time"], name="regress-zone", kinds=QUIET),
        "retention removed",
        _by_label,
    ),
    Defect(
        "shouldRollover twice",
        Family("regress-hook", (dataclasses.replace(SIZE, hook=True),), 40e-6, kinds=QUIET),
        "asked twice",
        _asked_twice,
    ),
    Defect(
        "timed retention never run",
        dataclasses.replace(FAMILIES["time"], name="regress-prune"),
        "retention kept",
        _no_work_without_items,
    ),
]


@pytest.mark.parametrize("defect", DEFECTS, ids=[d.name for d in DEFECTS])
def test_the_simulator_finds(defect: Defect, monkeypatch: pytest.MonkeyPatch) -> None:
    clean, _, clean_steps = hunt(defect, CLEAN)
    assert clean is None, f"{defect.family.name} fails without the defect: {clean.trace()}"
    defect.patch(monkeypatch)
    found, seed, steps = hunt(defect)
    assert found is not None, f"{defect.name}: not found in {steps} steps ({seed} seeds)"
    assert defect.expect in str(found.violation), found.trace()
    print(
        f"{defect.name}: found at seed {seed}, step {found.steps} of it, {steps} steps in all "
        f"(clean: {clean_steps} steps without it): {str(found.violation)[:160]}"
    )


def test_a_failure_shrinks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A found defect shrinks to a run of fewer chaos actions and turns that still fails the
    same way, and that run replays from the seed and the chaos left out."""
    defect = next(d for d in DEFECTS if d.name == "killed holder's lock")
    defect.patch(monkeypatch)
    found, _, _ = hunt(defect)
    assert found is not None
    shrunk, disabled = shrink(found, budget=30.0, family=defect.family)
    assert kind(shrunk) == kind(found)
    assert len(shrunk.chaos) < len(found.chaos) and shrunk.turns <= found.turns
    again = Run(defect.family, found.seed, found.budget, disabled, shrunk.turns).go()
    assert str(again.violation) == str(shrunk.violation)
    print(f"shrunk from {len(found.chaos)} chaos actions, {found.turns} turns to "
          f"{len(shrunk.chaos)} and {shrunk.turns}:\n{shrunk.trace()}")  # fmt: skip
