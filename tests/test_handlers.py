"""The handlers in one process: drop-in for the stdlib, size and time rotation, retention."""

from __future__ import annotations

import datetime
import gzip
import logging
import logging.handlers
import os
import shutil
from pathlib import Path

import pytest

from conftest import FakeClock
from lockrotate import HandlerStats, RotatingFileHandler, TimedRotatingFileHandler

T0 = datetime.datetime(2024, 3, 1, 10, 0, 30, tzinfo=datetime.UTC).timestamp()
STRANGERS = {
    "app.log.bak": "backup by hand\n",
    "app.log.conf": "config\n",
    "app.log2.1": "another log's backup\n",
    "app.log2.2024-03-01_09-59": "another log's rotation\n",
    "other.log.1": "other\n",
    "other.log.2024-03-01_09-58": "other's rotation\n",
    "app.log.2024-03-01_09-57.bak": "kept by hand\n",
}


def record(message: str) -> logging.LogRecord:
    return logging.makeLogRecord({"msg": message, "levelno": logging.INFO, "levelname": "INFO"})


def log(handler: logging.Handler, *messages: str) -> None:
    for message in messages:
        handler.handle(record(message))


def write_at(handler: TimedRotatingFileHandler, clock: FakeClock, t: float, *messages: str) -> None:
    """Log at fake time *t*; stamp the file with *t* too, as the kernel would at that time."""
    clock.now = t
    log(handler, *messages)
    os.utime(handler.baseFilename, (t, t))


def lines(path: str | Path) -> list[str]:
    return Path(path).read_text().splitlines()


def visible(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if not name.startswith("."))


def plant_strangers(folder: Path) -> None:
    for name, text in STRANGERS.items():
        (folder / name).write_text(text)


def strangers_intact(folder: Path) -> bool:
    return all((folder / name).read_text() == text for name, text in STRANGERS.items())


def label(t: float, fmt: str = "%Y-%m-%d_%H-%M") -> str:
    return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime(fmt)


def timed_handler(base: str, clock: FakeClock, **kwargs: object) -> TimedRotatingFileHandler:
    options: dict[str, object] = {"when": "M", "utc": True, "clock": clock}
    options.update(kwargs)
    return TimedRotatingFileHandler(base, **options)  # type: ignore[arg-type]


# Drop-in ---------------------------------------------------------------------------------


def test_size_handler_takes_the_stdlib_positional_args(base: str) -> None:
    ours = RotatingFileHandler(base, "a", 100, 3, "utf-8", True, "replace")
    stdlib = logging.handlers.RotatingFileHandler(base, "a", 100, 3, "utf-8", True, "replace")
    for name in ("baseFilename", "mode", "maxBytes", "backupCount", "encoding", "errors", "delay"):
        assert getattr(ours, name) == getattr(stdlib, name), name
    assert ours.namer is None and ours.rotator is None
    assert isinstance(ours, logging.handlers.BaseRotatingHandler)
    stdlib.close()


@pytest.mark.parametrize(
    "args",
    [
        ("S", 1, 3),
        ("M", 5, 0, "utf-8", True, True),
        ("H", 2, 4, None, True, False),
        ("midnight", 1, 7, "utf-8", True, True, datetime.time(3, 30), "strict"),
        ("W6", 1, 2, None, True, False, datetime.time(4)),
    ],
)
def test_timed_handler_takes_the_stdlib_positional_args(base: str, args: tuple[object]) -> None:
    ours = TimedRotatingFileHandler(base, *args)  # type: ignore[arg-type]
    stdlib = logging.handlers.TimedRotatingFileHandler(base, *args)  # type: ignore[arg-type]
    names = ["baseFilename", "backupCount", "when", "interval", "suffix", "utc", "atTime"]
    names += ["namer", "rotator", "errors", "delay"]
    if len(args) > 3 and args[3] is not None:
        names.append("encoding")
    for name in names:
        assert getattr(ours, name) == getattr(stdlib, name), name
    label_now = datetime.datetime.now().strftime(stdlib.suffix)
    assert ours.extMatch.match(label_now) and stdlib.extMatch.match(label_now)
    assert isinstance(ours.rolloverAt, int)
    assert ours.rolloverAt == ours.computeRollover(ours.rolloverAt - 1)
    assert ours.maxBytes == 0
    stdlib.close()


def test_rollover_at_is_aligned_and_shared(base: str) -> None:
    first = timed_handler(base, FakeClock(T0), when="S", delay=True)
    assert first.rolloverAt == int(T0) + 1
    five = timed_handler(base, FakeClock(T0), when="M", interval=5, delay=True)
    later = timed_handler(base, FakeClock(T0 + 200), when="M", interval=5, delay=True)
    assert five.rolloverAt == later.rolloverAt == T0 - 30 + 300


def test_namer_and_rotator_are_honoured(base: str) -> None:
    calls: list[tuple[str, str]] = []

    def rotator(source: str, dest: str) -> None:
        calls.append((source, dest))
        with open(source, "rb") as src, gzip.open(dest, "wb") as out:
            shutil.copyfileobj(src, out)
        os.remove(source)

    handler = RotatingFileHandler(base, maxBytes=40, backupCount=2)
    handler.namer = lambda name: name + ".gz"
    handler.rotator = rotator
    log(handler, *(f"record {n:02} {'x' * 20}" for n in range(6)))
    handler.close()
    folder = Path(base).parent
    assert visible(folder) == ["app.log", "app.log.1.gz", "app.log.2.gz"]
    assert calls and all(dest == base + ".1.gz" for _, dest in calls)
    with gzip.open(base + ".2.gz", "rt") as older, gzip.open(base + ".1.gz", "rt") as newer:
        kept = older.read().splitlines() + newer.read().splitlines() + lines(base)
    assert kept == [f"record {n:02} {'x' * 20}" for n in (3, 4, 5)]


# Size rotation -------------------------------------------------------------------------


def size_files(messages: list[str], max_bytes: int) -> list[list[str]]:
    """What the files should hold, oldest first, by the rule: roll when a non-empty file
    would go past max_bytes."""
    files: list[list[str]] = [[]]
    size = 0
    for message in messages:
        n = len(message) + 1
        if size > 0 and size + n > max_bytes:
            files.append([])
            size = 0
        files[-1].append(message)
        size += n
    return files


def test_size_rotation_keeps_exactly_backup_count(base: str) -> None:
    messages = [f"record {n:03} {'y' * (n % 7) * 5}" for n in range(60)]
    handler = RotatingFileHandler(base, maxBytes=100, backupCount=3)
    log(handler, *messages)
    handler.close()
    expected = size_files(messages, 100)
    assert visible(Path(base).parent) == ["app.log", "app.log.1", "app.log.2", "app.log.3"]
    assert [lines(base + f".{n}") for n in (3, 2, 1)] + [lines(base)] == expected[-4:]
    assert all(os.path.getsize(base + f".{n}") <= 100 for n in (1, 2, 3))
    assert handler.stats.rollovers == len(expected) - 1


def test_backup_count_zero_never_rolls_over(base: str) -> None:
    """As in the stdlib: maxBytes without backupCount neither truncates nor deletes."""
    Path(base).write_text("before\n")
    handler = RotatingFileHandler(base, maxBytes=50, backupCount=0)
    messages = [f"record {n:03} {'z' * 30}" for n in range(40)]
    log(handler, *messages)
    handler.close()
    assert visible(Path(base).parent) == ["app.log"]
    assert lines(base) == ["before", *messages]
    assert handler.stats.rollovers == 0


def test_max_bytes_zero_never_rolls_over(base: str) -> None:
    handler = RotatingFileHandler(base, maxBytes=0, backupCount=3)
    messages = [f"record {n:03} {'z' * 300}" for n in range(40)]
    log(handler, *messages)
    handler.close()
    assert visible(Path(base).parent) == ["app.log"]
    assert lines(base) == messages


def test_an_empty_file_never_rolls_and_a_big_record_is_written_whole(base: str) -> None:
    handler = RotatingFileHandler(base, maxBytes=10, backupCount=2)
    big = "B" * 500
    log(handler, big)
    assert visible(Path(base).parent) == ["app.log"]
    assert lines(base) == [big]
    log(handler, "small", big)
    handler.close()
    assert lines(base + ".2") == [big]
    assert lines(base + ".1") == ["small"]
    assert lines(base) == [big]


@pytest.mark.parametrize("cls", [RotatingFileHandler, TimedRotatingFileHandler])
def test_delay_creates_nothing_until_the_first_record(
    base: str, cls: type[logging.Handler]
) -> None:
    handler = cls(base, delay=True)  # type: ignore[call-arg]
    folder = Path(base).parent
    assert os.listdir(folder) == []
    log(handler, "first")
    handler.close()
    assert lines(base) == ["first"]


@pytest.mark.parametrize("cls", [RotatingFileHandler, TimedRotatingFileHandler])
def test_without_delay_the_file_exists_at_once(base: str, cls: type[logging.Handler]) -> None:
    cls(base)  # type: ignore[call-arg]
    assert Path(base).exists()


def test_size_retention_never_touches_other_files(base: str) -> None:
    folder = Path(base).parent
    plant_strangers(folder)
    handler = RotatingFileHandler(base, maxBytes=30, backupCount=2)
    log(handler, *(f"record {n:03} {'w' * 10}" for n in range(30)))
    handler.close()
    assert strangers_intact(folder)
    assert set(visible(folder)) == {"app.log", "app.log.1", "app.log.2", *STRANGERS}


# Time rotation, with a clock the test moves -----------------------------------------------


def test_rolls_at_aligned_boundaries_named_by_the_period(base: str) -> None:
    clock = FakeClock(T0)
    handler = timed_handler(base, clock)
    write_at(handler, clock, T0, "a")
    write_at(handler, clock, T0 + 20, "b")
    assert handler.stats.rollovers == 0
    write_at(handler, clock, T0 + 30, "c")  # 10:01:00 exactly: a new period
    assert lines(base + "." + label(T0)) == ["a", "b"]
    assert handler.rolloverAt == T0 + 90
    write_at(handler, clock, T0 + 200, "d")  # 10:03:50; nothing was written at 10:02
    write_at(handler, clock, T0 + 205, "e")
    handler.close()
    assert lines(base + "." + label(T0 + 30)) == ["c"]
    assert lines(base) == ["d", "e"]
    assert visible(Path(base).parent) == [
        "app.log",
        "app.log.2024-03-01_10-00",
        "app.log.2024-03-01_10-01",
    ]
    assert handler.stats.rollovers == 2


def test_the_injected_clock_alone_decides_the_period(base: str) -> None:
    """No help from file timestamps: the kernel stamps this file with today's real time."""
    clock = FakeClock(T0)
    handler = timed_handler(base, clock)
    log(handler, "10:00")
    clock.now = T0 + 40
    log(handler, "10:01")
    handler.close()
    assert lines(base + "." + label(T0)) == ["10:00"]
    assert lines(base) == ["10:01"]


def test_local_time_labels(base: str, new_york: None) -> None:
    t = datetime.datetime(2024, 7, 4, 23, 59, 50).timestamp()  # local, EDT
    clock = FakeClock(t)
    handler = TimedRotatingFileHandler(base, "midnight", clock=clock)
    write_at(handler, clock, t, "the fourth")
    write_at(handler, clock, t + 20, "the fifth")
    handler.close()
    assert lines(base + ".2024-07-04") == ["the fourth"]
    assert lines(base) == ["the fifth"]


@pytest.mark.parametrize("first_file", [True, False])
def test_a_late_starter_rolls_the_old_file_under_the_old_name(base: str, first_file: bool) -> None:
    """Nobody wrote during 10:01-10:05; a process starting at 10:05 rolls 10:00's file first.

    ``first_file``: the file was never made by a rollover, so only its mtime tells its period.
    """
    clock = FakeClock(T0 - 60)
    early = timed_handler(base, clock)
    if not first_file:
        write_at(early, clock, T0 - 60, "09:59")
        write_at(early, clock, T0, "10:00 first")  # rolls 09:59 away, records the new period
    write_at(early, clock, T0 + 10, "10:00")
    early.close()
    late_clock = FakeClock(T0 + 280)
    late = timed_handler(base, late_clock)
    assert lines(base)[-1] == "10:00"
    write_at(late, late_clock, T0 + 280, "10:05")
    late.close()
    old = lines(base + "." + label(T0))
    assert old[-1] == "10:00"
    assert lines(base) == ["10:05"]
    assert late.rolloverAt == T0 - 30 + 360


def test_time_and_size_give_distinct_names_within_a_period(base: str) -> None:
    clock = FakeClock(T0)
    handler = timed_handler(base, clock, maxBytes=100, backupCount=0)
    at = handler.rolloverAt
    messages = [f"record {n:03} {'s' * 20}" for n in range(16)]
    for n, message in enumerate(messages[:15]):
        write_at(handler, clock, T0 + n, message)
    assert handler.stats.rollovers == 4
    assert handler.rolloverAt == at
    write_at(handler, clock, T0 + 40, messages[15])  # 10:01:10
    handler.close()
    folder = Path(base).parent
    stem = "app.log." + label(T0)
    oldest_first = [stem, f"{stem}.1", f"{stem}.2", f"{stem}.3", f"{stem}.4"]
    assert [name for name in visible(folder) if name != "app.log"] == sorted(oldest_first)
    read_back = [line for name in [*oldest_first, "app.log"] for line in lines(folder / name)]
    assert read_back == messages
    assert handler.rolloverAt == T0 + 90


def test_timed_retention_keeps_the_newest_and_never_touches_other_files(base: str) -> None:
    folder = Path(base).parent
    plant_strangers(folder)
    clock = FakeClock(T0)
    handler = timed_handler(base, clock, backupCount=2)
    for minute in range(6):
        write_at(handler, clock, T0 + 60 * minute, f"minute {minute}")
    handler.close()
    assert strangers_intact(folder)
    ours = {name for name in visible(folder) if name not in STRANGERS}
    assert ours == {"app.log", "app.log." + label(T0 + 180), "app.log." + label(T0 + 240)}
    assert lines(base + "." + label(T0 + 240)) == ["minute 4"]
    assert handler.getFilesToDelete() == []


def test_timed_namer_and_retention(base: str) -> None:
    clock = FakeClock(T0)
    handler = timed_handler(base, clock, backupCount=2)
    handler.namer = lambda name: name + ".gz"

    def rotator(source: str, dest: str) -> None:
        with open(source, "rb") as src, gzip.open(dest, "wb") as out:
            shutil.copyfileobj(src, out)
        os.remove(source)

    handler.rotator = rotator
    for minute in range(5):
        write_at(handler, clock, T0 + 60 * minute, f"minute {minute}")
    handler.close()
    folder = Path(base).parent
    expected = [f"app.log.{label(T0 + 60 * m)}.gz" for m in (2, 3)]
    assert visible(folder) == ["app.log", *expected]
    with gzip.open(folder / expected[-1], "rt") as newest:
        assert newest.read() == "minute 3\n"


def test_do_rollover(base: str) -> None:
    size = RotatingFileHandler(base, maxBytes=1000, backupCount=2)
    log(size, "one")
    size.doRollover()
    log(size, "two")
    size.doRollover()
    size.close()
    assert (lines(base + ".2"), lines(base + ".1"), lines(base)) == (["one"], ["two"], [])

    timed_base = str(Path(base).with_name("t.log"))
    clock = FakeClock(T0)
    timed = timed_handler(timed_base, clock)
    write_at(timed, clock, T0, "first")
    timed.doRollover()
    write_at(timed, clock, T0 + 1, "second")
    timed.doRollover()
    timed.close()
    assert lines(timed_base + "." + label(T0)) == ["first"]
    assert lines(timed_base + "." + label(T0) + ".1") == ["second"]
    assert timed.rolloverAt == T0 + 30


def test_stats_count(base: str) -> None:
    handler = RotatingFileHandler(base, maxBytes=50, backupCount=5)
    messages = [f"record {n:02} {'q' * 10}" for n in range(10)]
    log(handler, *messages)
    handler.close()
    stats = handler.stats
    assert isinstance(stats, HandlerStats)
    assert stats.records == len(messages)
    assert stats.bytes == sum(len(m) + 1 for m in messages)
    rollovers = len(size_files(messages, 50)) - 1
    on_disk = [base] + [f"{base}.{n}" for n in range(1, rollovers + 1)]
    assert stats.bytes == sum(map(os.path.getsize, on_disk))  # nothing deleted: all on disk
    assert (stats.rollovers, stats.lock_acquisitions) == (rollovers, rollovers)
    assert stats.lock_timeouts == 0
    assert stats.as_dict()["records"] == len(messages)


def test_an_outside_rename_is_followed(base: str) -> None:
    """logrotate's ``create`` mode: the file is renamed away and writing goes on at the path."""
    handler = RotatingFileHandler(base, check_interval=0)
    log(handler, "before")
    os.rename(base, base + ".moved")
    log(handler, "after")
    handler.close()
    assert lines(base + ".moved") == ["before"]
    assert lines(base) == ["after"]
    assert handler.stats.adopted == 1


def test_an_outside_removal_is_followed(base: str) -> None:
    handler = RotatingFileHandler(base, check_interval=0)
    log(handler, "before")
    os.remove(base)
    log(handler, "after")
    handler.close()
    assert lines(base) == ["after"]


def test_should_rollover(base: str) -> None:
    size = RotatingFileHandler(base, maxBytes=100, backupCount=1)
    assert not size.shouldRollover(record("x" * 500))  # the file is empty
    log(size, "x" * 89)
    assert not size.shouldRollover(record("123456789"))  # exactly 100 bytes
    assert size.shouldRollover(record("1234567890"))
    size.close()

    clock = FakeClock(T0)
    timed = timed_handler(str(Path(base).with_name("t.log")), clock)
    assert not timed.shouldRollover(record("x"))
    clock.now = T0 + 30
    assert timed.shouldRollover(record("x"))
    timed.close()


def test_formatter_and_encoding(base: str) -> None:
    handler = RotatingFileHandler(base, encoding="utf-16-le")
    handler.setFormatter(logging.Formatter("%(levelname)s:%(message)s"))
    log(handler, "héllo", "wörld")
    handler.close()
    assert Path(base).read_text("utf-16-le").splitlines() == ["INFO:héllo", "INFO:wörld"]


def test_works_through_a_logger(base: str) -> None:
    logger = logging.getLogger("lockrotate.test.handlers")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = RotatingFileHandler(base, maxBytes=40, backupCount=1)
    logger.addHandler(handler)
    try:
        for n in range(4):
            logger.info("message %d %s", n, "p" * 20)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert lines(base + ".1") + lines(base) == [f"message {n} {'p' * 20}" for n in (2, 3)]
