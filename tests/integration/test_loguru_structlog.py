"""loguru and structlog over lockrotate, from many processes: gunicorn with 4 sync workers,
and ``multiprocessing`` children started by spawn. Each process adds its own handlers
(examples/loguru_logging.py, examples/structlog_logging.py: loguru with ``enqueue=True``);
every line of both logs (rotated every second and every 20 kB, and every 20 kB) is read back
once, whole, in its writer's order.

The command lines are the ones docs/loguru-structlog.md shows (``_docs.recipe``)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable

import pytest

from _docs import ROOT, recipe
from lockrotate.bench.verify import log_files, read_bytes, verify

from ._support import logging_errors, serve_recipe

pytestmark = pytest.mark.slow

PROCS = 4  # as the spawn recipes say
RECORDS = 2500
LOGURU_HEAD = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4} \| INFO {5}\| \d+ \| ")
# A rotated timed.log: its second's label, then a counter for a size rollover in that second.
TIMED = re.compile(r"timed\.log\.(\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d)(?:\.\d+)?")


def loguru_messages(path: str) -> bytes:
    """The messages of a file loguru wrote (``FORMAT`` of the example); a line that is not
    one whole loguru line is kept as it is, and the verifier counts it torn."""
    out = []
    for line in read_bytes(path).split(b"\n"):
        head = LOGURU_HEAD.match(line)
        out.append(line[head.end() :] if head else line)
    return b"\n".join(out)


def structlog_events(path: str) -> bytes:
    """The ``event`` of each JSON line structlog rendered; other lines are kept as they are."""
    out = []
    for line in read_bytes(path).split(b"\n"):
        try:
            out.append(json.loads(line)["event"].encode("ascii"))
        except (ValueError, KeyError, TypeError):
            out.append(line)
    return b"\n".join(out)


READERS: dict[str, Callable[[str], bytes]] = {
    "loguru": loguru_messages,
    "structlog": structlog_events,
}


def assert_every_line_once(
    folder: str, expected: dict[str, int], library: str, in_order: bool = True
) -> None:
    """Both logs hold every record once, whole, and rolled over by time and by size; in
    each writer's order unless *in_order* is False."""
    for base in ("timed.log", "size.log"):
        files = log_files(folder, base)
        report = verify(files, expected, read=READERS[library])
        flaws = (report.lost, report.duplicated, report.torn, report.unexpected)
        assert flaws == (0, 0, 0, 0), report.examples
        assert report.out_of_order == 0 or not in_order, report.examples
        assert report.found == sum(expected.values())
        assert report.files >= 4, f"{base}: too few rollovers to prove anything: {files}"
    seconds = {m[1] for name in os.listdir(folder) if (m := TIMED.fullmatch(name))}
    assert len(seconds) >= 2, f"timed.log rolled over in fewer than two seconds: {seconds}"


@pytest.mark.parametrize(
    ("library", "name"), [("loguru", "loguru-gunicorn"), ("structlog", "structlog-gunicorn")]
)
def test_gunicorn_four_sync_workers(library: str, name: str, folder: str, scratch: str) -> None:
    load, stderr = serve_recipe(name, folder, scratch)
    assert not load.failures, load.failures
    assert len(load.pids) > 1, "every request went to one worker: the test proves nothing"
    assert not logging_errors(stderr), stderr
    assert "Logging error in Loguru" not in stderr, stderr
    # With enqueue=True each worker writes from its own thread, later than the request: two
    # requests of one client served by two workers may land in either order (their
    # timestamps tell which came first). In one process, and without a queue, order holds.
    assert_every_line_once(folder, load.expected, library, in_order=library != "loguru")


@pytest.mark.parametrize(
    ("library", "name"), [("loguru", "loguru-spawn"), ("structlog", "structlog-spawn")]
)
def test_multiprocessing_spawn(library: str, name: str, folder: str) -> None:
    argv, env = recipe(name, folder)
    assert argv[-2:] == [str(PROCS), str(RECORDS)], argv
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert not logging_errors(done.stderr) and "Logging error" not in done.stderr, done.stderr
    expected = {f"p{n}": RECORDS for n in range(PROCS)} | {"parent": RECORDS}
    assert_every_line_once(folder, expected, library)
