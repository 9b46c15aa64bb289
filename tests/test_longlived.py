"""What a process meets when it runs for days (issue 8): one test per defect, each run with
real processes and real time where the defect needs them, and every log file read back.

Items covered here: 1 (compressed files compressed again), 2 (fork during another thread's
rollover), 3 (non-regular base files), 4 (a killed lock holder with live children), 8
(descriptors after close), 12 (an unreadable period file), 13 (processes configured with
different ``when``/``utc``), 17 (a new timed log started across a second boundary).
The long soak with compression and retention is ``tests/test_soak.py``.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import gc
import json
import logging
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
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
    misfiled,
    outside,
    records_in,
    rotated_pattern,
    scheme,
)
from conftest import FakeClock, descriptors_under, fork_child, wait_blocked
from lockrotate.bench.verify import log_files, read_bytes, record_text, verify
from lockrotate.bench.workload import Workload, logger_for, run

RECORD = 100
WAIT = 30.0
TIMED_RUN = 14.0  # item 1: seconds of one record every 0.25 s
SIZE_RUN = 8.0  # item 1: seconds of 3 processes x 2 threads


class Counting:
    """Mixin: count ``handleError`` calls (and keep the exceptions) instead of printing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.reported: list[str] = []
        super().__init__(*args, **kwargs)

    def handleError(self, record: logging.LogRecord) -> None:
        self.reported.append(repr(sys.exc_info()[1]) if sys.exc_info()[1] else str(record.msg))


class CountingSize(Counting, lockrotate.RotatingFileHandler):
    pass


class CountingTimed(Counting, lockrotate.TimedRotatingFileHandler):
    pass


def wait_child(pid: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.02)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise TimeoutError(f"child {pid} did not finish within {timeout} s")


def write_json(path: str, payload: object) -> None:
    with open(path + ".tmp", "w") as f:
        json.dump(payload, f)
    os.replace(path + ".tmp", path)


def read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)


def no_strangers(allowed: re.Pattern[str]) -> Callable[[Snapshot], list[str]]:
    """A monitor check: every name in the folder belongs to the scheme."""
    return lambda snap: [f"name outside the scheme: {n}" for n in outside(snap.names, allowed)]


# 1. A compressed backup is never compressed again ----------------------------------------


@pytest.mark.slow
def test_timed_compressed_backups_are_not_compressed_again(tmp_path: Path) -> None:
    """One process, one record every 0.25 s, ``when='S'``: each rotated file is compressed
    (1.2 s of stillness with ``check_interval=0.2``) well before the files after it roll;
    the ``.gz`` must never be queued again (today: ``app.log.<label>.gz.gz``)."""
    folder = tmp_path / "logs"
    folder.mkdir()
    handler = lockrotate.TimedRotatingFileHandler(
        str(folder / "app.log"), when="S", backupCount=4, compress="gzip", check_interval=0.2
    )
    logger = logger_for(handler, "gz-timed")
    allowed = scheme("app.log", SECOND_LABEL)
    keep = rotated_pattern("app.log", SECOND_LABEL)
    seq = 0
    with Monitor(
        str(folder),
        str(tmp_path / "archive"),
        log_pattern("app.log", SECOND_LABEL),
        no_strangers(allowed),
    ) as monitor:
        deadline = time.monotonic() + TIMED_RUN
        while time.monotonic() < deadline:
            logger.info(record_text("timed", seq))
            seq += 1
            time.sleep(0.25)
        handler.close()
    assert monitor.problems == []
    finals = log_files(str(folder), "app.log")
    assert compressed_once([f for f in finals if f.endswith(".gz")], {"timed": seq}) == []
    stems = {m[1] for n in os.listdir(folder) if (m := keep.fullmatch(n))}
    assert len(stems) <= handler.backupCount, sorted(os.listdir(folder))
    # The scenario happened: a file a second was rotated, and all but the last few (still
    # within the 1.2 s delay at the end) were seen compressed while the process rolled on.
    compressed_seen = {n for n in monitor.seen if n.endswith(".gz") and allowed.fullmatch(n)}
    assert len(compressed_seen) >= TIMED_RUN - 4, sorted(monitor.seen)
    # Every record is in exactly one file ever written; every .gz ever seen is one of them.
    report, problems = every_record_once(monitor, {"timed": seq})
    assert report.ok, report.examples
    assert problems == []


@pytest.mark.slow
def test_size_compressed_backups_are_not_compressed_again(tmp_path: Path) -> None:
    """3 processes x 2 threads, size rotation with nothing deleted: every ``.gz`` must hold
    its records once, in one gzip layer, and no name may leave the scheme."""
    folder = tmp_path / "logs"
    folder.mkdir()
    factory = functools.partial(
        lockrotate.RotatingFileHandler,
        maxBytes=30_000,
        backupCount=100_000,
        compress="gzip",
        check_interval=0.2,
    )
    allowed = scheme("app.log")
    workload = Workload(3, 2, 0, RECORD, "fork", pace=0.01, seconds=SIZE_RUN)
    with Monitor(
        str(folder), str(tmp_path / "archive"), log_pattern("app.log"), no_strangers(allowed)
    ) as monitor:
        result = run(workload, factory, str(folder), str(tmp_path / "results"))
    assert result.crashed == []
    assert result.handler_errors == 0, [w.stderr for w in result.workers if w.stderr]
    assert monitor.problems == []
    files = log_files(str(folder), "app.log")
    packed = [f for f in files if f.endswith(".gz")]
    # About 60 kB/s against maxBytes 30 kB: a rollover every half second or so; all but
    # the files of the last seconds were compressed while the writers went on.
    assert len(packed) >= SIZE_RUN - 3, files
    assert compressed_once(packed, result.expected) == []
    report = verify(files, result.expected)
    assert report.ok, report.examples
    assert report.found == result.records > 0


# 2. Fork while another thread of the parent is mid-rollover ------------------------------


@contextlib.contextmanager
def parent_mid_rollover(handler: lockrotate.RotatingFileHandler) -> Iterator[threading.Event]:
    """A thread of this process logs until it rolls over; the rollover stops in ``rotator``
    until the block ends. Yields once the thread is inside it (the event releases it)."""
    parent = os.getpid()
    entered, release = threading.Event(), threading.Event()

    def rotator(source: str, dest: str) -> None:
        if os.getpid() == parent:
            entered.set()
            release.wait(WAIT)
        os.rename(source, dest)

    handler.rotator = rotator
    logger = logger_for(handler, "mid-rollover")
    thread = threading.Thread(
        target=lambda: [logger.info(record_text("parent", seq)) for seq in range(30)]
    )
    thread.start()
    try:
        assert entered.wait(WAIT), "the parent's thread never rolled over"
        yield release
    finally:
        release.set()
        thread.join()


def test_children_forked_mid_rollover_still_roll_over(tmp_path: Path) -> None:
    """Today a child inherits the "rolling" state: it never rolls over nor follows a rename,
    and its records all pile into the file its parent renamed."""
    path = str(tmp_path / "app.log")
    max_bytes = 2000
    handler = lockrotate.RotatingFileHandler(
        path, maxBytes=max_bytes, backupCount=1000, lock_timeout=10
    )
    children, count = 3, 150

    def child(index: int) -> Callable[[], None]:
        def body() -> None:
            logger = logger_for(handler, f"child{index}")
            for seq in range(count):
                logger.info(record_text(f"c{index}", seq))
            stats = handler.stats
            write_json(str(tmp_path / f"c{index}.json"), [stats.rollovers, stats.adopted])

        return body

    with parent_mid_rollover(handler):
        pids = [fork_child(child(i)) for i in range(children)]
    codes = [wait_child(pid) for pid in pids]
    handler.close()
    assert codes == [0] * children
    done = [read_json(str(tmp_path / f"c{i}.json")) for i in range(children)]
    files = log_files(str(tmp_path), "app.log")
    expected = {"parent": 30} | {f"c{i}": count for i in range(children)}
    report = verify(files, expected)
    assert report.ok, report.examples
    assert report.found == report.expected
    # Each child took part in the rollovers: it rotated or followed another's rotation.
    assert all(rolled + adopted > 0 for rolled, adopted in done), done
    for file in files:
        assert report.sizes[file] <= max_bytes + (children + 1) * RECORD, (file, report.sizes)


def test_strict_child_forked_mid_rollover_writes_only_with_the_lock(tmp_path: Path) -> None:
    """In strict mode every write holds the lock. A child forked mid-rollover must wait for
    a lock another process holds; today it writes at once, without it."""
    path = str(tmp_path / "app.log")
    handler = lockrotate.RotatingFileHandler(
        path, maxBytes=2000, backupCount=1000, lock_every_write=True, lock_timeout=10
    )
    go_r, go_w = os.pipe()

    def body() -> None:
        os.close(go_w)
        os.read(go_r, 1)
        logger_for(handler, "strict-child").info(record_text("child", 0))

    with parent_mid_rollover(handler):
        pid = fork_child(body)
    os.close(go_r)
    lock_fd = os.open(handler.lock_file, os.O_RDONLY)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)  # another holder: its own open file description
        os.write(go_w, b"x")
        # The child is at its record and waits for the lock (a child that wrote without it
        # would never wait, and fail here).
        wait_blocked(pid)
        written_while_held = [
            r for f in log_files(str(tmp_path), "app.log") for r in records_in(f) if r[0] == "child"
        ]
        fcntl.flock(lock_fd, fcntl.LOCK_UN)
    finally:
        os.close(lock_fd)
        os.close(go_w)
    assert wait_child(pid) == 0
    handler.close()
    assert written_while_held == [], "the child wrote while another process held the lock"
    report = verify(log_files(str(tmp_path), "app.log"), {"parent": 30, "child": 1})
    assert report.ok, report.examples


# 3. Non-regular base files ------------------------------------------------------------------


def build(kind: str, path: str, delay: bool = False) -> Counting:
    if kind == "size":
        return CountingSize(path, maxBytes=300, backupCount=3, delay=delay)
    return CountingTimed(path, when="S", backupCount=3, maxBytes=300, delay=delay)


def log_paced(handler: logging.Handler, writer: str, count: int, pace: float) -> None:
    """Records across more than a second: both a size and a time rollover would be due."""
    logger = logger_for(handler, writer)
    for seq in range(count):
        logger.info(record_text(writer, seq))
        time.sleep(pace)


@pytest.mark.parametrize("delay", [False, True])
@pytest.mark.parametrize("kind", ["size", "timed"])
def test_fifo_gets_every_record_and_no_companion_files(
    tmp_path: Path, kind: str, delay: bool
) -> None:
    folder = tmp_path / "fifo"
    folder.mkdir()
    fifo = folder / "pipe"
    os.mkfifo(fifo)
    received = bytearray()

    def reader() -> None:
        with open(fifo, "rb") as f:  # blocks until the handler opens the pipe for writing
            while chunk := f.read(65536):
                received.extend(chunk)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    count = 30
    handler: Counting | None = None
    try:
        handler = build(kind, str(fifo), delay)
        log_paced(handler, "fifo", count, 0.04)
    finally:
        if handler is not None:
            handler.close()  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):  # a reader still waiting in open(): let it go
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(WAIT)
    out = tmp_path / "received"
    out.write_bytes(bytes(received))
    report = verify([str(out)], {"fifo": count})
    assert report.ok, report.examples
    assert handler is not None and handler.reported == []
    assert sorted(os.listdir(folder)) == ["pipe"]


@contextlib.contextmanager
def no_new_files_in(folder: str, names: list[str]) -> Iterator[list[str]]:
    """Yield the list of *names* that appeared in *folder* during the block (removed after:
    a failing run must not leave them in /dev)."""
    before = {name for name in names if os.path.lexists(os.path.join(folder, name))}
    created: list[str] = []
    try:
        yield created
    finally:
        for name in names:
            if name not in before and os.path.lexists(os.path.join(folder, name)):
                created.append(name)
                os.unlink(os.path.join(folder, name))


@pytest.mark.parametrize("kind", ["size", "timed"])
def test_dev_null_is_written_never_rotated(kind: str) -> None:
    companions = [".null.lock", ".null.period"]
    with no_new_files_in("/dev", companions) as created:
        handler = build(kind, "/dev/null")
        try:
            log_paced(handler, "null", 30, 0.04)
        finally:
            handler.close()  # type: ignore[attr-defined]
        assert handler.reported == []
        assert handler.stats.records == 30  # type: ignore[attr-defined]
        assert handler.stats.rollovers == 0  # type: ignore[attr-defined]
    assert created == []
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


STDOUT_CHILD = textwrap.dedent(
    """
    import sys, time
    import lockrotate
    from lockrotate.bench.verify import record_text
    from lockrotate.bench.workload import logger_for

    count = int(sys.argv[1])
    for kind in ("size", "timed"):
        if kind == "size":
            handler = lockrotate.RotatingFileHandler("/dev/stdout", maxBytes=300, backupCount=3)
        else:
            handler = lockrotate.TimedRotatingFileHandler(
                "/dev/stdout", when="S", backupCount=3, maxBytes=300
            )
        logger = logger_for(handler, kind)
        for seq in range(count):
            logger.info(record_text(kind, seq))
            time.sleep(0.04)
        handler.close()
    """
)


def test_dev_stdout_as_a_pipe_gets_every_record() -> None:
    """As under Docker, systemd or ``| tee``: stdout is a pipe."""
    count = 30
    with no_new_files_in("/dev", [".stdout.lock", ".stdout.period"]) as created:
        proc = subprocess.run(
            [sys.executable, "-c", STDOUT_CHILD, str(count)],
            capture_output=True,
            timeout=120,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert b"Logging error" not in proc.stderr, proc.stderr.decode(errors="replace")
    with tempfile.NamedTemporaryFile("wb", suffix=".out", delete=False) as out:
        out.write(proc.stdout)
    try:
        report = verify([out.name], {"size": count, "timed": count})
    finally:
        os.unlink(out.name)
    assert report.ok, report.examples
    assert created == []


# 4. A killed lock holder with live children ---------------------------------------------


def _holder(path: str, max_bytes: int, report_w: int) -> None:
    """Roll over once (the lock file is now open here), fork two children that live on
    without logging, then stop inside the next rollover with the lock held."""
    handler = lockrotate.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=1000)
    logger = logger_for(handler, "holder")
    state = {"seq": 0, "block": False}

    def rotator(source: str, dest: str) -> None:
        if state["block"]:
            os.write(report_w, f"holding {state['seq']}\n".encode())
            time.sleep(3600)
        os.rename(source, dest)

    handler.rotator = rotator

    def log_until_rollover() -> None:
        rolled = handler.stats.rollovers
        while handler.stats.rollovers == rolled:
            logger.info(record_text("holder", state["seq"]))
            state["seq"] += 1

    log_until_rollover()
    pids = []
    for _ in range(2):
        pid = os.fork()
        if pid == 0:  # a child that lives on with what it inherited
            time.sleep(3600)
            os._exit(0)
        pids.append(pid)
    os.write(report_w, f"children {' '.join(map(str, pids))}\n".encode())
    state["block"] = True
    log_until_rollover()


def test_killed_lock_holder_with_live_children_blocks_nobody(tmp_path: Path) -> None:
    """A process is SIGKILLed inside a rollover, with the lock held, while children it
    forked after building its handler live on. They must not keep its lock: others rotate
    again (today the lock stays held by the children's copies of its descriptor)."""
    path = str(tmp_path / "app.log")
    max_bytes = 500
    report_r, report_w = os.pipe()

    def holder() -> None:
        os.close(report_r)
        _holder(path, max_bytes, report_w)

    pid = fork_child(holder)
    os.close(report_w)
    lines: list[str] = []
    children: list[int] = []
    try:
        with os.fdopen(report_r, "r") as report:
            for _ in range(2):
                lines.append(report.readline())
        children = [int(p) for p in lines[0].split()[1:]]
        assert lines[1].startswith("holding"), lines
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        assert all(_alive(child) for child in children)
        handler = CountingSize(path, maxBytes=max_bytes, backupCount=1000, lock_timeout=0.2)
        logger = logger_for(handler, "after")
        seq = 0
        deadline = time.monotonic() + 8.0
        while handler.stats.rollovers == 0 and time.monotonic() < deadline:
            logger.info(record_text("after", seq))
            seq += 1
            time.sleep(0.02)
        for _ in range(10):  # and it goes on rotating
            logger.info(record_text("after", seq))
            seq += 1
        handler.close()
    finally:
        for child in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
    assert handler.stats.rollovers > 0, "nobody could rotate: the dead holder's lock lives on"
    assert handler.reported == []
    files = log_files(str(tmp_path), "app.log")
    report = verify(files, {"holder": int(lines[1].split()[1]), "after": seq})
    assert report.ok, report.examples
    for file in files:
        assert report.sizes[file] <= max_bytes + RECORD, (file, report.sizes)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# 8. No descriptor outlives close() ----------------------------------------------------------


@pytest.mark.parametrize("kind", ["size", "timed"])
def test_no_descriptor_outlives_close(tmp_path: Path, kind: str) -> None:
    build(kind, str(tmp_path / "warm.log")).close()  # type: ignore[attr-defined]
    gc.collect()
    before = descriptors_under(tmp_path)
    handlers = []
    for index in range(20):
        handler = build(kind, str(tmp_path / f"app{index}.log"))
        handler.handle(logging.makeLogRecord({"msg": "before close"}))  # type: ignore[attr-defined]
        handler.close()  # type: ignore[attr-defined]
        handler.handle(logging.makeLogRecord({"msg": "after close"}))  # type: ignore[attr-defined]
        handlers.append(handler)
    gc.collect()
    assert descriptors_under(tmp_path) == before


# 12. An unreadable period file does not stop the rollover -----------------------------------


def label(t: float) -> str:
    return time.strftime("%Y-%m-%d_%H-%M-%S", time.gmtime(t))


@pytest.fixture
def shared_folder() -> Iterator[str]:
    """A folder an unprivileged user can reach and write (tmp_path's parents are root's)."""
    path = tempfile.mkdtemp(prefix="lockrotate-longlived-", dir="/tmp")
    os.chmod(path, 0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.parametrize("period_file", ["other_user", "directory"])
def test_unreadable_period_file_does_not_stop_the_rollover(
    shared_folder: str, period_file: str
) -> None:
    """The rollover renames the file, then must still apply retention and compression; the
    period file's failure is reported once. Today it raises after the rename."""
    folder = os.path.join(shared_folder, "logs")
    os.mkdir(folder, 0o777)
    os.chmod(folder, 0o777)
    ledger = os.path.join(folder, ".app.log.period")
    if period_file == "directory":
        os.mkdir(ledger)
    else:
        with open(ledger, "w") as f:
            f.write("1 2 3\n")
        os.chmod(ledger, 0o600)  # root's: the writer (nobody) can neither read nor write it
    result = os.path.join(shared_folder, "result.json")
    path = os.path.join(folder, "app.log")
    start = float(int(time.time()))
    old = [start - 30, start - 20, start - 10]

    def body() -> None:
        if period_file == "other_user":
            nobody = pwd.getpwnam("nobody")
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
        for n, t in enumerate(old):
            name = f"{path}.{label(t)}"
            with open(name, "w") as f:
                f.write(record_text("old", n) + "\n")
            os.utime(name, (time.time() - 100, time.time() - 100))
        clock = FakeClock(start)
        handler = CountingTimed(
            path,
            when="S",
            utc=True,
            backupCount=2,
            compress="gzip",
            check_interval=0.1,
            clock=clock,
        )
        logger = logger_for(handler, "ledger")
        for seq in range(3):
            logger.info(record_text("a", seq))
        clock.now = start + 1  # the next record rolls the file over
        for seq in range(4):
            logger.info(record_text("b", seq))
        rotated = f"{path}.{label(start)}"
        deadline = time.monotonic() + 10.0  # compression waits 1.1 s of stillness
        while (os.path.exists(rotated) or not os.path.exists(rotated + ".gz")) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.05)
        handler.close()
        write_json(
            result,
            {
                "errors": handler.reported,
                "rollovers": handler.stats.rollovers,
                "names": os.listdir(folder),
            },
        )

    assert wait_child(fork_child(body)) == 0
    done = read_json(result)
    names = sorted(n for n in done["names"] if not n.startswith("."))
    stems = sorted(n.removesuffix(".gz") for n in names if n != "app.log")
    assert done["rollovers"] == 1
    # Retention ran: of the four rotated files the newest two are left; compression ran.
    assert stems == [f"app.log.{label(start - 10)}", f"app.log.{label(start)}"], names
    assert f"app.log.{label(start)}.gz" in names and f"app.log.{label(start)}" not in names
    assert len(done["errors"]) == 1, done["errors"]
    kept = [
        os.path.join(folder, n)
        for n in names
        if "old" not in read_bytes(os.path.join(folder, n)).decode()
    ]
    report = verify(kept, {"a": 3, "b": 4})
    assert report.ok, report.examples


# 13. Processes configured differently for one file -----------------------------------------


def _timed_writer(
    path: str,
    options: dict[str, Any],
    tz: str | None,
    times: tuple[float, float, float],
    writer: str,
    out: str,
    parity: int | None = None,
) -> None:
    """Build a timed handler at ``times[0]``, log from ``times[1]`` until ``times[2]``, and
    note each record's creation time, taken just before it is logged. With *parity*, log
    only in the seconds whose number has that parity. A handler that refuses its
    configuration (``ValueError``) logs nothing, and says why."""
    if tz is not None:
        os.environ["TZ"] = tz
        time.tzset()
    build_at, log_from, until = times
    time.sleep(max(0.0, build_at - time.time()))
    try:
        handler = lockrotate.TimedRotatingFileHandler(path, **options)
    except ValueError as exc:
        write_json(out, {"built": time.time(), "created": [], "refused": str(exc)})
        return
    built = time.time()
    logger = logger_for(handler, writer)
    time.sleep(max(0.0, log_from - time.time()))
    created = []
    while (now := time.time()) < until:
        if parity is not None and int(now) % 2 != parity:
            time.sleep(0.01)
            continue
        created.append(now)
        logger.info(record_text(writer, len(created) - 1))
        time.sleep(0.01)
    handler.close()
    write_json(out, {"built": built, "created": created, "refused": None})


def run_timed_writers(
    tmp_path: Path,
    folder: Path,
    plans: dict[str, tuple[dict[str, Any], str | None, tuple[float, float, float]]],
    alternate: bool = False,
) -> dict[str, Any]:
    """One forked process per plan; with *alternate*, the i-th logs only in seconds of
    parity i % 2, so that each rollover is done by a known process."""
    pids = []
    outs = {w: str(tmp_path / f"{folder.name}-{w}.json") for w in plans}
    path = str(folder / "app.log")
    for index, (writer, (options, tz, times)) in enumerate(plans.items()):
        parity = index % 2 if alternate else None
        body = functools.partial(
            _timed_writer, path, options, tz, times, writer, outs[writer], parity
        )
        pids.append(fork_child(body))
    assert [wait_child(pid) for pid in pids] == [0] * len(plans)
    return {w: read_json(outs[w]) for w in plans}


MISMATCHES: dict[str, tuple[tuple[dict[str, Any], str | None], ...]] = {
    "when S and M": (({"when": "S"}, None), ({"when": "M"}, None)),
    "interval 2 and 1 with maxBytes": (
        ({"when": "S", "interval": 2}, None),
        ({"when": "S", "maxBytes": 3000}, None),
    ),
    "utc and local, backupCount 3": (
        ({"when": "S", "utc": True, "backupCount": 3}, "JST-9"),
        ({"when": "S", "backupCount": 3}, "JST-9"),
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("configs", MISMATCHES.values(), ids=MISMATCHES.keys())
def test_mismatched_configurations_lose_and_overwrite_nothing(
    tmp_path: Path, configs: tuple[tuple[dict[str, Any], str | None], ...]
) -> None:
    """A rolling deploy: two processes name one file with different ``when`` or ``utc``.
    Whatever the handlers decide (refuse, or one setting wins), every record logged must be
    kept once and whole; an overwritten file would show as lost records. The two take turns
    second by second, so that both perform rollovers (else whoever is faster does them all).

    With ``backupCount=3`` retention may drop old records, never recent ones: the writers
    stop half a second into second E, so the base file holds second E and the three newest
    rotated files seconds E-3 to E-1; a record created from E-3 on (plus 0.25 s for records
    on their way across that boundary) must be there. Today each process sorts the other's
    labels (UTC against Tokyo time) as if they were its own, and deletes the newest."""
    folder = tmp_path / "logs"
    folder.mkdir()
    now = time.time()
    until = int(now) + 6.5
    plans = {f"w{i}": (options, tz, (now, now, until)) for i, (options, tz) in enumerate(configs)}
    done = run_timed_writers(tmp_path, folder, plans, alternate=True)
    expected = {w: len(done[w]["created"]) for w in plans}
    assert sum(expected.values()) > 0, done
    keep = max(options.get("backupCount", 0) for options, _ in configs)
    recent = int(until) - keep + 0.25 if keep else float("-inf")
    must_keep = {(w, seq) for w in plans for seq, t in enumerate(done[w]["created"]) if t >= recent}
    report = verify(log_files(str(folder), "app.log"), expected)
    assert (report.duplicated, report.torn, report.out_of_order, report.unexpected) == (0, 0, 0, 0)
    found = {r for f in log_files(str(folder), "app.log") for r in records_in(f)}
    lost = sorted(must_keep - found)
    assert lost == [], (len(lost), lost[:5], sorted(os.listdir(folder)))
    if not keep:
        assert report.ok and report.found == report.expected, report.examples


# 17. A brand-new timed log started across a boundary ----------------------------------------


@pytest.mark.slow
def test_new_timed_log_started_across_a_boundary_misfiles_nothing(tmp_path: Path) -> None:
    """Process A builds the handler (creating the empty base file) late in second X; B
    builds it early in X+1 and logs at once; A logs from a moment later. Today A renames
    the file under label X although it holds B's lines of second X+1."""
    on_the_way = 0.25
    for attempt in range(3):
        folder = tmp_path / f"logs{attempt}"
        folder.mkdir()
        boundary = float(int(time.time()) + 2)
        end = boundary + 2.5
        plans: dict[str, tuple[dict[str, Any], str | None, tuple[float, float, float]]] = {
            "a": ({"when": "S"}, None, (boundary - 0.15, boundary + 0.3, end)),
            "b": ({"when": "S"}, None, (boundary + 0.05, boundary + 0.05, end)),
        }
        done = run_timed_writers(tmp_path, folder, plans)
        # The scenario needs A built in second X and B in X+1: retry if the machine slipped.
        if done["a"]["built"] < boundary <= done["b"]["built"]:
            break
    else:
        pytest.fail("could not build the two handlers on either side of a boundary")
    expected = {w: len(done[w]["created"]) for w in plans}
    created = {(w, seq): t for w in plans for seq, t in enumerate(done[w]["created"])}
    files = log_files(str(folder), "app.log")
    report = verify(files, expected)
    assert report.ok, report.examples
    wrong = misfiled({f: records_in(f) for f in files}, created, "app.log", on_the_way)
    assert wrong == [], wrong[:10]
