"""logrotate (the Debian package) rotating our log while processes write to it.

With ``create`` (and ``nocreate``) logrotate renames the file and sends no signal: each
writer notices within ``check_interval`` that the name now points elsewhere and reopens.
``copytruncate`` copies the file and then truncates it in place; what is written between
the copy and the truncation is lost by its design. We measure it and show that, since we
append with ``O_APPEND``, the truncation leaves neither NUL holes nor torn lines.
"""

from __future__ import annotations

import functools
import os
import subprocess
import threading
from collections.abc import Callable

import pytest

import lockrotate
from lockrotate.bench.verify import log_files
from lockrotate.bench.workload import Workload, run

from ._support import check

pytestmark = pytest.mark.slow

ROTATE_EVERY = 0.3


def rotate_until(stop: threading.Event, argv: list[str], failures: list[str]) -> int:
    """Run logrotate every ROTATE_EVERY seconds until *stop* is set; return how often."""
    runs = 0
    while not stop.wait(ROTATE_EVERY):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        runs += 1
        if done.returncode != 0 or done.stderr:
            failures.append(f"rc={done.returncode} {done.stderr.strip()}")
    return runs


def logrotate_run(
    need_tool: Callable[[str], str], folder: str, scratch: str, mode: str
) -> tuple[int, list[str], dict[str, int], int]:
    logrotate = need_tool("logrotate")
    path = os.path.join(folder, "app.log")
    conf = os.path.join(scratch, "logrotate.conf")
    with open(conf, "w") as f:
        f.write(f"{path} {{\n    {mode}\n    rotate 1000\n    missingok\n    nocompress\n}}\n")
    argv = [logrotate, "-f", "-s", os.path.join(scratch, "state"), conf]
    stop = threading.Event()
    failures: list[str] = []
    runs: list[int] = []
    rotator = threading.Thread(target=lambda: runs.append(rotate_until(stop, argv, failures)))
    factory = functools.partial(lockrotate.RotatingFileHandler, check_interval=0.1)
    # spawn, not fork: this process runs a thread (the logrotate loop) while it starts them.
    rotator.start()
    try:
        result = run(
            Workload(procs=3, threads=1, seconds=4.0, pace=0.0005, start="spawn"),
            factory,
            folder,
            os.path.join(scratch, "results"),
        )
    finally:
        stop.set()
        rotator.join()
    assert result.crashed == [], result.crashed
    return runs[0], failures, result.expected, result.handler_errors


def copy_index(path: str) -> int:
    """0 for the live file, K for logrotate's copy ``app.log.K`` (a larger K is older)."""
    suffix = os.path.basename(path)[len("app.log") :]
    return int(suffix[1:]) if suffix else 0


def file_of_each_record(folder: str) -> dict[tuple[str, int], int]:
    """Which file (as :func:`copy_index`) holds each (writer, seq) found in the folder."""
    where = {}
    for path in log_files(folder, "app.log"):
        with open(path, "rb") as f:
            for line in f.read().splitlines():
                writer, seq, _ = line.split(b" ", 2)
                where[writer.decode(), int(seq)] = copy_index(path)
    return where


def gaps(expected: dict[str, int], where: dict[tuple[str, int], int]) -> list[tuple[str, int, int]]:
    """Each run of a writer's missing records, as (writer, first missing, last missing)."""
    found = []
    for writer, count in expected.items():
        seq = 0
        while seq < count:
            if (writer, seq) in where:
                seq += 1
                continue
            first = seq
            while seq < count and (writer, seq) not in where:
                seq += 1
            found.append((writer, first, seq - 1))
    return found


@pytest.mark.parametrize("mode", ["create", "nocreate"])
def test_logrotate_rename_is_lossless(
    mode: str, need_tool: Callable[[str], str], folder: str, scratch: str
) -> None:
    runs, failures, expected, errors = logrotate_run(need_tool, folder, scratch, mode)

    assert failures == []
    report = check(f"logrotate {mode} ({runs} runs)", folder, "app.log", expected)
    assert report.ok, report.examples
    assert report.files >= 5, "too few rotations to prove anything"
    assert errors == 0


def test_logrotate_copytruncate_loses_but_never_tears(
    need_tool: Callable[[str], str], folder: str, scratch: str
) -> None:
    runs, failures, expected, errors = logrotate_run(need_tool, folder, scratch, "copytruncate")

    assert failures == []
    report = check(f"logrotate copytruncate ({runs} runs)", folder, "app.log", expected)
    holes = []
    for path in log_files(folder, "app.log"):
        with open(path, "rb") as f:
            if b"\0" in f.read():
                holes.append(path)
    assert holes == [], "truncation left NUL bytes: a writer did not append"
    assert (report.torn, report.duplicated, report.out_of_order, report.unexpected) == (0, 0, 0, 0)
    assert report.files >= 5, "too few rotations to prove anything"
    assert errors == 0

    # The loss is copytruncate's window: each writer's missing records form at most one
    # run per logrotate run, and each run sits between the end of one copy and the start
    # of the next newer file (what was written after the copy, then truncated away).
    assert report.lost > 0, "copytruncate lost nothing: nothing here shows its window"
    where = file_of_each_record(folder)
    missing = gaps(expected, where)
    assert sum(last - first + 1 for _, first, last in missing) == report.lost
    for writer in expected:
        assert len([g for g in missing if g[0] == writer]) <= runs, (writer, missing)
    for writer, first, last in missing:
        before, after = where.get((writer, first - 1)), where.get((writer, last + 1))
        if before is not None and after is not None:
            assert before == after + 1, f"{writer} {first}-{last}: lost inside one file"
