"""A long-lived soak (issue 8): the same processes go through many compress-then-roll cycles.

Three processes of two threads each (two started by spawn, one by fork, each building its
handler itself) write for ``SECONDS`` through a ``TimedRotatingFileHandler`` with
``when='S', interval=2``, ``compress='gzip'``, ``backupCount=3`` and ``max_total_bytes``
(which bites only when compression falls behind). ``check_interval=0.2`` makes the
compression delay 1.2 s, so each rotated file is compressed about a second before the next
rollover, and every file stays through two more rollovers (``backupCount``) as a ``.gz``:
exactly what a process meets in production, where every rollover after a compression used to
queue the ``.gz`` again.

A monitor lists the folder every 50 ms throughout and checks each listing:

- no name outside the scheme (``tests/_verify.py: scheme``);
- at most ``backupCount`` rotated files, plus those still waiting to be compressed: a
  rotated file counts once whether plain, compressed or both (the moment between writing the
  ``.gz`` and removing the plain file); a plain-only one is "waiting" while its last write
  is younger than the longest wait the README gives (a file left by another process waits
  three times the compression delay of ``check_interval`` + 1 s) plus 1 s of slack for a
  loaded machine. Files waiting longer count against ``backupCount``.

Retention deletes whole files, so "every record exactly once" cannot be read from the final
folder alone. The monitor keeps a hard link to every file it sees under any of the log's
names, base or rotated, plain or compressed (one per inode). The first base file may roll
over within milliseconds of the start, but every rotated file stays plain for at least the
compression delay and compressed for two more periods, far longer than 50 ms; so at the end:

- every record written is in exactly one plain file ever written, whole and in order;
- every ``.gz`` ever seen decompresses in one pass to whole records, and holds exactly the
  content of one of those plain files (compression lost and added nothing);
- the files left hold no record twice and no torn line.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import lockrotate
from _verify import (
    SECOND_LABEL,
    Monitor,
    Snapshot,
    compressed_once,
    every_record_once,
    log_pattern,
    outside,
    rotated_pattern,
    scheme,
)
from lockrotate.bench.verify import log_files, record_text, verify
from lockrotate.bench.workload import logger_for

SECONDS = 40.0
INTERVAL = 2
BACKUP_COUNT = 3
CHECK_INTERVAL = 0.2
# What the README says: a rotated file is compressed once still for check_interval + 1 s.
COMPRESSION_DELAY = CHECK_INTERVAL + 1.0
# A plain file left by a process that closed or died waits three times as long.
LONGEST_WAIT = 3 * COMPRESSION_DELAY
SLACK = 1.0
MAX_TOTAL_BYTES = 100_000
THREADS = 2
PACE = 0.02
STARTS = ("spawn", "spawn", "fork")


def _writer(index: int, path: str, results: str, ready: Any, go: Any) -> None:
    """One soak process: build the handler, wait for the start, log for SECONDS from
    THREADS threads, close, and leave the counts and stats in ``results/<index>.json``."""
    err = os.open(os.path.join(results, f"{index}.stderr"), os.O_WRONLY | os.O_CREAT, 0o644)
    os.dup2(err, 2)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    handler = lockrotate.TimedRotatingFileHandler(
        path,
        when="S",
        interval=INTERVAL,
        backupCount=BACKUP_COUNT,
        compress="gzip",
        max_total_bytes=MAX_TOTAL_BYTES,
        check_interval=CHECK_INTERVAL,
    )
    logger = logger_for(handler, f"soak{index}")
    counts: dict[str, int] = {}
    ready.release()
    go.wait()
    deadline = time.monotonic() + SECONDS

    def log(writer: str) -> None:
        seq = 0
        while time.monotonic() < deadline:
            logger.info(record_text(writer, seq))
            seq += 1
            time.sleep(PACE)
        counts[writer] = seq

    threads = [threading.Thread(target=log, args=(f"p{index}t{t}",)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = handler.stats.as_dict()
    handler.close()
    out = os.path.join(results, f"{index}.json")
    with open(out + ".tmp", "w") as f:
        json.dump({"counts": counts, "rollovers": stats["rollovers"]}, f)
    os.replace(out + ".tmp", out)


def bounded(snap: Snapshot) -> list[str]:
    """The listing's problems: names outside the scheme; more rotated files than
    ``backupCount`` plus those waiting to be compressed (see the module docstring)."""
    problems = [f"name outside the scheme: {n}" for n in outside(snap.names, ALLOWED)]
    stems: dict[str, bool] = {}  # stem -> compressed
    for name in snap.names:
        m = ROTATED.fullmatch(name)
        if m and name in snap.mtimes:  # still there when its time was read
            stems[m[1]] = stems.get(m[1], False) or m[2] is not None
    waiting = [
        stem
        for stem, packed in stems.items()
        if not packed and snap.at - snap.mtimes[stem] < LONGEST_WAIT + SLACK
    ]
    if len(stems) > BACKUP_COUNT + len(waiting):
        problems.append(
            f"{len(stems)} rotated files, backupCount {BACKUP_COUNT}, {len(waiting)} waiting: "
            f"{sorted(snap.names)}"
        )
    return problems


ALLOWED = scheme("app.log", SECOND_LABEL)
ROTATED = rotated_pattern("app.log", SECOND_LABEL)


@pytest.mark.slow
def test_soak_compress_then_roll_for_many_cycles(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    results = tmp_path / "results"
    results.mkdir()
    path = str(folder / "app.log")
    spawn = multiprocessing.get_context("spawn")
    ready, go = spawn.Semaphore(0), spawn.Event()
    procs = [
        multiprocessing.get_context(start).Process(
            target=_writer, args=(index, path, str(results), ready, go)
        )
        for index, start in enumerate(STARTS)
    ]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            assert ready.acquire(timeout=120), "a writer did not start"
        monitor = Monitor(
            str(folder), str(tmp_path / "archive"), log_pattern("app.log", SECOND_LABEL), bounded
        )
        # Start 12 ms before a period boundary: the first file rolls over between the
        # writers' first and second records, the hardest moment for the monitor to see it.
        time.sleep((INTERVAL - 0.012 - time.time() % INTERVAL) % INTERVAL)
        with monitor:
            go.set()
            for proc in procs:
                proc.join(SECONDS + 60)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join()
    assert [proc.exitcode for proc in procs] == [0] * len(procs)
    done = [json.loads((results / f"{i}.json").read_text()) for i in range(len(procs))]
    errors = [(results / f"{i}.stderr").read_text() for i in range(len(procs))]
    assert errors == [""] * len(procs), errors
    expected: dict[str, int] = {}
    for result in done:
        expected.update(result["counts"])

    # Throughout: names and the bound, at every listing.
    assert monitor.listings > SECONDS / monitor.period / 4  # the monitor kept looking
    assert monitor.problems == [], monitor.problems[:10]
    # Many compress-then-roll cycles in these same processes: one rollover per period,
    # each performed once, and most files seen compressed before retention removed them.
    rotated_seen = {m[1] for n in monitor.seen if (m := ROTATED.fullmatch(n))}
    compressed_seen = {n for n in monitor.seen if ROTATED.fullmatch(n) and n.endswith(".gz")}
    periods = SECONDS / INTERVAL
    assert sum(result["rollovers"] for result in done) == len(rotated_seen)
    assert len(rotated_seen) >= periods - 2, sorted(rotated_seen)
    assert len(compressed_seen) >= periods - 4, sorted(compressed_seen)
    # The monitor kept every rotated file, plain and compressed, not only the base files.
    assert len(monitor.plain_files()) >= periods - 1, monitor.plain_files()
    assert len(monitor.compressed_files()) >= periods - 4, monitor.compressed_files()

    # At the end: every record once in what was written; every .gz one layer of whole lines.
    report, problems = every_record_once(monitor, expected)
    assert report.ok, report.examples
    assert report.found == sum(expected.values()) > 0
    assert problems == [], problems[:10]
    finals = log_files(str(folder), "app.log")
    assert outside(os.listdir(folder), ALLOWED) == []
    assert compressed_once([f for f in finals if f.endswith(".gz")], expected) == []
    left = verify(finals, expected)
    assert (left.duplicated, left.torn, left.out_of_order, left.unexpected) == (0, 0, 0, 0)
    kept = {m[1] for f in finals if (m := ROTATED.fullmatch(os.path.basename(f)))}
    assert len(kept) <= BACKUP_COUNT, finals
