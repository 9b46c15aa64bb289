"""Naming and retention: which files are this log's, oldest first, and which go."""

from __future__ import annotations

import os
import random

import pytest

from lockrotate._naming import beyond_retention, lock_stem, numbered, timed, timed_backups
from lockrotate._schedule import make_schedule

DAY_PATTERN = make_schedule("D", 1, False, None).label_pattern
SECOND_PATTERN = make_schedule("S", 1, False, None).label_pattern
BASE = os.path.join("/logs", "app.log")

STRANGERS = [
    "app.log",
    "app.log.bak",
    "app.log.conf",
    "app.log2.1",
    "app.log.1",
    "app.log.2024-01-01.bak",
    "app.log.2024-01-01.01",
    "app.log.2024-01-01.gz.bak",
    "app.log2.2024-01-01",
    "xapp.log.2024-01-01",
    "other.log",
    "other.log.2024-01-01",
    "other.log.2024-01-01.1",
    ".app.log.lock",
    ".app.log.period",
    "app.log.2024-13-01x",
]


def shuffled(names: list[str]) -> list[str]:
    names = list(names)
    random.Random(7).shuffle(names)
    return names


def test_only_this_logs_files_oldest_first() -> None:
    ours = [
        "app.log.2023-12-31",
        "app.log.2024-01-01",
        "app.log.2024-01-01.1",
        "app.log.2024-01-01.2",
        "app.log.2024-01-01.10",
        "app.log.2024-01-02",
    ]
    found = timed_backups(BASE, shuffled(ours + STRANGERS), DAY_PATTERN, None)
    assert found == [os.path.join("/logs", name) for name in ours]


def test_seconds_labels() -> None:
    ours = ["app.log.2024-01-01_23-59-59", "app.log.2024-01-02_00-00-00.1"]
    others = ["app.log.2024-01-01", "app.log.2024-01-01_23-59"]
    found = timed_backups(BASE, shuffled(ours + others + STRANGERS), SECOND_PATTERN, None)
    assert found == [os.path.join("/logs", name) for name in ours]


def gz(name: str) -> str:
    return name + ".gz"


def dated_first(name: str) -> str:
    """A namer that puts the date first: app.log.2024-01-01.1 -> 2024-01-01.1-app.log."""
    folder, base = os.path.split(name)
    stem, _, rest = base.partition(".log.")
    return os.path.join(folder, f"{rest}-{stem}.log")


@pytest.mark.parametrize(
    ("namer", "ours"),
    [
        (
            gz,
            [
                "app.log.2024-01-01.gz",
                "app.log.2024-01-01.1.gz",
                "app.log.2024-01-01.2.gz",
                "app.log.2024-01-02.gz",
            ],
        ),
        (
            dated_first,
            ["2024-01-01-app.log", "2024-01-01.1-app.log", "2024-01-03.12-app.log"],
        ),
    ],
)
def test_with_a_namer(namer: object, ours: list[str]) -> None:
    others = [
        "app.log.2024-01-01",  # not what the namer makes
        "app.log.2024-01-01.gz.bak",
        "other.log.2024-01-01.gz",
        "app.log2.2024-01-01.gz",
        "2024-01-01-other.log",
    ]
    found = timed_backups(BASE, shuffled(ours + others + STRANGERS), DAY_PATTERN, namer)  # type: ignore[arg-type]
    assert found == [os.path.join("/logs", name) for name in ours]


def test_names_of_rotated_files() -> None:
    assert numbered(BASE, 3) == "/logs/app.log.3"
    assert timed(BASE, "2024-01-01", 0) == "/logs/app.log.2024-01-01"
    assert timed(BASE, "2024-01-01", 2) == "/logs/app.log.2024-01-01.2"


def test_what_timed_produces_is_found_again() -> None:
    made = [timed(BASE, label, n) for label in ("2024-01-01", "2024-02-01") for n in range(12)]
    names = [os.path.basename(path) for path in made]
    assert timed_backups(BASE, shuffled(names), DAY_PATTERN, None) == made


@pytest.mark.parametrize("keep", [1, 2, 5])
def test_beyond_retention_keeps_the_newest(keep: int) -> None:
    files = [f"f{n}" for n in range(5)]
    assert beyond_retention(files, keep) == files[: max(0, 5 - keep)]


def test_beyond_retention_keeps_all_when_zero() -> None:
    assert beyond_retention([f"f{n}" for n in range(50)], 0) == []
    assert beyond_retention([], 3) == []


def test_lock_stem_beside_the_log() -> None:
    assert lock_stem("/a/app.log", None) == "/a/.app.log"
    assert lock_stem("/a/app.log", None) != lock_stem("/a/app.txt", None)
    assert lock_stem("/a/app.log", None) != lock_stem("/b/app.log", None)


def test_lock_stem_in_a_lock_dir(tmp_path: os.PathLike[str]) -> None:
    lock_dir = os.fspath(tmp_path)
    a = lock_stem("/a/app.log", lock_dir)
    assert a != lock_stem("/b/app.log", lock_dir)
    assert a != lock_stem("/a/app.txt", lock_dir)
    assert a == lock_stem("/a/app.log", lock_dir)
    assert os.path.dirname(a) == lock_dir
    assert os.path.basename(a).startswith(".app.log.")
