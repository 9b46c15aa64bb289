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
    holes = [p for p in log_files(folder, "app.log") if b"\0" in open(p, "rb").read()]  # noqa: SIM115
    assert holes == [], "truncation left NUL bytes: a writer did not append"
    assert (report.torn, report.duplicated, report.out_of_order, report.unexpected) == (0, 0, 0, 0)
    assert report.found + report.lost == report.expected
    assert report.files >= 5, "too few rotations to prove anything"
    assert errors == 0
