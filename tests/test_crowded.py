"""A log in a crowded folder: 100,000 files that are not the log's own.

The lock guards names, not listings: a rollover that listed the folder with the lock held
made every other process wait for the listing (in this test, 15x fewer records than in an
empty folder, and lock timeouts). Now 4 processes log flat out for 20 s into each folder,
with the same configuration, and the crowded run must keep at least half the pace.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import lockrotate
from lockrotate.bench.verify import log_files, verify
from lockrotate.bench.workload import RunResult, Workload, run

UNRELATED = 100_000
SECONDS = 20.0


def crowd(folder: Path, count: int = UNRELATED) -> None:
    """*count* empty files of other services beside the log."""
    for index in range(count):
        os.close(os.open(folder / f"service-{index:06}.log", os.O_CREAT | os.O_WRONLY, 0o644))


def flat_out(folder: Path, results: Path) -> RunResult:
    """4 processes, one thread each, log without pause for 20 s; every file is kept."""
    factory = functools.partial(
        lockrotate.RotatingFileHandler, maxBytes=200_000, backupCount=100_000
    )
    workload = Workload(4, 1, 0, 100, "fork", seconds=SECONDS)
    result = run(workload, factory, str(folder), str(results))
    assert result.crashed == []
    assert result.handler_errors == 0, [w.stderr for w in result.workers if w.stderr]
    assert result.lock_reports == 0
    timeouts = sum(w.stats["lock_timeouts"] for w in result.workers if w.stats is not None)
    assert timeouts == 0
    report = verify(log_files(str(folder), "app.log"), result.expected)
    assert report.ok, report.examples
    assert report.found == result.records > 0
    return result


@pytest.mark.slow
def test_a_crowded_folder_keeps_half_the_pace_of_an_empty_one(tmp_path: Path) -> None:
    empty, crowded = tmp_path / "empty", tmp_path / "crowded"
    empty.mkdir()
    crowded.mkdir()
    crowd(crowded)
    alone = flat_out(empty, tmp_path / "r1")
    among = flat_out(crowded, tmp_path / "r2")
    print(f"records: empty folder {alone.records:,}, crowded folder {among.records:,}")
    assert among.records >= alone.records / 2
    assert len(os.listdir(crowded)) >= UNRELATED  # nothing of the others was touched


@pytest.mark.slow
def test_status_answers_within_2s_and_says_what_it_skipped(tmp_path: Path) -> None:
    crowd(tmp_path)
    base = tmp_path / "app.log"
    handler = lockrotate.RotatingFileHandler(str(base), maxBytes=100, backupCount=3)
    logger = logging.Logger("crowded")
    logger.addHandler(handler)
    for number in range(10):
        logger.info("record %d %s", number, "x" * 80)
    handler.close()
    command = [sys.executable, "-m", "lockrotate", "status", "--json", str(base)]
    start = time.monotonic()
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=30)
    elapsed = time.monotonic() - start
    assert done.returncode == 0, done.stderr
    assert elapsed < 2.0, elapsed
    document = json.loads(done.stdout)
    assert document["totals"]["skipped_entries"] == UNRELATED
    assert document["totals"]["rotated_files"] == 3

