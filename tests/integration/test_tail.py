"""Tails that follow the base name across rotations: GNU ``tail -F`` and rsyslog ``imfile``.

Each one runs from before the first record until it has caught up, and only what it
printed is verified. Two tools lose lines by their design, and the tests measure it:
``tail -F`` skips whole files when the log rolls over faster than it looks at the name
again, and imfile in ``polling`` mode skips what was rotated away between two polls.
"""

from __future__ import annotations

import functools
import os
import signal
import time
from collections.abc import Callable

import pytest

import lockrotate
from lockrotate.bench.verify import Report, log_files
from lockrotate.bench.workload import Workload, run

from ._support import Server, check, wait_for_lines

pytestmark = pytest.mark.slow

WORKLOAD = Workload(procs=3, threads=1, seconds=4.0, pace=0.0005, start="fork")
Record = tuple[str, int]


def follow(
    argv: list[str], folder: str, scratch: str, max_bytes: int, name: str, aligned: bool = False
) -> Report:
    """Write with rollovers every second (and every *max_bytes*) while *argv* follows.

    *aligned*: start just after a second boundary, so that the first file lives about a second
    like the others (otherwise it may live a few milliseconds: a faster rollover than the
    test's). The report is about what the tool printed, in ``scratch/followed.log``.
    """
    out = os.path.join(scratch, "followed.log")
    factory = functools.partial(lockrotate.TimedRotatingFileHandler, when="S", maxBytes=max_bytes)
    server = Server.start(argv, os.path.join(scratch, "tool.err"), stdout_path=out)
    try:
        if aligned:
            time.sleep(1.05 - time.time() % 1.0)
        result = run(WORKLOAD, factory, folder, os.path.join(scratch, "results"))
        wait_for_lines(out, result.records)
    finally:
        server.stop(signal.SIGTERM)
    assert result.crashed == [] and result.handler_errors == 0
    rotated = check(f"{name}: files written", folder, "app.log", result.expected)
    assert rotated.ok, rotated.examples
    assert rotated.files >= 4, "too few rollovers to prove anything"
    return check(name, scratch, "followed.log", result.expected)


def records_in(path: str) -> list[Record]:
    """The (writer, seq) of each line of *path*, in file order (the verifier found none torn)."""
    with open(path, "rb") as f:
        fields = [line.split(b" ", 2) for line in f.read().splitlines()]
    return [(writer.decode(), int(seq)) for writer, seq, _ in fields]


def missed_per_file(folder: str, scratch: str) -> dict[str, tuple[int, int]]:
    """For each file written, (lines the tool printed, lines it missed), in that order.

    Asserts what a follower that skips a file, or the rest of one, leaves: what it printed
    of a file is that file's first lines, and what it missed are the lines after them.
    """
    printed = set(records_in(os.path.join(scratch, "followed.log")))
    counts = {}
    for path in log_files(folder, "app.log"):
        seen = [record in printed for record in records_in(path)]
        head = seen.index(False) if False in seen else len(seen)
        assert not any(seen[head:]), f"{path}: a line printed after one missed"
        counts[os.path.basename(path)] = (head, len(seen) - head)
    return counts


def assert_only_lost(report: Report) -> None:
    """Nothing printed twice, torn, out of order or made up; some lines not printed."""
    assert (report.torn, report.duplicated, report.out_of_order, report.unexpected) == (0, 0, 0, 0)
    assert report.lost > 0, "the tool received every line: nothing here shows its loss"


def tail_argv(need_tool: Callable[[str], str], folder: str) -> list[str]:
    return [need_tool("tail"), "-F", "-n", "+1", "-s", "0.1", os.path.join(folder, "app.log")]


def test_tail_follows_every_second(
    need_tool: Callable[[str], str], folder: str, scratch: str
) -> None:
    argv = tail_argv(need_tool, folder)
    report = follow(argv, folder, scratch, 0, "tail -F, 1 rollover/s", aligned=True)
    assert report.ok, report.examples


def test_tail_skips_files_when_rolling_fast(
    need_tool: Callable[[str], str], folder: str, scratch: str
) -> None:
    # About 20 rollovers a second: more than tail -F keeps up with.
    argv = tail_argv(need_tool, folder)
    report = follow(argv, folder, scratch, 20000, "tail -F, ~20 rollovers/s")
    assert_only_lost(report)
    per_file = missed_per_file(folder, scratch)
    skipped = [name for name, (printed, missed) in per_file.items() if printed == 0 and missed]
    assert skipped, f"tail -F lost lines but skipped no whole file: {per_file}"
    # It caught up with the last file: the loss is in rotated files only.
    assert per_file["app.log"][1] == 0, per_file["app.log"]
    assert sum(missed for _, missed in per_file.values()) == report.lost


def rsyslog_argv(
    need_tool: Callable[[str], str], folder: str, scratch: str, mode: str
) -> list[str]:
    rsyslogd = need_tool("rsyslogd")
    work = os.path.join(scratch, "rsyslog")
    os.mkdir(work)
    conf = os.path.join(scratch, "rsyslog.conf")
    with open(conf, "w") as f:
        f.write(
            f'global(workDirectory="{work}")\n'
            f'module(load="imfile" mode="{mode}" PollingInterval="1")\n'
            'template(name="raw" type="string" string="%msg%\\n")\n'
            'ruleset(name="out") {\n'
            '    action(type="omfile" file="/dev/stdout" template="raw")\n'
            "}\n"
            f'input(type="imfile" File="{os.path.join(folder, "app.log")}" Tag="app"\n'
            '      ruleset="out" freshStartTail="off")\n'
        )
    return [rsyslogd, "-n", "-f", conf, "-i", os.path.join(scratch, "rsyslogd.pid")]


def test_rsyslog_imfile_inotify_follows_fast_rollovers(
    need_tool: Callable[[str], str], folder: str, scratch: str
) -> None:
    argv = rsyslog_argv(need_tool, folder, scratch, "inotify")
    report = follow(argv, folder, scratch, 20000, "rsyslog imfile inotify, ~20 rollovers/s")
    assert report.ok, report.examples


def test_rsyslog_imfile_polling_skips_rotated_files(
    need_tool: Callable[[str], str], folder: str, scratch: str
) -> None:
    argv = rsyslog_argv(need_tool, folder, scratch, "polling")
    report = follow(argv, folder, scratch, 0, "rsyslog imfile polling, 1 rollover/s")
    assert_only_lost(report)
    per_file = missed_per_file(folder, scratch)
    # What it missed was rotated away before a poll reached it: the live file is whole.
    assert per_file["app.log"][1] == 0, per_file["app.log"]
    assert sum(missed for _, missed in per_file.values()) == report.lost
