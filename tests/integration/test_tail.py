"""Tails that follow the base name across rotations: GNU ``tail -F`` and rsyslog ``imfile``.

Each one runs from before the first record until it has caught up, and only what it
printed is verified. Two tools lose lines by their design, and the tests measure it:
``tail -F`` skips whole files when the log rolls over faster than it looks at the name
again, and imfile in ``polling`` mode skips files created and rotated away between two polls.
imfile in ``inotify`` mode, in front of ``lock_every_write=True`` (as the README advises),
must receive every line exactly once.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import time
from collections.abc import Callable

import pytest

import lockrotate
from lockrotate.bench.verify import Report, log_files
from lockrotate.bench.workload import Workload, run

from ._support import Server, check, probe, wait_for_lines

pytestmark = pytest.mark.slow

WORKLOAD = Workload(procs=3, threads=1, seconds=4.0, pace=0.0005, start="fork")
Record = tuple[str, int]


def follow(
    argv: list[str],
    folder: str,
    scratch: str,
    factory: Callable[[str], logging.Handler],
    name: str,
    aligned: bool = False,
    started: Callable[[Server], None] | None = None,
) -> Report:
    """Write with rollovers (*factory*'s handler) while *argv* follows the log.

    The tool is started on a missing file (*started*, if given, waits until it has looked),
    then a probe record shows that it follows the log before the writers start. *aligned*:
    start just after a second boundary, so that the first file lives about a second like the
    others (otherwise it may live a few milliseconds: a faster rollover than the test's). The
    report is about what the tool printed, in ``scratch/followed.log``.
    """
    out = os.path.join(scratch, "followed.log")
    server = Server.start(argv, os.path.join(scratch, "tool.err"), stdout_path=out)
    try:
        if started is not None:
            started(server)
        probed = probe(os.path.join(folder, "app.log"), out)
        if aligned:
            time.sleep(1.05 - time.time() % 1.0)
        result = run(WORKLOAD, factory, folder, os.path.join(scratch, "results"))
        wait_for_lines(out, result.records + 1)
    finally:
        server.stop(signal.SIGTERM)
    assert result.crashed == [] and result.handler_errors == 0
    expected = {**result.expected, **probed}
    rotated = check(f"{name}: files written", folder, "app.log", expected)
    assert rotated.ok, rotated.examples
    assert rotated.files >= 4, "too few rollovers to prove anything"
    return check(name, scratch, "followed.log", expected)


def timed(max_bytes: int) -> Callable[[str], logging.Handler]:
    """Rotation every second, and every *max_bytes* if not 0."""
    return functools.partial(lockrotate.TimedRotatingFileHandler, when="S", maxBytes=max_bytes)


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


def assert_skipped_whole_files(report: Report, folder: str, scratch: str) -> None:
    """What a follower that falls behind loses: nothing printed twice, torn, out of order or
    made up; some lines not printed, among them whole files; and the loss is in rotated files
    only (it caught up with the live one)."""
    assert (report.torn, report.duplicated, report.out_of_order, report.unexpected) == (0, 0, 0, 0)
    assert report.lost > 0, "the tool received every line: nothing here shows its loss"
    per_file = missed_per_file(folder, scratch)
    skipped = [file for file, (printed, missed) in per_file.items() if printed == 0 and missed]
    assert skipped, f"lines lost but no whole file skipped: {per_file}"
    assert per_file["app.log"][1] == 0, per_file["app.log"]
    assert sum(missed for _, missed in per_file.values()) == report.lost


def tail_argv(need_tool: Callable[[str], str], folder: str, *options: str) -> list[str]:
    path = os.path.join(folder, "app.log")
    return [need_tool("tail"), "-F", "-n", "+1", "-s", "0.1", *options, path]


def tail_polls(server: Server) -> None:
    """Wait until tail has found the log missing: GNU tail then follows the name by polling
    (every ``-s`` seconds; it looks for a new file at the name after ``--max-unchanged-stats``
    polls without change, 5 by default), not through inotify."""
    deadline = time.monotonic() + 30
    while "cannot open" not in server.stderr():
        assert time.monotonic() < deadline, f"tail never looked: {server.stderr()}"
        time.sleep(0.01)


def test_tail_follows_every_second(
    need_tool: Callable[[str], str], folder: str, scratch: str
) -> None:
    # A new file looked for after one unchanged poll: within 0.2 s of a rollover.
    argv = tail_argv(need_tool, folder, "--max-unchanged-stats=1")
    name = "tail -F, 1 rollover/s"
    report = follow(argv, folder, scratch, timed(0), name, aligned=True, started=tail_polls)
    assert report.ok, report.examples


def test_tail_skips_files_when_rolling_fast(
    need_tool: Callable[[str], str], folder: str, scratch: str
) -> None:
    # About 20 rollovers a second: more than tail -F keeps up with when it looks for a new
    # file only after half a second without change.
    argv = tail_argv(need_tool, folder)
    name = "tail -F, ~20 rollovers/s"
    report = follow(argv, folder, scratch, timed(20000), name, started=tail_polls)
    assert_skipped_whole_files(report, folder, scratch)


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


def test_rsyslog_imfile_inotify_with_strict_mode_misses_nothing(
    need_tool: Callable[[str], str], folder: str, scratch: str
) -> None:
    # What the README advises in front of imfile: lock_every_write=True, and files that live
    # a few tenths of a second (100 kB: several rollovers a second here).
    argv = rsyslog_argv(need_tool, folder, scratch, "inotify")
    factory = functools.partial(
        lockrotate.RotatingFileHandler,
        maxBytes=100_000,
        backupCount=100_000,
        lock_every_write=True,
    )
    report = follow(argv, folder, scratch, factory, "rsyslog imfile inotify, strict")
    assert report.ok, report.examples


def test_rsyslog_imfile_polling_skips_files_rotated_between_polls(
    need_tool: Callable[[str], str], folder: str, scratch: str
) -> None:
    # About 20 rollovers a second against one poll a second.
    argv = rsyslog_argv(need_tool, folder, scratch, "polling")
    name = "rsyslog imfile polling, ~20 rollovers/s"
    report = follow(argv, folder, scratch, timed(20000), name)
    assert_skipped_whole_files(report, folder, scratch)
