"""Naming: what this log's files are called, and which names are this log's, oldest first."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterable

import pytest

from lockrotate._archive import Scheme
from lockrotate._naming import (
    NAME_MAX,
    NumberedScheme,
    TimedScheme,
    check_fits,
    hidden_stem,
    lock_stem,
    numbered_index,
    numbered_name,
    scratch_path,
    scratch_pattern,
    timed_label,
    timed_name,
)
from lockrotate._schedule import make_schedule

DAY = make_schedule("D", 1, True, None)
SECOND = make_schedule("S", 1, True, None)
BASE = os.path.join("/logs", "app.log")

STRANGERS = [
    "app.log",
    "app.log.bak",
    "app.log.conf",
    "app.log2.1",
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
    # Labels of the right shape that are no real date.
    "app.log.9999-99-99",
    "app.log.2024-13-01",
    "app.log.2024-02-30",
    "app.log.2024-00-10",
]


def shuffled(names: Iterable[str]) -> list[str]:
    names = list(names)
    random.Random(7).shuffle(names)
    return names


def ours(scheme: Scheme, names: Iterable[str]) -> list[str]:
    """The names *scheme* claims, oldest first."""
    parsed = [(found[0], name) for name in names if (found := scheme.parse(name)) is not None]
    return [name for _, name in sorted(parsed)]


def test_names_of_rotated_files() -> None:
    assert numbered_name(BASE, 3) == "/logs/app.log.3"
    assert timed_name(BASE, "2024-01-01", 0) == "/logs/app.log.2024-01-01"
    assert timed_name(BASE, "2024-01-01", 2) == "/logs/app.log.2024-01-01.2"


# Time-rotated names -----------------------------------------------------------------------


def test_timed_only_this_logs_files_oldest_first() -> None:
    mine = [
        "app.log.2023-12-31",
        "app.log.2024-01-01",
        "app.log.2024-01-01.1",
        "app.log.2024-01-01.2",
        "app.log.2024-01-01.10",
        "app.log.2024-01-02",
    ]
    scheme = TimedScheme(BASE, DAY, None)
    assert ours(scheme, shuffled(mine + STRANGERS)) == mine


def test_seconds_labels() -> None:
    mine = ["app.log.2024-01-01_23-59-59", "app.log.2024-01-02_00-00-00.1"]
    others = ["app.log.2024-01-01", "app.log.2024-01-01_23-59", "app.log.2024-01-01_24-00-00"]
    scheme = TimedScheme(BASE, SECOND, None)
    assert ours(scheme, shuffled(mine + others + STRANGERS)) == mine


def test_an_impossible_date_is_not_ours_even_if_it_is_the_newest_looking() -> None:
    scheme = TimedScheme(BASE, DAY, None)
    for name in ("app.log.9999-99-99", "app.log.2024-02-30", "app.log.2023-02-29.1"):
        assert scheme.parse(name) is None, name
    assert scheme.parse("app.log.2024-02-29") is not None  # a leap day is a real date


def test_timed_slot_is_label_and_counter() -> None:
    scheme = TimedScheme(BASE, DAY, None)
    first = scheme.parse("app.log.2024-01-01")
    third = scheme.parse("app.log.2024-01-01.2")
    assert first is not None and third is not None
    assert first[1] == ("2024-01-01", 0)
    assert third[1] == ("2024-01-01", 2)
    assert first[0] < third[0]


def test_a_new_suffix_changes_which_names_are_ours() -> None:
    scheme = TimedScheme(BASE, DAY.with_suffix("%Y%m%d"), None)
    names = ["app.log.20240102", "app.log.2024-01-01", "app.log.20240101.1", "app.log.20241301"]
    assert ours(scheme, names) == ["app.log.20240101.1", "app.log.20240102"]


def gz(name: str) -> str:
    return name + ".gz"


def dated_first(name: str) -> str:
    """A namer that puts the date first: app.log.2024-01-01.1 -> 2024-01-01.1-app.log."""
    folder, base = os.path.split(name)
    stem, _, rest = base.partition(".log.")
    return os.path.join(folder, f"{rest}-{stem}.log")


@pytest.mark.parametrize(
    ("namer", "mine"),
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
def test_timed_with_a_namer(namer: Callable[[str], str], mine: list[str]) -> None:
    others = [
        "app.log.2024-01-01",  # not what the namer makes
        "app.log.2024-01-01.gz.bak",
        "other.log.2024-01-01.gz",
        "app.log2.2024-01-01.gz",
        "2024-01-01-other.log",
        "9999-99-99-app.log",
    ]
    scheme = TimedScheme(BASE, DAY, namer)
    assert ours(scheme, shuffled(mine + others + STRANGERS)) == mine


def test_what_timed_name_produces_is_found_again() -> None:
    made = [timed_name(BASE, label, n) for label in ("2024-01-01", "2024-02-01") for n in range(12)]
    names = [os.path.basename(path) for path in made]
    assert ours(TimedScheme(BASE, DAY, None), shuffled(names)) == names


def test_timed_label_reads_label_and_counter() -> None:
    pattern = DAY.label_pattern
    assert timed_label("app.log", "app.log.2024-01-01", pattern, None) == ("2024-01-01", 0)
    assert timed_label("app.log", "app.log.2024-01-01.7", pattern, None) == ("2024-01-01", 7)
    assert timed_label("app.log", "app.log.2024-01-01.0", pattern, None) is None
    assert timed_label("app.log", "app.log.2024-01-01.07", pattern, None) is None
    assert timed_label("app.log", "app.log.2024-01-011", pattern, None) is None
    # With a namer, the name must be exactly what the namer makes of that label.
    assert timed_label("app.log", "2024-01-01.3-app.log", pattern, dated_first) == (
        "2024-01-01",
        3,
    )
    assert timed_label("app.log", "2024-01-01.3-app.log.old", pattern, dated_first) is None


# Size-rotated names -----------------------------------------------------------------------


def test_numbered_only_this_logs_files_oldest_first() -> None:
    mine = [f"app.log.{index}" for index in (7, 5, 3, 2, 1)]
    others = ["app.log.0", "app.log.01", "app.log.8", "app.log.1.bak", "app.log.+1"]
    others.append("app.log.\u0661")  # an Arabic-Indic digit one
    scheme = NumberedScheme(BASE, 7, None)
    assert ours(scheme, shuffled(mine + others + STRANGERS)) == mine


def test_numbered_slot_is_the_index() -> None:
    scheme = NumberedScheme(BASE, 12, None)
    found = scheme.parse("app.log.12")
    assert found is not None
    assert found[1] == 12
    assert scheme.parse("app.log.13") is None


def test_numbered_index_refuses_what_the_stdlib_never_makes() -> None:
    assert numbered_index("app.log", "app.log.3", 3) == 3
    assert numbered_index("app.log", "app.log.4", 3) is None
    assert numbered_index("app.log", "app.log.03", 3) is None
    assert numbered_index("app.log", "app.log.", 3) is None
    assert numbered_index("app.log", "app.log.²", 3) is None
    assert numbered_index("app.log", "app.logx3", 3) is None


def test_numbered_with_a_namer() -> None:
    scheme = NumberedScheme(BASE, 3, lambda name: name.replace("app.log.", "app-") + ".txt")
    names = ["app-1.txt", "app-3.txt", "app-4.txt", "app.log.1", "app-2.txt.bak"]
    assert ours(scheme, shuffled(names)) == ["app-3.txt", "app-1.txt"]


# Companion and scratch names --------------------------------------------------------------


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


@pytest.mark.parametrize("length", [10, 200, 220, 221, 222, 240, 253, 255])
def test_every_companion_name_fits(tmp_path: os.PathLike[str], length: int) -> None:
    name = "a" * (length - 4) + ".log"
    base = os.path.join(os.fspath(tmp_path), name)
    stem = os.path.basename(lock_stem(base, None))
    in_dir = os.path.basename(lock_stem(base, os.fspath(tmp_path)))
    scratch = os.path.basename(scratch_path(base))
    for companion in (stem + ".lock", stem + ".period", in_dir + ".period", scratch):
        assert len(os.fsencode(companion)) <= NAME_MAX, (length, companion)
        assert companion.startswith(".")
    # Each of them can really be created.
    for companion in (stem + ".period", scratch):
        path = os.path.join(os.fspath(tmp_path), companion)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.unlink(path)


def test_a_shortened_stem_still_tells_long_names_apart() -> None:
    common = "x" * 240
    first, second = hidden_stem(common + "-first.log"), hidden_stem(common + "-second.log")
    assert first != second
    assert hidden_stem("short.log") == ".short.log"


def test_check_fits_refuses_rotated_names_past_the_limit() -> None:
    fits = "a" * (NAME_MAX - len(".12.gz"))
    check_fits("/logs/" + fits, ".12.gz")
    with pytest.raises(ValueError, match="too long"):
        check_fits("/logs/" + fits + "b", ".12.gz")


def test_scratch_names_are_this_logs_and_distinct() -> None:
    pattern = scratch_pattern("app.log")
    made = {scratch_path(BASE) for _ in range(50)}
    assert len(made) == 50
    for path in made:
        assert os.path.dirname(path) == "/logs"
        m = pattern.fullmatch(os.path.basename(path))
        assert m is not None, path
        assert int(m[2]) == os.getpid()
    other = os.path.basename(scratch_path("/logs/app.log2"))
    assert pattern.fullmatch(other) is None
    assert scratch_pattern("app.log2").fullmatch(other) is not None
