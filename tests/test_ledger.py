"""The period ledger's rotation book: one fixed-width record per rotation of a dated log, read
back whatever a kill, a full disk or a stranger left in it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lockrotate._ledger import (
    BOOK_MIN,
    BOOK_WIDTH,
    PERIOD_WIDTH,
    Book,
    PeriodLedger,
    Rotation,
    book_capacity,
    book_key,
    parse_entry,
)
from lockrotate._permissions import Permissions

NAME = "app.log.2026-12-03_06-00-00"


def ledger(folder: Path) -> PeriodLedger:
    return PeriodLedger(str(folder / ".app.log.period"), Permissions(), 0o600, "S/1/0/utc", print)


def test_a_record_reads_back_as_written() -> None:
    rotation = Rotation(7, book_key(NAME), 12345, 1_800_000_000_123_456_789)
    record = rotation.record()
    assert len(record) == BOOK_WIDTH and record.endswith(b"\n")
    assert Rotation.parse(record) == rotation


@pytest.mark.parametrize(
    "damage",
    [
        lambda record: record[:30],  # cut short
        lambda record: record[:30] + b"\0" * (BOOK_WIDTH - 30),  # torn: the rest never written
        lambda record: b"\0" * BOOK_WIDTH,  # a hole the ring has not reached
        lambda record: record[:5] + bytes([record[5] ^ 1]) + record[6:],  # one bit flipped
        lambda record: record.replace(b" ", b"\t", 1),  # fields as a stranger writes them
        lambda record: b"\xff" * BOOK_WIDTH,
    ],
)
def test_a_damaged_record_is_ignored(damage: object) -> None:
    record = Rotation(7, book_key(NAME), 1, 2).record()
    assert Rotation.parse(damage(record)) is None  # type: ignore[operator]


def test_a_number_the_next_one_could_not_follow_is_not_believed() -> None:
    assert Rotation.parse(Rotation(1 << 62, book_key(NAME), 1, 2).record()) is None
    assert Rotation.parse(Rotation(0, book_key(NAME), 1, 2).record()) is None


def test_the_book_knows_a_name_by_its_latest_rotation_and_its_file() -> None:
    records = [
        Rotation(3, book_key(NAME), 30, 300).record(),
        b"garbage".ljust(BOOK_WIDTH - 1) + b"\n",
        Rotation(9, book_key(NAME), 90, 900).record(),  # the name made again, later
        Rotation(5, book_key(NAME + ".1"), 50, 500).record(),
    ]
    book = Book.parse(b"".join(records) + b"a partial record")
    assert book.rotation(NAME, 90) == (9, 900)
    assert book.rotation(NAME) == (9, 900)  # a compressed copy: its name is enough
    # The file at the name is not the one the latest record names (that record was lost).
    assert book.rotation(NAME, 30) is None
    assert book.rotation(NAME + ".1", 50) == (5, 500)
    assert book.rotation(NAME + ".2") is None
    assert book.next == 10
    assert Book.parse(b"").next == 1


def test_the_ring_keeps_the_latest_rotations(tmp_path: Path) -> None:
    book = ledger(tmp_path)
    capacity = book_capacity(3)
    assert capacity == BOOK_MIN
    for n in range(capacity + 5):
        assert book.note_rotation(f"{NAME}.{n}", 100 + n, capacity) == n + 1
    assert os.path.getsize(tmp_path / ".app.log.period") == PERIOD_WIDTH + capacity * BOOK_WIDTH
    read = book.book()
    assert read.next == capacity + 6
    assert [read.rotation(f"{NAME}.{n}") for n in range(5)] == [None] * 5
    for n in range(5, capacity + 5):
        known = read.rotation(f"{NAME}.{n}", 100 + n)
        assert known is not None and known[0] == n + 1


def test_a_large_backup_count_keeps_the_book_readable(tmp_path: Path) -> None:
    """``backupCount=1500`` (a day of minutes) would ask for a ring of 3,000 records, more
    than a reader reads: the rotations past the readable ones were never seen, and the
    numbers stuck. The ring is bounded by what is read, so the latest rotations are known."""
    book = ledger(tmp_path)
    capacity = book_capacity(1500)
    rotations = capacity + 12
    numbers = [book.note_rotation(f"{NAME}.{n}", 100 + n, capacity) for n in range(rotations)]
    assert numbers == list(range(1, rotations + 1))
    read = book.book()
    known = read.rotation(f"{NAME}.{rotations - 1}", 100 + rotations - 1)
    assert known is not None and known[0] == rotations


def test_the_book_leaves_the_period_line_alone(tmp_path: Path) -> None:
    """Both halves are rewritten in place: neither overwrites the other, in either order;
    the period line is what ``lockrotate status`` reads (``parse_entry``)."""
    book = ledger(tmp_path)
    book.note_rotation(NAME, 2, BOOK_MIN)
    assert book.read() is None  # a hole where the line goes: no entry, no crash
    book.write((1, 2), 1_800_000_000)
    book.note_rotation(NAME + ".1", 3, BOOK_MIN)
    assert book.read() == ((1, 2), 1_800_000_000, "S/1/0/utc")
    raw = (tmp_path / ".app.log.period").read_bytes()
    assert parse_entry(raw[:PERIOD_WIDTH]) == ((1, 2), 1_800_000_000, "S/1/0/utc")
    assert book.book().next == 3


def test_a_ledger_from_before_the_book_or_full_of_garbage_starts_one(tmp_path: Path) -> None:
    path = tmp_path / ".app.log.period"
    path.write_bytes(b"1 2 1800000000 S/1/0/utc".ljust(PERIOD_WIDTH - 1) + b"\n")
    book = ledger(tmp_path)
    assert book.book().next == 1
    path.write_bytes(os.urandom(PERIOD_WIDTH + 10 * BOOK_WIDTH + 7))
    book.note_rotation(NAME, 2, BOOK_MIN)
    assert book.book().rotation(NAME, 2) is not None


def test_no_ledger_is_an_empty_book_and_an_unreadable_one_raises(tmp_path: Path) -> None:
    book = ledger(tmp_path)
    assert book.book().next == 1
    assert not (tmp_path / ".app.log.period").exists()  # reading creates nothing
    os.mkdir(tmp_path / ".app.log.period")
    with pytest.raises(OSError):
        book.book()
    with pytest.raises(OSError):
        book.note_rotation(NAME, 2, BOOK_MIN)



def test_a_record_written_again_names_the_file_a_rotator_made(tmp_path: Path) -> None:
    book = ledger(tmp_path)
    number = book.note_rotation(NAME, 2, BOOK_MIN)
    assert book.note_rotation(NAME, 7, BOOK_MIN, number) == number
    read = book.book()
    assert read.rotation(NAME, 2) is None
    assert read.rotation(NAME, 7) is not None and read.next == number + 1
