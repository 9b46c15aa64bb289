"""The archive: one inventory of this log's rotated files, and what retention, repair and
compression decide from it. Names outside the scheme are never touched, and a compressed file
is never handed to the compressor."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_in_child
from lockrotate._archive import (
    Archive,
    Entry,
    FileInfo,
    Inventory,
    Retention,
    Scheme,
    State,
    Trash,
    expired,
    repair,
    tidy,
)
from lockrotate._files import Identity
from lockrotate._naming import NumberedScheme, Slot, TimedScheme, scratch_path, scratch_pattern
from lockrotate._schedule import make_schedule

DAY = make_schedule("D", 1, True, None)

# Names beside the log that are not its rotated files, whatever the scheme.
STRANGERS = [
    "app.log",
    "app.log.bak",
    "app.log.1.bak",
    "app.log.8.gz.gz",
    "app.log.2.gz.gz",
    "app.log.gz",
    "app.log.9999-99-99",
    "app.log.9999-99-99.gz",
    "app.log.2024-01-01.gz.gz",
    "app.log.2024-02-30",
    "app.log2.1",
    "other.log",
    "other.log.1",
    "other.log.1.gz",
    "other.log.2024-01-01",
    ".app.log.lock",
    ".app.log.period",
]


def plant(folder: Path, names: list[str], mtime_ns: int | None = None) -> None:
    for name in names:
        path = folder / name
        path.write_text(f"{name}\n")
        if mtime_ns is not None:
            os.utime(path, ns=(mtime_ns, mtime_ns))


def scan(folder: Path, scheme: Scheme, extensions: tuple[str, ...] = (".gz",)) -> Inventory:
    return Inventory.scan(str(folder / "app.log"), scheme, extensions, os.listdir(folder))


def basenames(infos: list[FileInfo]) -> list[str]:
    return [os.path.basename(info.path) for info in infos]


def states(inventory: Inventory) -> list[tuple[Slot, State]]:
    return [(entry.slot, entry.state) for entry in inventory.entries]


# The scan -----------------------------------------------------------------------------------


def test_numbered_scan_sees_each_state_and_nothing_else(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    ours = ["app.log.1", "app.log.2.gz", "app.log.3", "app.log.3.gz", "app.log.5"]
    scratch = os.path.basename(scratch_path(base))
    other_scratch = os.path.basename(scratch_path(str(tmp_path / "other.log")))
    plant(tmp_path, [*ours, *STRANGERS, scratch, other_scratch])
    inventory = scan(tmp_path, NumberedScheme(base, 5, None))
    assert states(inventory) == [
        (5, State.PLAIN),
        (3, State.BOTH),
        (2, State.COMPRESSED),
        (1, State.PLAIN),
    ]
    listed = sorted(name for entry in inventory.entries for name in basenames(entry.files))
    assert listed == sorted(ours)
    both = inventory.entries[1]
    assert both.plain is not None and both.packed is not None
    assert os.path.basename(both.plain.path) == "app.log.3"
    assert os.path.basename(both.packed.path) == "app.log.3.gz"
    assert [os.path.basename(item.path) for item in inventory.scratch] == [scratch]
    assert inventory.scratch[0].pid == os.getpid()


def test_timed_scan_sees_each_state_and_nothing_else(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    ours = [
        "app.log.2023-12-31.gz",
        "app.log.2024-01-01",
        "app.log.2024-01-01.1",
        "app.log.2024-01-01.1.gz",
        "app.log.2024-01-02",
    ]
    plant(tmp_path, [*ours, *STRANGERS])
    inventory = scan(tmp_path, TimedScheme(base, DAY, None))
    assert states(inventory) == [
        (("2023-12-31", 0), State.COMPRESSED),
        (("2024-01-01", 0), State.PLAIN),
        (("2024-01-01", 1), State.BOTH),
        (("2024-01-02", 0), State.PLAIN),
    ]
    listed = sorted(name for entry in inventory.entries for name in basenames(entry.files))
    assert listed == sorted(ours)


def test_without_compression_a_compressed_name_is_not_ours(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    plant(tmp_path, ["app.log.1", "app.log.2.gz", "app.log.3.xz"])
    inventory = scan(tmp_path, NumberedScheme(base, 5, None), extensions=())
    assert [basenames(entry.files) for entry in inventory.entries] == [["app.log.1"]]
    xz = scan(tmp_path, NumberedScheme(base, 5, None), extensions=(".xz",))
    assert [basenames(entry.files) for entry in xz.entries] == [["app.log.3.xz"], ["app.log.1"]]


def test_a_name_gone_before_it_is_looked_at_is_no_entry(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    plant(tmp_path, ["app.log.1"])
    names = ["app.log.1", "app.log.2", "app.log.3.gz"]  # listed, then removed by another process
    inventory = Inventory.scan(base, NumberedScheme(base, 5, None), (".gz",), names)
    assert [entry.slot for entry in inventory.entries] == [1]


def test_size_and_time_of_an_entry_count_both_copies(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    (tmp_path / "app.log.1").write_bytes(b"x" * 300)
    (tmp_path / "app.log.1.gz").write_bytes(b"y" * 20)
    os.utime(tmp_path / "app.log.1", (1_000, 1_000))
    os.utime(tmp_path / "app.log.1.gz", (2_000, 2_000))
    (entry,) = scan(tmp_path, NumberedScheme(base, 5, None)).entries
    assert entry.size == 320
    assert entry.mtime == 2_000


def test_waiting_and_holding(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    plant(tmp_path, ["app.log.1", "app.log.2.gz", "app.log.3", "app.log.3.gz", "app.log.4"])
    inventory = scan(tmp_path, NumberedScheme(base, 5, None))
    assert [entry.slot for entry in inventory.waiting()] == [4, 1]
    st = os.stat(tmp_path / "app.log.4")
    held = inventory.holding((st.st_dev, st.st_ino))
    assert held is not None and held.slot == 4
    packed = os.stat(tmp_path / "app.log.2.gz")
    assert inventory.holding((packed.st_dev, packed.st_ino)) is None


def test_stale_scratch(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    pattern = scratch_pattern("app.log")
    live = os.path.basename(scratch_path(base))
    m = pattern.fullmatch(live)
    assert m is not None
    host, pid = m[1], int(m[2])
    dead_pid = child_pid_that_exited()
    dead = live.replace(f".{pid}.", f".{dead_pid}.")
    other_host = f"{(int(host, 16) + 1) % 16**8:08x}"
    foreign_old = live.replace(host, other_host).replace(f".{pid}.", ".1.")
    foreign_new = foreign_old.replace(".1.", ".2.")
    plant(tmp_path, [live, dead, foreign_old, foreign_new])
    now = os.stat(tmp_path / foreign_new).st_mtime
    os.utime(tmp_path / foreign_old, (now - 7200, now - 7200))
    inventory = scan(tmp_path, NumberedScheme(base, 5, None))
    assert len(inventory.scratch) == 4
    stale = sorted(os.path.basename(path) for path in inventory.stale_scratch(now))
    assert stale == sorted([dead, foreign_old])


def child_pid_that_exited() -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return pid


# Repair -------------------------------------------------------------------------------------


def test_repair_drops_only_a_plain_copy_whose_compressed_copy_is_finished(
    tmp_path: Path,
) -> None:
    base = str(tmp_path / "app.log")
    finished = 1_700_000_000_123_456_789
    plant(tmp_path, ["app.log.1", "app.log.1.gz", "app.log.2"], finished)
    # Someone else's .gz beside our plain file: a different mtime, both are kept.
    plant(tmp_path, ["app.log.3"], finished)
    plant(tmp_path, ["app.log.3.gz"], finished + 1)
    inventory = scan(tmp_path, NumberedScheme(base, 5, None))
    assert repair(inventory) == [str(tmp_path / "app.log.1")]


# Retention ----------------------------------------------------------------------------------

NOW = 1e6

sizes_and_times = st.lists(
    st.tuples(st.integers(0, 10_000), st.floats(0, NOW), st.booleans(), st.booleans()),
    max_size=30,
)


def make_entries(items: list[tuple[int, float, bool, bool]]) -> list[Entry]:
    """Oldest first; each entry plain, compressed, or both (the compressed copy a tenth)."""
    entries = []
    for i, (size, mtime, plain, packed) in enumerate(items):
        mtime_ns = int(mtime * 1e9)
        plain_info = FileInfo(f"/l/app.log.{i}", size, mtime_ns, (1, 2 * i))
        packed_info = FileInfo(f"/l/app.log.{i}.gz", size // 10, mtime_ns, (1, 2 * i + 1))
        entries.append(
            Entry(
                (float(i), 0),
                i,
                plain_info if plain or not packed else None,
                packed_info if packed else None,
            )
        )
    return entries


@settings(max_examples=300, deadline=None)  # a loaded machine must not fail it on time
@given(
    sizes_and_times,
    st.integers(0, 10),
    st.none() | st.floats(0, NOW),
    st.none() | st.integers(0, 50_000),
)
def test_expired_obeys_every_limit_and_removes_nothing_more(
    items: list[tuple[int, float, bool, bool]],
    keep: int,
    max_age: float | None,
    max_total: int | None,
) -> None:
    entries = make_entries(items)
    doomed = expired(entries, keep, max_age, max_total, NOW)
    # Oldest first, and each one an entry given.
    assert [entry.slot for entry in doomed] == sorted(entry.slot for entry in doomed)
    gone = {entry.slot for entry in doomed}
    kept = [entry for entry in entries if entry.slot not in gone]
    if keep:
        assert len(kept) <= keep
    if max_age is not None:
        assert all(NOW - entry.mtime <= max_age for entry in kept)
    if max_total is not None:
        assert sum(entry.size for entry in kept) <= max_total
    # Nothing removed needlessly: what is neither beyond the count nor too old went for the
    # total, oldest first, and the newest of those could not have stayed.
    by_count = {entry.slot for entry in entries[: max(0, len(entries) - keep)]} if keep else set()
    by_age = {
        entry.slot for entry in entries if max_age is not None and NOW - entry.mtime > max_age
    }
    for_total = [entry for entry in entries if entry.slot in gone - by_count - by_age]
    if for_total:
        assert max_total is not None
        candidates = [entry for entry in entries if entry.slot not in by_count | by_age]
        assert for_total == candidates[: len(for_total)]
        kept_size = sum(entry.size for entry in kept)
        assert kept_size + for_total[-1].size > max_total


def test_expired_with_no_limit_removes_nothing() -> None:
    entries = make_entries([(100, 0.0, True, False)] * 40)
    assert expired(entries, 0, None, None, NOW) == []
    assert expired([], 3, 0.0, 0, NOW) == []


# Tidy ---------------------------------------------------------------------------------------


def identity(path: Path) -> Identity:
    st = os.stat(path)
    return (st.st_dev, st.st_ino)


def test_tidy_never_submits_a_compressed_file(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    plant(
        tmp_path,
        ["app.log.1", "app.log.2.gz", "app.log.3", "app.log.4", "app.log.4.gz", "app.log.5.gz"],
    )
    os.utime(tmp_path / "app.log.4.gz", ns=(1, 1))  # someone else's: no repair
    plant(tmp_path, STRANGERS)
    packed = {identity(tmp_path / name) for name in os.listdir(tmp_path) if ".gz" in name}
    submitted: list[tuple[Identity, bool]] = []
    trash = Trash(base)
    rotated = identity(tmp_path / "app.log.1")
    tidy(
        scan(tmp_path, NumberedScheme(base, 5, None)),
        Retention(0, None, None),
        trash,
        lambda ident, orphan: submitted.append((ident, orphan)),
        rotated,
        NOW,
    )
    trash.empty()
    assert not {ident for ident, _ in submitted} & packed
    assert sorted(submitted) == sorted([(identity(tmp_path / "app.log.3"), True), (rotated, False)])
    assert sorted(os.listdir(tmp_path)) == sorted(
        {*STRANGERS, "app.log.1", "app.log.2.gz", "app.log.3", "app.log.4", "app.log.4.gz"}
        | {"app.log.5.gz"}
    )


def test_tidy_repairs_expires_and_keeps_strangers(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    day = TimedScheme(base, DAY, None)
    old = ["app.log.2024-01-01.gz", "app.log.2024-01-02", "app.log.2024-01-02.gz"]
    new = ["app.log.2024-01-03", "app.log.2024-01-04", "app.log.2024-01-04.gz"]
    plant(tmp_path, [*old, *new], mtime_ns=1_700_000_000_000_000_000)
    plant(tmp_path, STRANGERS)
    scratch_of_the_dead = os.path.basename(scratch_path(base)).replace(
        f".{os.getpid()}.", f".{child_pid_that_exited()}."
    )
    plant(tmp_path, [scratch_of_the_dead])
    submitted: list[Identity] = []
    trash = Trash(base)
    tidy(
        scan(tmp_path, day),
        Retention(2, None, None),
        trash,
        lambda ident, orphan: submitted.append(ident),
        None,
        NOW,
    )
    # Before the trash is emptied, every removed file has already left its name.
    left = sorted(os.listdir(tmp_path))
    trash.empty()
    assert sorted(os.listdir(tmp_path)) == sorted(
        [*STRANGERS, "app.log.2024-01-03", "app.log.2024-01-04.gz"]
    )
    assert sorted(set(left) - set(os.listdir(tmp_path))) != []
    assert all(pattern_is_scratch(name) for name in set(left) - set(os.listdir(tmp_path)))
    # The plain copy of 01-04 was repaired away: only 01-03 is left to compress.
    assert submitted == [identity(tmp_path / "app.log.2024-01-03")]


def pattern_is_scratch(name: str) -> bool:
    return scratch_pattern("app.log").fullmatch(name) is not None


@dataclass
class FakeBook:
    """Rotations by name: (number, time in seconds), and the inodes they do not name."""

    known: dict[str, tuple[int, int]]
    others: set[int] = field(default_factory=set)

    def rotation(self, name: str, inode: int | None = None) -> tuple[int, int] | None:
        found = self.known.get(name)
        if found is None or inode in self.others:
            return None
        return found[0], found[1] * 10**9


def dated(folder: Path, names_and_mtimes: list[tuple[str, int]]) -> Inventory:
    for name, mtime in names_and_mtimes:
        plant(folder, [name], mtime_ns=mtime * 10**9)
    return scan(folder, TimedScheme(str(folder / "app.log"), DAY, None))


def order(entries: list[Entry]) -> list[str]:
    return [entry.name for entry in entries]


def test_dated_files_go_in_the_order_the_book_says_not_by_last_write(tmp_path: Path) -> None:
    """A late append to an older file (finding 6) or a clock stepped back (finding 4) makes
    the last write mislead; the book's numbers do not. The compressed copy of the oldest
    is known by its plain name."""
    inventory = dated(
        tmp_path,
        [("app.log.2024-01-01.gz", 500), ("app.log.2024-01-02", 900), ("app.log.2024-01-03", 100)],
    )
    by_write = ["app.log.2024-01-03", "app.log.2024-01-01", "app.log.2024-01-02"]
    assert order(inventory.by_age()) == by_write
    book = FakeBook(
        {
            "app.log.2024-01-01": (1, 10),  # compressed since
            "app.log.2024-01-02": (2, 20),
            "app.log.2024-01-03": (3, 30),
        }
    )
    assert order(inventory.by_age(book)) == [
        "app.log.2024-01-01",
        "app.log.2024-01-02",
        "app.log.2024-01-03",
    ]


def test_files_the_book_does_not_know_are_placed_by_their_last_write(tmp_path: Path) -> None:
    """Files from before the book (or whose record was lost, or whose name was made again)
    go by their last write, among the times of the rotations the book knows; the known ones
    keep the book's order among themselves."""
    inventory = dated(
        tmp_path,
        [
            ("app.log.2024-01-01", 100),  # from before the book
            ("app.log.2024-01-02", 900),  # known, written late
            ("app.log.2024-01-03", 350),  # its record lost
            ("app.log.2024-01-04", 400),  # known
        ],
    )
    book = FakeBook(
        {
            "app.log.2024-01-02": (7, 300),
            "app.log.2024-01-03": (2, 50),
            "app.log.2024-01-04": (8, 380),
        },
        {identity(tmp_path / "app.log.2024-01-03")[1]},  # that record named an older file
    )
    assert order(inventory.by_age(book)) == [
        "app.log.2024-01-01",
        "app.log.2024-01-02",
        "app.log.2024-01-03",
        "app.log.2024-01-04",
    ]
    # The clock was stepped back before rotation 8: the known ones keep their order.
    book.known["app.log.2024-01-04"] = (8, 200)
    assert order(inventory.by_age(book)) == [
        "app.log.2024-01-01",
        "app.log.2024-01-02",
        "app.log.2024-01-04",
        "app.log.2024-01-03",
    ]


def test_numbered_files_are_their_own_order_whatever_a_book_says(tmp_path: Path) -> None:
    plant(tmp_path, ["app.log.1", "app.log.2"])
    inventory = scan(tmp_path, NumberedScheme(str(tmp_path / "app.log"), 5, None))
    book = FakeBook({"app.log.1": (1, 0), "app.log.2": (2, 0)})
    assert order(inventory.by_age(book)) == ["app.log.2", "app.log.1"]

def test_tidy_without_compression_submits_nothing(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    plant(tmp_path, [f"app.log.{i}" for i in range(1, 6)])
    trash = Trash(base)
    tidy(scan(tmp_path, NumberedScheme(base, 5, None)), Retention(2, None, None), trash, None, None)
    trash.empty()
    assert sorted(os.listdir(tmp_path)) == ["app.log.1", "app.log.2"]


# The trash ----------------------------------------------------------------------------------


def test_trash_takes_the_name_now_and_the_space_later(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    plant(tmp_path, ["app.log.7"])
    trash = Trash(base)
    trash.discard(str(tmp_path / "app.log.7"))
    (moved,) = os.listdir(tmp_path)
    assert pattern_is_scratch(moved)
    assert (tmp_path / moved).read_text() == "app.log.7\n"
    trash.empty()
    assert os.listdir(tmp_path) == []
    trash.empty()  # nothing left: a second emptying is harmless


def test_a_child_does_not_empty_its_parents_trash(tmp_path: Path) -> None:
    base = str(tmp_path / "app.log")
    plant(tmp_path, ["app.log.7"])
    trash = Trash(base)
    trash.discard(str(tmp_path / "app.log.7"))

    def child() -> int:
        trash.after_fork()
        trash.empty()
        return 0 if len(os.listdir(tmp_path)) == 1 else 1

    assert run_in_child(child) == 0
    trash.empty()
    assert os.listdir(tmp_path) == []


# The compressor's host ----------------------------------------------------------------------


@dataclass
class Host:
    """As the core hosts the compressor: ``put_in_place`` holds the lock (counted here)."""

    archive: Archive
    holds: list[int]

    def locate(self, identity: Identity) -> str | None:
        return self.archive.locate(identity)

    def put_in_place(self, identity: Identity, temp: str, nbytes: int) -> bool:
        self.holds.append(1)
        try:
            return self.archive.put_in_place_locked(identity, temp, nbytes)
        finally:
            self.archive.trash.empty()


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[tuple[Host, list[int]]]:
    base = str(tmp_path / "app.log")
    holds: list[int] = []
    made = Archive(
        base,
        lambda: Retention(0, None, None),
        lambda: NumberedScheme(base, 5, None),
        "gzip",
        lambda: NOW,
    )
    yield Host(made, holds), holds


def compressed_copy(tmp_path: Path, source: Path) -> str:
    temp = scratch_path(str(tmp_path / "app.log"))
    with gzip.open(temp, "wb") as out:
        out.write(source.read_bytes())
    return temp


def test_put_in_place_swaps_the_copy_in_with_the_lock(
    tmp_path: Path, archive: tuple[Host, list[int]]
) -> None:
    host, holds = archive
    plant(tmp_path, ["app.log.1"])
    source = tmp_path / "app.log.1"
    ident = identity(source)
    assert host.locate(ident) == str(source)
    temp = compressed_copy(tmp_path, source)
    assert host.put_in_place(ident, temp, source.stat().st_size)
    assert holds == [1]
    assert sorted(os.listdir(tmp_path)) == ["app.log.1.gz"]
    assert gzip.decompress((tmp_path / "app.log.1.gz").read_bytes()) == b"app.log.1\n"
    assert host.locate(ident) is None


def test_put_in_place_refuses_a_file_that_grew_or_a_name_taken(
    tmp_path: Path, archive: tuple[Host, list[int]]
) -> None:
    host, _ = archive
    plant(tmp_path, ["app.log.1", "app.log.2", "app.log.2.gz"])
    os.utime(tmp_path / "app.log.2.gz", ns=(1, 1))
    grew = tmp_path / "app.log.1"
    temp = compressed_copy(tmp_path, grew)
    size = grew.stat().st_size
    with grew.open("a") as f:
        f.write("a lagging writer's record\n")
    assert not host.put_in_place(identity(grew), temp, size)
    taken = tmp_path / "app.log.2"
    other = compressed_copy(tmp_path, taken)
    assert not host.put_in_place(identity(taken), other, taken.stat().st_size)
    assert (tmp_path / "app.log.2.gz").read_text() == "app.log.2.gz\n"
    assert grew.read_text() == "app.log.1\na lagging writer's record\n"
