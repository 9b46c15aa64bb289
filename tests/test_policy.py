"""Policies: when a file is due, what its rotated copy is called, and the period ledger that
dates each timed file once for every process."""

from __future__ import annotations

import errno
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import FakeClock
from lockrotate._archive import Inventory
from lockrotate._files import AppendFile, Identity
from lockrotate._ledger import PeriodLedger
from lockrotate._naming import Namer
from lockrotate._outage import Outages
from lockrotate._permissions import Permissions
from lockrotate._policy import BOOK_PATIENCE, SizePolicy, Terms, TimePolicy
from lockrotate._schedule import make_schedule
from lockrotate._system import System

MINUTE = make_schedule("M", 1, True, None)
# A minute boundary (28,333,333 whole minutes after the epoch) and the labels of its minutes.
T0 = 1_699_999_980
LABEL_T0 = "2023-11-14_22-13"
LABEL_BEFORE = "2023-11-14_22-12"
SIGNATURE = "M/60/0/utc"


class Hooks:
    """The handler's ``namer`` and ``rotate``, as the stdlib's defaults."""

    namer: Namer | None = None

    def rotation_filename(self, default_name: str) -> str:
        return default_name if self.namer is None else self.namer(default_name)

    def rotate(self, source: str, dest: str) -> None:
        if os.path.lexists(dest):
            raise FileExistsError(dest)
        os.rename(source, dest)


@pytest.fixture
def base(tmp_path: Path) -> str:
    return str(tmp_path / "app.log")


@pytest.fixture
def file(base: str) -> Iterator[AppendFile]:
    opened = AppendFile(base)
    yield opened
    opened.close()


def names(folder: str) -> list[str]:
    return sorted(os.listdir(folder))


# Size ---------------------------------------------------------------------------------------


def test_size_rolls_only_with_both_limits(file: AppendFile) -> None:
    file.write(b"x" * 60)
    assert SizePolicy(file.path, 100, 3, Hooks()).due(file, 41)
    assert not SizePolicy(file.path, 0, 3, Hooks()).due(file, 41)
    assert not SizePolicy(file.path, 100, 0, Hooks()).due(file, 41)
    assert SizePolicy(file.path, 100, 3, Hooks()).kept_by_count == 0
    # The stdlib's shouldRollover answers by size alone (its rollover with backupCount=0 only
    # reopens the file).
    assert SizePolicy(file.path, 100, 0, Hooks()).hook_due(file, 41)
    assert not SizePolicy(file.path, 0, 3, Hooks()).hook_due(file, 41)


def test_size_due_when_the_next_record_would_pass_the_limit(file: AppendFile) -> None:
    policy = SizePolicy(file.path, 100, 3, Hooks())
    assert not policy.due(file, 10_000)  # an empty file takes any record
    file.write(b"x" * 60)
    assert not policy.due(file, 40)  # exactly full
    assert policy.due(file, 41)
    assert policy.due_locked(file, 41)
    # Another process's writes count: the size is the shared file's.
    other = AppendFile(file.path)
    other.write(b"y" * 40)
    other.close()
    assert policy.due(file, 1)
    assert not SizePolicy(file.path, 100, 0, Hooks()).due(file, 1)
    assert not SizePolicy(file.path, 0, 3, Hooks()).due(file, 1)


def size_inventory(policy: SizePolicy, extensions: tuple[str, ...] = ()) -> Inventory:
    folder = os.path.dirname(policy.base_path)
    return Inventory.scan(policy.base_path, policy.scheme(), extensions, os.listdir(folder))


def plant(folder: Path, *found: str) -> None:
    for name in found:
        (folder / name).write_text(f"was {name}\n")


def discarding(dropped: list[str]) -> Callable[[str], None]:
    """As the archive's trash: the file leaves its name at once; *dropped* lists it."""

    def discard(path: str) -> None:
        dropped.append(path)
        os.remove(path)

    return discard


def test_size_rotation_shifts_and_drops_the_oldest(tmp_path: Path, file: AppendFile) -> None:
    plant(tmp_path, "app.log.1", "app.log.2", "app.log.3", "app.log.bak")
    file.write(b"current\n")
    policy = SizePolicy(file.path, 10, 3, Hooks())
    dropped: list[str] = []
    policy.rotate_locked(file, size_inventory(policy), discarding(dropped))
    assert dropped == [str(tmp_path / "app.log.3")]
    assert names(str(tmp_path)) == ["app.log.1", "app.log.2", "app.log.3", "app.log.bak"]
    assert (tmp_path / "app.log.1").read_text() == "current\n"
    assert (tmp_path / "app.log.2").read_text() == "was app.log.1\n"
    assert (tmp_path / "app.log.3").read_text() == "was app.log.2\n"


def test_size_rotation_closes_a_gap_left_by_a_crash(tmp_path: Path, file: AppendFile) -> None:
    plant(tmp_path, "app.log.1", "app.log.2", "app.log.4")
    file.write(b"current\n")
    policy = SizePolicy(file.path, 10, 5, Hooks())
    dropped: list[str] = []
    policy.rotate_locked(file, size_inventory(policy), discarding(dropped))
    assert dropped == []
    contents = [(tmp_path / f"app.log.{i}").read_text() for i in range(1, 5)]
    assert contents == ["current\n", "was app.log.1\n", "was app.log.2\n", "was app.log.4\n"]


def test_size_rotation_moves_compressed_copies_along(tmp_path: Path, file: AppendFile) -> None:
    plant(tmp_path, "app.log.1.gz", "app.log.2", "app.log.2.gz", "app.log.3.gz")
    file.write(b"current\n")
    policy = SizePolicy(file.path, 10, 3, Hooks())
    dropped: list[str] = []
    policy.rotate_locked(file, size_inventory(policy, (".gz",)), discarding(dropped))
    assert dropped == [str(tmp_path / "app.log.3.gz")]
    assert names(str(tmp_path)) == ["app.log.1", "app.log.2.gz", "app.log.3", "app.log.3.gz"]
    assert (tmp_path / "app.log.2.gz").read_text() == "was app.log.1.gz\n"
    assert (tmp_path / "app.log.3").read_text() == "was app.log.2\n"


# Time ---------------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.reports: list[BaseException | None] = []
        self.warnings: list[str] = []
        self.outages = Outages(lambda record: self.reports.append(sys.exc_info()[1]))


def ledger_for(
    base: str, signature: str = SIGNATURE, warnings: list[str] | None = None
) -> PeriodLedger:
    folder, name = os.path.split(base)
    warn = (warnings if warnings is not None else []).append
    return PeriodLedger(
        os.path.join(folder, f".{name}.period"), Permissions(), 0o600, signature, warn
    )


def time_policy(
    base: str, clock: FakeClock, recorder: Recorder, max_bytes: int = 0, backup_count: int = 0
) -> TimePolicy:
    return TimePolicy(
        base,
        MINUTE,
        backup_count,
        max_bytes,
        ledger_for(base),
        Hooks(),
        clock,
        recorder.outages,
        recorder.warnings.append,
    )


def test_time_policy_starts_in_the_clocks_period(base: str) -> None:
    policy = time_policy(base, FakeClock(T0 + 59.5), Recorder(), backup_count=4)
    assert policy.period == T0
    assert policy.rollover_at == T0 + 60
    assert policy.kept_by_count == 4


def test_time_due_at_the_boundary_or_when_the_clock_goes_back(file: AppendFile) -> None:
    clock = FakeClock(T0 + 1)
    policy = time_policy(file.path, clock, Recorder())
    assert not policy.due(file, 10)
    clock.now = T0 + 59.999
    assert not policy.due(file, 10)
    clock.now = T0 + 60
    assert policy.due(file, 10)
    clock.now = T0 - 0.5
    assert policy.due(file, 10)


def test_time_due_by_size_within_a_period(file: AppendFile) -> None:
    policy = time_policy(file.path, FakeClock(T0 + 1), Recorder(), max_bytes=50)
    file.write(b"z" * 40)
    assert not policy.due(file, 10)
    assert policy.due(file, 11)


def outside(terms: Terms, file: AppendFile, nbytes: int) -> bool:
    """A record is due by *terms* as their docstring reads (``Core.write`` tests them so)."""
    if terms.clock is not None and not terms.since <= terms.clock() < terms.until:
        return True
    size = file.size()
    return terms.limit is not None and size > 0 and size + nbytes > terms.limit


@pytest.mark.parametrize("written", [0, 40, 50])
def test_the_terms_are_the_triggers_due_as_data(file: AppendFile, written: int) -> None:
    """The fast path tests a policy's ``terms`` instead of calling its ``due``: the two agree
    for size, time, and time with size, at and around the limits and the boundaries."""
    file.write(b"z" * written)
    clock = FakeClock(T0 + 1)
    policies: list[SizePolicy | TimePolicy] = [
        SizePolicy(file.path, max_bytes, keep, Hooks())
        for max_bytes in (0, 50, 100)
        for keep in (0, 3)
    ]
    policies += [time_policy(file.path, clock, Recorder(), max_bytes=m) for m in (0, 50)]
    for now in (T0 + 1, T0 + 59.999, T0 + 60, T0 - 0.5):
        clock.now = now
        for policy in policies:
            for nbytes in (1, 10, 11, 100):
                assert policy.due(file, nbytes) == outside(policy.terms(), file, nbytes)


def test_a_new_file_is_recorded_with_its_period(base: str, file: AppendFile) -> None:
    clock = FakeClock(T0 + 61)
    policy = time_policy(base, clock, Recorder())
    policy.created(file)
    assert ledger_for(base).read() == (file.identity, T0 + 60, SIGNATURE)
    assert policy.period == T0 + 60
    assert policy.rollover_at == T0 + 120
    assert not policy.wants_lock_to_adopt(file)


def test_an_undated_file_is_dated_by_its_last_write_and_recorded_under_the_lock(
    base: str, file: AppendFile
) -> None:
    file.write(b"written a minute ago\n")
    os.utime(base, (T0 - 30, T0 - 30))
    recorder = Recorder()
    policy = time_policy(base, FakeClock(T0 + 5), recorder)
    assert policy.wants_lock_to_adopt(file)
    policy.adopted(file, locked=False)
    assert policy.period == T0 - 60
    assert ledger_for(base).read() is None  # without the lock, nothing is recorded
    policy.adopted(file, locked=True)
    assert ledger_for(base).read() == (file.identity, T0 - 60, SIGNATURE)
    assert not policy.wants_lock_to_adopt(file)
    # Another process trusts the ledger over its own reading of the mtime.
    os.utime(base, (T0 + 2, T0 + 2))
    other = time_policy(base, FakeClock(T0 + 5), recorder)
    other.adopted(file, locked=False)
    assert other.period == T0 - 60
    assert other.due(file, 1)
    assert recorder.reports == recorder.warnings == []


def test_an_empty_undated_file_belongs_to_the_current_period(base: str, file: AppendFile) -> None:
    os.utime(base, (T0 - 600, T0 - 600))
    policy = time_policy(base, FakeClock(T0 + 5), Recorder())
    policy.adopted(file, locked=True)
    assert policy.period == T0
    assert ledger_for(base).read() == (file.identity, T0, SIGNATURE)


def test_a_future_period_in_the_ledger_is_not_believed(base: str, file: AppendFile) -> None:
    ledger_for(base).write(file.identity, T0 + 3600)
    file.write(b"x\n")
    os.utime(base, (T0 - 30, T0 - 30))
    policy = time_policy(base, FakeClock(T0 + 5), Recorder())
    assert policy.wants_lock_to_adopt(file)
    policy.adopted(file, locked=False)
    assert policy.period == T0 - 60


def test_a_file_written_before_its_recorded_period_is_dated_by_its_mtime(
    base: str, file: AppendFile
) -> None:
    """A restore or ``touch -d`` set the time back: as the stdlib, the mtime dates the file
    (CPython 3.13's test_rollover_at_midnight does this), so it rolls over at once."""
    ledger_for(base).write(file.identity, T0)
    file.write(b"x\n")
    os.utime(base, (T0 - 1, T0 - 1))
    policy = time_policy(base, FakeClock(T0 + 5), Recorder())
    assert policy.wants_lock_to_adopt(file)
    policy.adopted(file, locked=True)
    assert policy.period == T0 - 60
    assert ledger_for(base).read() == (file.identity, T0 - 60, SIGNATURE)
    assert policy.due(file, 1)


def test_another_files_entry_is_not_believed(base: str, file: AppendFile) -> None:
    other: Identity = (file.identity[0], file.identity[1] + 1)
    ledger_for(base).write(other, T0 - 600)
    file.write(b"x\n")
    policy = time_policy(base, FakeClock(T0 + 5), Recorder())
    assert policy.wants_lock_to_adopt(file)
    policy.adopted(file, locked=False)
    assert policy.period == T0


def test_an_entry_of_another_configuration_warns_once(base: str, file: AppendFile) -> None:
    ledger_for(base, signature="H/3600/0/utc").write(file.identity, T0 - 60)
    recorder = Recorder()
    policy = time_policy(base, FakeClock(T0 + 5), recorder)
    for _ in range(3):
        policy.adopted(file, locked=False)
        assert policy.period == T0 - 60  # the period is still believed
    assert len(recorder.warnings) == 1
    assert "H/3600/0/utc" in recorder.warnings[0]
    assert SIGNATURE in recorder.warnings[0]
    ledger_for(base, signature="D/86400/0/utc").write(file.identity, T0 - 60)
    policy.adopted(file, locked=False)
    assert len(recorder.warnings) == 2
    # Entries alternating between the two other configurations: nothing new to report.
    for signature in ["H/3600/0/utc", "D/86400/0/utc"] * 3:
        ledger_for(base, signature=signature).write(file.identity, T0 - 60)
        policy.adopted(file, locked=False)
    assert len(recorder.warnings) == 2


def test_due_locked_rereads_the_ledger_and_dates_an_empty_file_now(
    base: str, file: AppendFile
) -> None:
    clock = FakeClock(T0 + 5)
    policy = time_policy(base, clock, Recorder())
    policy.created(file)
    clock.now = T0 + 65
    assert not policy.due_locked(file, 1)  # due by the clock, but empty: it becomes this period's
    assert policy.period == T0 + 60
    assert ledger_for(base).read() == (file.identity, T0 + 60, SIGNATURE)
    file.write(b"x\n")
    assert not policy.due_locked(file, 1)
    clock.now = T0 + 121
    assert policy.due_locked(file, 1)
    # Another process already re-dated this file (say it found it empty later): believed.
    ledger_for(base).write(file.identity, T0 + 120)
    assert not policy.due_locked(file, 1)
    assert policy.period == T0 + 120


def test_due_locked_after_the_clock_went_back(base: str, file: AppendFile) -> None:
    clock = FakeClock(T0 + 65)
    policy = time_policy(base, clock, Recorder())
    policy.created(file)
    file.write(b"x\n")
    clock.now = T0 + 5
    assert not policy.due_locked(file, 1)
    assert policy.period == T0
    assert ledger_for(base).read() == (file.identity, T0, SIGNATURE)


def test_time_rotation_names_each_file_of_a_period_apart(
    tmp_path: Path, base: str, file: AppendFile
) -> None:
    clock = FakeClock(T0 + 5)
    policy = time_policy(base, clock, Recorder())
    policy.created(file)
    file.write(b"first\n")
    plant(tmp_path, f"app.log.{LABEL_T0}.gz", f"app.log.{LABEL_BEFORE}", "app.log.9999-99-99")
    folder = str(tmp_path)
    inventory = Inventory.scan(base, policy.scheme(), (".gz",), os.listdir(folder))
    policy.rotate_locked(file, inventory, lambda path: None)
    assert (tmp_path / f"app.log.{LABEL_T0}.1").read_text() == "first\n"
    second = AppendFile(base)
    second.write(b"second\n")
    inventory = Inventory.scan(base, policy.scheme(), (".gz",), os.listdir(folder))
    policy.rotate_locked(second, inventory, lambda path: None)
    second.close()
    assert (tmp_path / f"app.log.{LABEL_T0}.2").read_text() == "second\n"
    assert (tmp_path / f"app.log.{LABEL_T0}.gz").read_text() == f"was app.log.{LABEL_T0}.gz\n"
    assert (tmp_path / "app.log.9999-99-99").read_text() == "was app.log.9999-99-99\n"


def test_time_rotation_never_takes_a_name_that_exists(
    tmp_path: Path, base: str, file: AppendFile
) -> None:
    """A name that is not in the inventory (a stranger's directory) is stepped over."""
    policy = time_policy(base, FakeClock(T0 + 5), Recorder())
    policy.created(file)
    (tmp_path / f"app.log.{LABEL_T0}").mkdir()
    file.write(b"kept\n")
    inventory = Inventory.scan(base, policy.scheme(), (), [])
    policy.rotate_locked(file, inventory, lambda path: None)
    assert (tmp_path / f"app.log.{LABEL_T0}").is_dir()
    assert (tmp_path / f"app.log.{LABEL_T0}.1").read_text() == "kept\n"


def test_time_rotation_books_each_file_and_never_remakes_a_booked_name(
    tmp_path: Path, base: str, file: AppendFile
) -> None:
    """Each rotation is booked before its rename. A name the book knows is not made again
    once its file is gone (as after a clock stepped back): its old record would order the
    new file among the oldest if the new record could not be written."""
    clock = FakeClock(T0 + 5)
    policy = time_policy(base, clock, Recorder())
    policy.created(file)
    file.write(b"first\n")
    policy.rotate_locked(file, Inventory.scan(base, policy.scheme(), (), []), lambda path: None)
    first = tmp_path / f"app.log.{LABEL_T0}"
    book = policy.ledger.book()
    known = book.rotation(first.name)
    assert known is not None and known[0] == 1
    first.unlink()  # retention took it
    second = AppendFile(base)
    second.write(b"second\n")
    policy.rotate_locked(second, Inventory.scan(base, policy.scheme(), (), []), lambda path: None)
    second.close()
    assert not first.exists()
    assert (tmp_path / f"app.log.{LABEL_T0}.1").read_text() == "second\n"
    known = policy.ledger.book().rotation(f"app.log.{LABEL_T0}.1")
    assert known is not None and known[0] == 2


def test_a_rotation_whose_record_fails_waits_for_its_next_try(
    tmp_path: Path, base: str, file: AppendFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file rotated without its record would be placed by its last write: while the book
    fails (EIO), the rollover fails before the rename; once it has failed for
    ``BOOK_PATIENCE``, rotations go on without their records, reported. The period line
    read well before each try (``due_locked``) does not start the wait again."""
    recorder = Recorder()
    monotonic = FakeClock(100.0)
    policy = time_policy(base, FakeClock(T0 + 5), recorder)
    monkeypatch.setattr(policy.system, "monotonic", monotonic)
    policy.created(file)
    file.write(b"kept\n")

    def failing(*args: object) -> int:
        raise OSError(errno.EIO, "the disk")

    monkeypatch.setattr(policy.ledger, "note_rotation", failing)
    for wait in (0.0, 1.0, BOOK_PATIENCE - 2.0):
        monotonic.now += wait
        policy.due_locked(file, 1)
        with pytest.raises(OSError):
            policy.rotate_locked(file, Inventory.scan(base, policy.scheme(), (), []), print)
        assert (tmp_path / "app.log").read_text() == "kept\n" and recorder.reports == []
    monotonic.now += 1.0
    policy.due_locked(file, 1)
    policy.rotate_locked(file, Inventory.scan(base, policy.scheme(), (), []), print)
    assert (tmp_path / f"app.log.{LABEL_T0}").read_text() == "kept\n"
    assert len(recorder.reports) == 1


def test_a_ledger_that_cannot_be_used_does_not_stop_a_rotation(
    tmp_path: Path, base: str, file: AppendFile
) -> None:
    """A directory at the ledger's name: the rotation goes on at once, reported."""
    recorder = Recorder()
    policy = time_policy(base, FakeClock(T0 + 5), recorder)
    file.write(b"kept\n")
    (tmp_path / ".app.log.period").mkdir()
    policy.rotate_locked(file, Inventory.scan(base, policy.scheme(), (), []), print)
    assert (tmp_path / f"app.log.{LABEL_T0}").read_text() == "kept\n"
    assert len(recorder.reports) == 1

def test_a_ledger_that_cannot_be_written_is_reported_once(tmp_path: Path, file: AppendFile) -> None:
    recorder = Recorder()
    policy = TimePolicy(
        file.path,
        MINUTE,
        0,
        0,
        PeriodLedger(
            str(tmp_path / "missing" / ".app.log.period"), Permissions(), 0o600, "x", print
        ),
        Hooks(),
        FakeClock(T0 + 5),
        recorder.outages,
        recorder.warnings.append,
    )
    policy.created(file)
    policy.adopted(file, locked=True)
    assert policy.period == T0
    assert len(recorder.reports) == 1
    assert isinstance(recorder.reports[0], FileNotFoundError)


# The ledger ---------------------------------------------------------------------------------


def test_ledger_reads_back_what_was_written(base: str) -> None:
    ledger = ledger_for(base)
    assert ledger.read() is None
    assert not os.path.exists(ledger.path), "reading created the file"
    ledger.write((12, 345678901234), 1_700_000_000)
    assert ledger.read() == ((12, 345678901234), 1_700_000_000, SIGNATURE)
    ledger.write((1, 2), 3)  # shorter: nothing of the longer line remains
    assert ledger.read() == ((1, 2), 3, SIGNATURE)
    raw = Path(ledger.path).read_bytes()
    assert raw.endswith(b"\n")
    assert raw.split() == [b"1", b"2", b"3", SIGNATURE.encode()]


@pytest.mark.parametrize(
    "content", [b"", b"garbage\n", b"1 2 x M/60/0/utc\n", b"1 2 3\n", b"\xff\xfe 1 2 3 s\n"]
)
def test_ledger_with_garbage_reads_as_no_entry(base: str, content: bytes) -> None:
    ledger = ledger_for(base)
    Path(ledger.path).write_bytes(content)
    assert ledger.read() is None


def test_ledger_refuses_a_planted_fifo_without_blocking(base: str) -> None:
    ledger = ledger_for(base)
    os.mkfifo(ledger.path)
    start = time.monotonic()
    assert ledger.read() is None
    with pytest.raises(OSError):
        ledger.write((1, 2), 3)
    assert time.monotonic() - start < 5


def test_ledger_of_another_user_warns_once(base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another user could date this log's files through it: said once, and still used."""
    warnings: list[str] = []
    ledger = ledger_for(base, warnings=warnings)
    ledger.write((1, 2), 3)
    assert warnings == []
    owner = os.stat(ledger.path).st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)
    for _ in range(3):
        assert ledger.read() == ((1, 2), 3, SIGNATURE)
    ledger.write((4, 5), 6)
    assert ledger.read() == ((4, 5), 6, SIGNATURE)
    assert len(warnings) == 1
    assert ledger.path in warnings[0]
    assert f"uid {owner}" in warnings[0]


class UnreadableLedger(System):
    """A disk that fails every read of the ledger (``EIO``) and nothing else."""

    def pread(self, fd: int, n: int, offset: int) -> bytes:
        raise OSError(errno.EIO, "Input/output error")


def test_a_ledger_that_cannot_be_read_is_not_dated_over(base: str, file: AppendFile) -> None:
    """Finding 11 (docs/simulation.md): a process whose read of the period file failed took
    it for "no entry", dated the base file by its last write and recorded that over the
    entry another process had made, so the file's records went to a later period's name.
    Now the rollover fails (tried again after a pause) and the entry stays."""
    clock = FakeClock(T0 + 1)
    time_policy(base, clock, Recorder()).created(file)  # the first process dates it: T0
    file.write(b"a record of T0\n")
    clock.now = T0 + 65
    recorder = Recorder()
    path = ledger_for(base).path
    other = TimePolicy(
        base, MINUTE, 0, 0,
        PeriodLedger(path, Permissions(), 0o600, SIGNATURE, recorder.warnings.append,
                     system=UnreadableLedger()),
        Hooks(), clock, recorder.outages, recorder.warnings.append,
    )  # fmt: skip
    assert other.wants_lock_to_adopt(file)
    other.adopted(file, locked=True)
    with pytest.raises(OSError):
        other.due_locked(file, 1)
    assert ledger_for(base).read() == (file.identity, T0, SIGNATURE)
