"""The rollover protocol, driven with a fake policy and a real ``flock`` in a temporary folder:
each rollover happens once, a moved base file is adopted, and a child starts afresh."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import run_in_child
from lockrotate._archive import Inventory, Scheme
from lockrotate._compose import Hooks, compose
from lockrotate._errors import LockTimeout
from lockrotate._files import AppendFile, Identity
from lockrotate._naming import NumberedScheme
from lockrotate._outage import Outages
from lockrotate._rollover import Core, Discard
from lockrotate._settings import check
from lockrotate._system import REAL, System


@dataclass
class FakePolicy:
    """Rolls a non-empty file over when told to (``due_now``); moves the base file to
    ``<base>.<n>``; remembers each call."""

    base_path: str
    due_now: bool = False
    date_under_lock: bool = False
    rolls: bool = True
    kept_by_count: int = 0
    calls: list[tuple[str, object]] = field(default_factory=list)
    forks: int = 0
    moved: int = 0

    def scheme(self) -> Scheme:
        return NumberedScheme(self.base_path, 1000, None)

    def book(self) -> None:
        return None

    def due(self, file: AppendFile, nbytes: int, record: object = None) -> bool:
        return self.due_now

    def period_over(self) -> None:
        return None

    def wants_lock_to_adopt(self, file: AppendFile) -> bool:
        return self.date_under_lock

    def adopted(self, file: AppendFile, locked: bool) -> None:
        self.calls.append(("adopted", locked))

    def due_locked(self, file: AppendFile, nbytes: int) -> bool:
        self.calls.append(("due_locked", file.identity))
        return self.due_now and file.size() > 0

    def rotate_locked(self, file: AppendFile, inventory: Inventory, discard: Discard) -> None:
        self.calls.append(("rotate", [entry.slot for entry in inventory.entries]))
        self.moved += 1
        os.rename(self.base_path, f"{self.base_path}.{self.moved}")

    def created(self, file: AppendFile) -> None:
        self.calls.append(("created", file.identity))

    def after_fork(self) -> None:
        self.forks += 1

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


@dataclass
class Rig:
    coordinator: Core
    policy: FakePolicy
    reports: list[BaseException | None]
    warnings: list[str]


@dataclass
class FakeRotation:
    """Builds the fake policy, as ``BySize``/``ByTime`` build the real ones."""

    policy: FakePolicy

    def build(
        self, base_path: str, hooks: Hooks, outages: Outages, clock: object, system: System
    ) -> tuple[FakePolicy, FakePolicy]:
        return self.policy, self.policy


@dataclass
class RigHooks:
    """The handler's part: the stdlib's default hooks, and where failures go."""

    reports: list[BaseException | None]
    warnings: list[str]
    namer: None = None
    rotator: None = None

    def rotation_filename(self, default_name: str) -> str:
        return default_name

    def rotate(self, source: str, dest: str) -> None:
        os.rename(source, dest)

    def report(self, message: str) -> None:
        self.warnings.append(message)

    def failed(self, record: logging.LogRecord | None) -> None:
        self.reports.append(sys.exc_info()[1])


def make_rig(base: str, timeout: float = 5.0) -> Rig:
    """One handler's protocol in one process, built by the handlers' composition root
    (several rigs on one base act as processes: each has its own lock descriptor, and
    ``flock`` tells descriptors apart)."""
    policy = FakePolicy(base)
    reports: list[BaseException | None] = []
    warnings: list[str] = []
    settings = check(base, None, None, lock_timeout=timeout)
    core, _ = compose(settings, FakeRotation(policy), RigHooks(reports, warnings), REAL)
    return Rig(core, policy, reports, warnings)


@pytest.fixture
def base(tmp_path: Path) -> str:
    return str(tmp_path / "app.log")


@pytest.fixture
def rig(base: str) -> Iterator[Rig]:
    made = make_rig(base)
    yield made
    made.coordinator.close()


@contextlib.contextmanager
def held_elsewhere(lock_path: str) -> Iterator[None]:
    """Another open file description holds ``flock`` on the lock for the block."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write(rig: Rig, text: str) -> None:
    rig.coordinator.ensure_open().write(text.encode())


def read(path: str) -> str:
    return Path(path).read_text()


# One rollover ------------------------------------------------------------------------------


def test_a_due_file_is_rotated_once_and_a_new_one_created(rig: Rig, base: str) -> None:
    write(rig, "before\n")
    old = rig.coordinator.ensure_open().identity
    rig.policy.due_now = True
    fresh = rig.coordinator.roll(0)
    assert fresh is rig.coordinator.file
    assert fresh.identity != old
    assert fresh.is_current()
    assert read(base + ".1") == "before\n"
    assert read(base) == ""
    assert rig.policy.calls == [
        ("adopted", False),
        ("due_locked", old),
        ("rotate", []),
        ("created", fresh.identity),
    ]
    stats = rig.coordinator.stats
    assert (stats.rollovers, stats.adopted, stats.lock_acquisitions) == (1, 0, 1)
    assert len(stats.rollover_holds) == 1
    assert rig.reports == []


def test_two_processes_due_at_once_rotate_once(base: str) -> None:
    first, second = make_rig(base), make_rig(base)
    try:
        write(first, "first\n")
        write(second, "second\n")
        first.policy.due_now = second.policy.due_now = True
        first.coordinator.roll(0)
        # The second finds the base path naming another file: it adopts it, rotates nothing.
        file = second.coordinator.roll(0)
        assert file.identity == first.coordinator.ensure_open().identity
        assert "rotate" not in second.policy.names()
        assert (second.coordinator.stats.rollovers, second.coordinator.stats.adopted) == (0, 1)
        write(second, "after\n")
        assert read(base + ".1") == "first\nsecond\n"
        assert read(base) == "after\n"
        names = sorted(os.listdir(os.path.dirname(base)))
        assert names == [".app.log.lock", "app.log", "app.log.1"]
    finally:
        first.coordinator.close()
        second.coordinator.close()


def test_not_due_under_the_lock_is_not_rotated(rig: Rig, base: str) -> None:
    write(rig, "kept\n")
    rig.policy.due_now = False
    file = rig.coordinator.roll(0)
    assert file.is_current()
    assert rig.policy.names() == ["adopted", "due_locked"]
    assert rig.coordinator.stats.rollovers == 0
    assert sorted(os.listdir(os.path.dirname(base))) == [".app.log.lock", "app.log"]


def test_force_rotates_what_the_policy_would_not(rig: Rig, base: str) -> None:
    write(rig, "forced\n")
    rig.coordinator.roll(0, force=True)
    assert "due_locked" not in rig.policy.names()
    assert rig.policy.names().count("rotate") == 1
    assert read(base + ".1") == "forced\n"


def test_force_adopts_a_file_another_process_just_rotated(rig: Rig, base: str) -> None:
    """doRollover in two processes at once: the second adopts, never rotates a fresh file."""
    write(rig, "old\n")
    os.rename(base, base + ".1")
    Path(base).write_text("new\n")
    file = rig.coordinator.roll(0, force=True)
    assert file.is_current()
    assert "rotate" not in rig.policy.names()
    assert rig.coordinator.stats.adopted == 1
    assert sorted(os.listdir(os.path.dirname(base))) == [".app.log.lock", "app.log", "app.log.1"]
    assert read(base) == "new\n"


def test_follow_switches_to_what_the_base_path_names(rig: Rig, base: str) -> None:
    write(rig, "one\n")
    same = rig.coordinator.follow()
    assert rig.coordinator.stats.adopted == 0
    os.rename(base, base + ".moved")
    moved_away = same.identity
    file = rig.coordinator.follow()  # a missing base file is created
    assert file.identity != moved_away
    assert file.is_current()
    assert rig.coordinator.stats.adopted == 1
    write(rig, "two\n")
    assert read(base + ".moved") == "one\n"
    assert read(base) == "two\n"


def test_a_pipe_is_written_and_never_rotated(tmp_path: Path) -> None:
    fifo = str(tmp_path / "app.log")
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    rig = make_rig(fifo)
    try:
        rig.policy.due_now = True
        file = rig.coordinator.roll(0, force=True)
        assert not file.regular
        assert rig.coordinator.follow() is file
        file.write(b"through\n")
        assert os.read(reader, 100) == b"through\n"
        assert rig.policy.calls == []  # never dated, never asked, never rotated
        assert rig.coordinator.stats.rollovers == 0
        assert sorted(os.listdir(tmp_path)) == [".app.log.lock", "app.log"]
    finally:
        rig.coordinator.close()
        os.close(reader)


def test_a_failed_tidy_is_reported_and_the_rollover_stands(rig: Rig, base: str) -> None:
    def broken(rotated: Identity) -> None:
        raise OSError(5, "Input/output error")

    rig.coordinator.archive.tidy_locked = broken  # type: ignore[method-assign]
    write(rig, "old\n")
    rig.policy.due_now = True
    rig.coordinator.roll(0)
    rig.policy.due_now = True
    write(rig, "new\n")
    rig.coordinator.roll(0)
    assert rig.coordinator.stats.rollovers == 2
    assert [read(base + ".1"), read(base + ".2"), read(base)] == ["old\n", "new\n", ""]
    assert len(rig.reports) == 1  # one outage, one report
    assert isinstance(rig.reports[0], OSError)


# Dating a new file under the lock ----------------------------------------------------------


def test_a_file_nobody_dated_is_dated_under_the_lock(rig: Rig) -> None:
    rig.policy.date_under_lock = True
    rig.coordinator.ensure_open()
    assert rig.policy.calls == [("adopted", True)]
    assert rig.coordinator.stats.lock_acquisitions == 1


def test_dating_goes_on_without_the_lock_when_it_cannot_be_had(base: str) -> None:
    rig = make_rig(base, timeout=0.05)
    rig.policy.date_under_lock = True
    try:
        with held_elsewhere(rig.coordinator.lock.path):
            rig.coordinator.ensure_open()
        assert rig.policy.calls == [("adopted", False)]
        assert rig.coordinator.stats.lock_timeouts == 1
        assert [type(report) for report in rig.reports] == [LockTimeout]
    finally:
        rig.coordinator.close()


def test_a_lock_file_of_another_user_warns_once(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    lock_path = rig.coordinator.lock.path
    os.close(os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o644))
    owner = os.stat(lock_path).st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)
    for _ in range(3):
        with rig.coordinator.held():
            pass
    assert len(rig.warnings) == 1
    assert lock_path in rig.warnings[0]
    assert f"uid {owner}" in rig.warnings[0]
    assert rig.coordinator.stats.lock_acquisitions == 3


# The lock: threads, deadline, fork ---------------------------------------------------------


def test_threads_take_turns_and_see_who_holds(rig: Rig) -> None:
    coordinator = rig.coordinator
    seen: list[tuple[bool, bool]] = []
    with coordinator.held():
        assert coordinator.reentered()
        assert not coordinator.busy_elsewhere()
        other = threading.Thread(
            target=lambda: seen.append((coordinator.reentered(), coordinator.busy_elsewhere()))
        )
        other.start()
        other.join()
    assert seen == [(False, True)]
    assert not coordinator.reentered()
    assert not coordinator.busy_elsewhere()


def test_one_deadline_bounds_the_mutex_and_the_file_lock(base: str) -> None:
    """A thread of this process holds the mutex for most of the timeout, and another process
    holds the file lock: the wait ends at one timeout, not the sum of two."""
    timeout = 2.0
    rig = make_rig(base, timeout=timeout)
    coordinator = rig.coordinator
    try:
        with held_elsewhere(coordinator.lock.path):
            coordinator.mutex.acquire()
            release = threading.Timer(timeout * 0.75, coordinator.mutex.release)
            release.start()
            start = time.monotonic()
            with pytest.raises(LockTimeout), coordinator.held():
                pass
            waited = time.monotonic() - start
            release.join()
            assert timeout * 0.95 <= waited < timeout * 1.4, waited
            # Once the caller has marked the lock stuck, the next try does not wait at all.
            coordinator.backoff.failed(lock=True)
            start = time.monotonic()
            with pytest.raises(LockTimeout), coordinator.held():
                pass
            assert time.monotonic() - start < timeout / 4
        assert coordinator.stats.lock_timeouts == 2
        assert not coordinator.mutex.locked()
        # Free again: taken at once, and the stuck state is over.
        with coordinator.held():
            assert coordinator.reentered()
    finally:
        coordinator.close()


def test_a_held_mutex_alone_times_out_at_the_deadline(base: str) -> None:
    timeout = 0.3
    rig = make_rig(base, timeout=timeout)
    coordinator = rig.coordinator
    coordinator.mutex.acquire()
    try:
        start = time.monotonic()
        with pytest.raises(LockTimeout), coordinator.held():
            pass
        assert time.monotonic() - start >= timeout * 0.95
        assert coordinator.stats.lock_timeouts == 1
        # Marked stuck by the caller: a busy mutex does not make the next try wait either.
        coordinator.lock.timeout = timeout = 2.0
        coordinator.backoff.failed(lock=True)
        start = time.monotonic()
        with pytest.raises(LockTimeout), coordinator.held():
            pass
        assert time.monotonic() - start < timeout / 4
        assert coordinator.stats.lock_timeouts == 2
    finally:
        coordinator.mutex.release()
        coordinator.close()


def test_after_fork_the_child_holds_nothing_of_the_parents(rig: Rig, base: str) -> None:
    """Forked while another thread of the parent is inside the lock: the child has a free
    mutex, no holder, fresh counters, and no share in the parent's ``flock``."""
    coordinator = rig.coordinator
    write(rig, "parent\n")
    coordinator.roll(0, force=True)
    inside, leave = threading.Event(), threading.Event()

    def hold() -> None:
        with coordinator.held():
            inside.set()
            leave.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(30)
    assert coordinator.busy_elsewhere()
    coordinator.lock.timeout = 0.05

    def child() -> int:
        coordinator.check_fork()  # done already at fork: the one path runs once per child
        problems = []
        if coordinator.holder is not None or coordinator.busy_elsewhere():
            problems.append("holder")
        if coordinator.mutex.locked():
            problems.append("mutex")
        if coordinator.stats.rollovers != 0 or coordinator.stats.lock_acquisitions != 0:
            problems.append("stats")
        if rig.policy.forks != 1:
            problems.append("policy")
        try:
            with coordinator.held():
                problems.append("took the lock the parent holds")
        except LockTimeout:
            pass
        print(problems)
        return len(problems)

    try:
        assert run_in_child(child) == 0
    finally:
        leave.set()
        holder.join()
    assert rig.policy.forks == 0
    assert coordinator.stats.rollovers == 1
    # The parent's hold was never dropped by the child: it is still its own to release.
    assert not coordinator.mutex.locked()
    with coordinator.held():
        pass
