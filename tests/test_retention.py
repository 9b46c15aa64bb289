"""Retention by count, age and total size, with a controlled clock; foreign files untouched."""

from __future__ import annotations

import gzip
import logging
import os
import time
from pathlib import Path

import pytest

import lockrotate
from conftest import FakeClock
from lockrotate.bench.verify import record_text
from lockrotate.bench.workload import logger_for

FOREIGN = [
    "app.log.bak",
    "app.log.conf",
    "app.log2.1",
    "app.log.1.bak",
    "app.log.2024-01-01.bak",
    "other.log.1",
    "other.log.2024-01-01_00-00-00",
]


def plant(folder: Path) -> None:
    for name in FOREIGN:
        (folder / name).write_text("not ours\n")


def assert_foreign_untouched(folder: Path) -> None:
    for name in FOREIGN:
        assert (folder / name).read_text() == "not ours\n", name


def log_n(handler: logging.Handler, writer: str, count: int) -> None:
    logger = logger_for(handler, f"test_retention.{id(handler)}")
    for seq in range(count):
        logger.info(record_text(writer, seq))


def rotated(folder: Path) -> list[str]:
    return sorted(
        name for name in os.listdir(folder) if name.startswith("app.log.") and name not in FOREIGN
    )


def test_max_age_removes_old_rotated_files_at_the_next_rollover(tmp_path: Path) -> None:
    clock = FakeClock(1_700_000_000.0)
    handler = lockrotate.RotatingFileHandler(
        str(tmp_path / "app.log"), maxBytes=250, backupCount=50, max_age=3600, clock=clock
    )
    plant(tmp_path)
    log_n(handler, "w", 10)  # records of 100 bytes: a rollover every 2 records
    first = rotated(tmp_path)
    assert first == ["app.log.1", "app.log.2", "app.log.3", "app.log.4"]
    for name in [*first, *FOREIGN]:
        os.utime(tmp_path / name, (clock() - 7200, clock() - 7200))
    log_n(handler, "x", 2)
    handler.close()
    # Only the file rotated just now is young; the old ones went, the foreign ones stayed.
    assert rotated(tmp_path) == ["app.log.1"]
    assert_foreign_untouched(tmp_path)


def test_max_total_bytes_removes_the_oldest_until_the_rest_fit(tmp_path: Path) -> None:
    record, max_bytes, max_total, count = 100, 250, 450, 20
    handler = lockrotate.TimedRotatingFileHandler(
        str(tmp_path / "app.log"),
        when="H",
        maxBytes=max_bytes,
        max_total_bytes=max_total,
        clock=FakeClock(1_700_000_000.0),
    )
    plant(tmp_path)
    log_n(handler, "w", count)
    handler.close()
    names = rotated(tmp_path)
    sizes = [os.path.getsize(tmp_path / name) for name in names]
    file_bytes = max_bytes // record * record
    assert sizes and all(size == file_bytes for size in sizes)
    # As many as fit, and not one more.
    assert sum(sizes) <= max_total < sum(sizes) + file_bytes
    # The newest stay: the records just before those of the live file.
    live = len((tmp_path / "app.log").read_text().splitlines())
    kept = sorted(
        int(line.split()[1])
        for name in names
        for line in (tmp_path / name).read_text().splitlines()
    )
    assert kept == list(range(count - live - len(kept), count - live))
    assert_foreign_untouched(tmp_path)


def test_backup_count_in_time_rotation_never_touches_foreign_files(tmp_path: Path) -> None:
    clock = FakeClock(1_700_000_000.0)
    handler = lockrotate.TimedRotatingFileHandler(
        str(tmp_path / "app.log"), when="S", backupCount=3, clock=clock
    )
    plant(tmp_path)
    seconds = 10
    for second in range(seconds):
        log_n(handler, f"s{second}", 1)
        clock.now += 1
    handler.close()
    # One file per second; the three newest rotated ones stay (the last second is live).
    kept = sorted(
        line.split()[0]
        for name in rotated(tmp_path)
        for line in (tmp_path / name).read_text().splitlines()
    )
    assert kept == [f"s{second}" for second in range(seconds - 4, seconds - 1)]
    assert_foreign_untouched(tmp_path)


def dated_paths(folder: Path) -> list[Path]:
    """The rotated files, oldest first by name (one period each: names sort as they were
    rotated)."""
    return [folder / name for name in rotated(folder)]


def dated_files(folder: Path) -> list[str]:
    """The rotated files, each as its first record's writer, oldest first."""
    return [path.read_text().split()[0] for path in dated_paths(folder)]


def roll_seconds(handler: logging.Handler, clock: FakeClock, writers: list[str]) -> None:
    for writer in writers:
        log_n(handler, writer, 1)
        clock.now += 1


def test_a_late_append_to_an_older_dated_file_does_not_make_it_the_newest(
    tmp_path: Path,
) -> None:
    """Simulator finding 6: retention ordered dated files by their last write, so a writer
    in back-off (or stopped) appending late to an older rotated file made retention remove
    the newest one instead. The rotation book orders them as they were rotated."""
    clock = FakeClock(1_700_000_000.0)
    handler = lockrotate.TimedRotatingFileHandler(
        str(tmp_path / "app.log"), when="S", backupCount=2, clock=clock
    )
    roll_seconds(handler, clock, ["s0", "s1", "s2"])
    oldest = dated_paths(tmp_path)[0]
    assert dated_files(tmp_path) == ["s0", "s1"]
    with open(oldest, "a") as late:  # a writer that had not noticed the rollover
        late.write("late 0\n")
    future = time.time() + 3600  # (file times are the real clock's)
    os.utime(oldest, (future, future))
    roll_seconds(handler, clock, ["s3"])
    handler.close()
    assert dated_files(tmp_path) == ["s1", "s2"]


def test_a_clock_stepped_back_does_not_make_the_newest_dated_file_the_oldest(
    tmp_path: Path,
) -> None:
    """Simulator finding 4: the wall clock stepped back by more than a period stamps the
    newest rotated file with the oldest last write; retention removed it."""
    clock = FakeClock(1_700_000_000.0)
    handler = lockrotate.TimedRotatingFileHandler(
        str(tmp_path / "app.log"), when="S", backupCount=2, clock=clock
    )
    roll_seconds(handler, clock, ["s0", "s1", "s2"])
    newest = dated_paths(tmp_path)[-1]
    past = time.time() - 86400
    os.utime(newest, (past, past))  # written while the clock was a day behind
    roll_seconds(handler, clock, ["s3"])
    handler.close()
    assert dated_files(tmp_path) == ["s1", "s2"]


def test_an_unreadable_ledger_leaves_retention_to_the_last_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No book (its name taken by a folder): dated files are ordered by their last write, as
    before the book; the rollovers go on (the failure is reported), nothing else is removed."""
    clock = FakeClock(1_700_000_000.0)
    os.mkdir(tmp_path / ".app.log.period")
    plant(tmp_path)
    handler = lockrotate.TimedRotatingFileHandler(
        str(tmp_path / "app.log"), when="S", backupCount=2, clock=clock
    )
    roll_seconds(handler, clock, ["s0", "s1", "s2", "s3"])
    handler.close()
    assert dated_files(tmp_path) == ["s1", "s2"]
    assert "Logging error" in capsys.readouterr().err  # the period file cannot be used
    assert_foreign_untouched(tmp_path)


def test_the_book_follows_a_namer(tmp_path: Path) -> None:
    clock = FakeClock(1_700_000_000.0)
    handler = lockrotate.TimedRotatingFileHandler(
        str(tmp_path / "app.log"), when="S", backupCount=2, clock=clock
    )
    handler.namer = lambda name: name + ".old"
    roll_seconds(handler, clock, ["s0", "s1", "s2"])
    oldest = dated_paths(tmp_path)[0]
    assert oldest.name.endswith(".old")
    future = time.time() + 3600  # (file times are the real clock's)
    os.utime(oldest, (future, future))
    roll_seconds(handler, clock, ["s3"])
    handler.close()
    assert dated_files(tmp_path) == ["s1", "s2"]


def test_the_book_follows_the_cookbook_namer_and_rotator(tmp_path: Path) -> None:
    """The stdlib cookbook's compression: a ``namer`` adding ``.gz`` and a ``rotator`` that
    compresses. The book knows each file by the name the namer made."""
    clock = FakeClock(1_700_000_000.0)
    handler = lockrotate.TimedRotatingFileHandler(
        str(tmp_path / "app.log"), when="S", backupCount=2, clock=clock
    )
    handler.namer = lambda name: name + ".gz"

    def rotator(source: str, dest: str) -> None:
        with open(source, "rb") as plain, gzip.open(dest, "wb") as packed:
            packed.write(plain.read())
        os.remove(source)

    handler.rotator = rotator
    roll_seconds(handler, clock, ["s0", "s1", "s2"])
    oldest = dated_paths(tmp_path)[0]
    assert oldest.name.endswith(".gz")
    future = time.time() + 3600
    os.utime(oldest, (future, future))
    roll_seconds(handler, clock, ["s3"])
    handler.close()
    kept = [gzip.decompress(path.read_bytes()).split()[0] for path in dated_paths(tmp_path)]
    assert kept == [b"s1", b"s2"]
