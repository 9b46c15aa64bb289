"""``lockrotate status``: what it shows of a shared log, from real handlers and real processes,
and that it changes nothing."""

from __future__ import annotations

import gzip
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import lockrotate
from conftest import FakeClock, wait_blocked
from lockrotate import status
from lockrotate._ledger import PERIOD_WIDTH
from lockrotate._naming import scratch_path

SRC = str(Path(lockrotate.__file__).resolve().parent.parent)

HOLD = (
    "import fcntl, os, sys, time\n"
    "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o640)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "print('locked', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
)
WAIT = (
    "import fcntl, os, sys, time\n"
    "fd = os.open(sys.argv[1], os.O_RDWR)\n"
    "fcntl.flock(fd, fcntl.LOCK_EX)\n"
    "time.sleep(60)\n"
)
# A rollover killed after the backups were shifted, before the base file moved to .1.
KILLED_ROLLOVER = (
    "import logging, os, signal, sys, lockrotate\n"
    "h = lockrotate.RotatingFileHandler(sys.argv[1], maxBytes=int(sys.argv[2]), backupCount=9)\n"
    "h.rotator = lambda source, dest: os.kill(os.getpid(), signal.SIGKILL)\n"
    "h.emit(logging.makeLogRecord({'msg': sys.argv[3]}))\n"
)
SCRATCH = (
    "import sys\nfrom lockrotate._naming import scratch_path\nprint(scratch_path(sys.argv[1]))\n"
)


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m lockrotate status ARGS``, as a person on call runs it."""
    return subprocess.run(
        [sys.executable, "-m", "lockrotate", "status", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env(),
        timeout=60,
    )


def cli_json(*args: str) -> tuple[int, dict[str, Any]]:
    done = cli(*args, "--json")
    assert done.stderr == ""
    return done.returncode, json.loads(done.stdout)


def doc(path: str, *args: str) -> tuple[int, dict[str, Any]]:
    """The report of :func:`lockrotate.status.main`'s options, in-process."""
    parsed = status.build_parser().parse_args([path, *args])
    options = status.Options(
        os.path.abspath(parsed.path),
        parsed.lock_dir,
        parsed.when,
        parsed.utc,
        parsed.max_bytes,
        parsed.stuck_after,
    )
    report = status.inspect(options)
    return report.exit_code, report.document()


def states(document: dict[str, Any]) -> dict[str, str]:
    return {row["name"]: row["state"] for row in document["files"]}


def kinds(document: dict[str, Any], key: str = "problems") -> list[str]:
    return [item["kind"] for item in document[key]]


def write(path: str, text: str, mtime_ns: int | None = None) -> None:
    with open(path, "w") as f:
        f.write(text)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def write_gz(path: str, text: str, mtime_ns: int | None = None) -> None:
    with gzip.open(path, "wt") as f:
        f.write(text)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


class Child:
    """A child process that prints one line once it is ready."""

    def __init__(self, script: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True, env=env()
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def ready(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline()

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture
def log(tmp_path: Path) -> str:
    folder = tmp_path / "logs"
    folder.mkdir()
    return str(folder / "app.log")


# The lock ---------------------------------------------------------------------------------


def test_holder_and_waiter_are_shown_and_a_long_hold_needs_a_person(
    log: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lock_file = lockrotate.RotatingFileHandler(log, delay=True).lock_file
    write(log, "one line\n")
    holder = Child(HOLD, lock_file, "60")
    waiter = None
    try:
        assert holder.ready() == "locked\n"
        waiter = Child(WAIT, lock_file)
        wait_blocked(waiter.pid)
        code, document = cli_json(log, "--stuck-after", "0.5")
        assert code == 1
        assert kinds(document) == ["stuck_lock"]
        lock = document["lock"]
        assert [p["pid"] for p in lock["holders"]] == [holder.pid]
        assert lock["holders"][0]["argv"] == [sys.executable, "-c", HOLD, lock_file, "60"]
        assert lock["holders"][0]["command"].startswith(f"{sys.executable} -c 'import fcntl")
        assert "\n" not in lock["holders"][0]["command"]
        assert lock["waiters"][0]["argv"] == [sys.executable, "-c", WAIT, lock_file]
        assert [p["pid"] for p in lock["waiters"]] == [waiter.pid]
        assert lock["stuck"] is True
        assert lock["watched_seconds"] >= 0.5

        # The same, called in-process, as plain text.
        assert status.main([log, "--stuck-after", "0.3", "--plain"]) == 1
        out = capsys.readouterr().out
        assert out.startswith(f"lockrotate status {log}: NEEDS ATTENTION")
        assert f"lock held by  pid {holder.pid} (" in out
        assert f"lock waiter   pid {waiter.pid} (" in out
        assert "STUCK" in out
    finally:
        holder.stop()
        if waiter is not None:
            waiter.stop()


def test_a_lock_let_go_within_the_window_is_not_stuck(log: str) -> None:
    lock_file = lockrotate.RotatingFileHandler(log, delay=True).lock_file
    holder = Child(HOLD, lock_file, "0.3")
    try:
        assert holder.ready() == "locked\n"
        started = time.monotonic()
        code, document = doc(log, "--stuck-after", "30")
        took = time.monotonic() - started
    finally:
        holder.stop()
    assert code == 0, document["problems"]
    assert [p["pid"] for p in document["lock"]["holders"]] == [holder.pid]
    assert document["lock"]["stuck"] is False
    # Watching ended when the holder let go, long before --stuck-after.
    assert took < 20


def test_a_free_lock_is_answered_at_once(log: str) -> None:
    handler = lockrotate.RotatingFileHandler(log, maxBytes=10, backupCount=2)
    for _ in range(3):  # rollovers: the lock file exists
        handler.emit(logging.makeLogRecord({"msg": "hello"}))
    handler.close()
    started = time.monotonic()
    code, document = doc(log)  # --stuck-after 10 by default
    assert time.monotonic() - started < status.DEFAULT_STUCK_AFTER / 2
    assert code == 0
    assert document["lock"]["exists"] is True
    assert document["lock"]["holders"] == [] and document["lock"]["watched_seconds"] == 0


def test_proc_locks_lines_are_matched_by_device_and_inode() -> None:
    text = (
        "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF\n"
        "1: -> FLOCK  ADVISORY  WRITE 1235 fd:01:5678 0 EOF\n"
        "2: POSIX  ADVISORY  WRITE 99 fd:01:5679 0 EOF\n"
        "3: FLOCK  ADVISORY  WRITE 77 08:01:5678 0 EOF\n"
    )
    identity = (os.makedev(0xFD, 1), 5678)
    holders, waiters = status.lock_users(text, identity)
    assert [(line.pid, line.kind) for line in holders] == [(1234, "FLOCK")]
    assert [line.pid for line in waiters] == [1235]


def test_a_line_with_another_device_counts_when_the_process_has_the_file_open(log: str) -> None:
    """btrfs subvolumes and overlays show another device in /proc/locks than stat does."""
    lock_file = lockrotate.RotatingFileHandler(log, delay=True).lock_file
    holder = Child(HOLD, lock_file, "60")
    try:
        assert holder.ready() == "locked\n"
        st = os.stat(lock_file)
        text = (
            f"1: FLOCK  ADVISORY  WRITE {holder.pid} ff:ff:{st.st_ino} 0 EOF\n"
            f"2: FLOCK  ADVISORY  WRITE {os.getpid()} ff:fe:{st.st_ino} 0 EOF\n"
        )
        holders, waiters = status.lock_users(text, (st.st_dev, st.st_ino))
    finally:
        holder.stop()
    assert [line.pid for line in holders] == [holder.pid] and waiters == []


# Rotated files ----------------------------------------------------------------------------


def test_a_killed_rollover_leaves_a_gap_that_the_next_rollover_closes(log: str) -> None:
    line = "x" * 40
    handler = lockrotate.RotatingFileHandler(log, maxBytes=100, backupCount=9)
    handler.setFormatter(logging.Formatter("%(message)s"))
    expected = []
    for i in range(8):
        expected.append(f"r{i:03d} {line}")
        handler.emit(logging.makeLogRecord({"msg": expected[-1]}))
    handler.close()
    before = sorted(os.listdir(os.path.dirname(log)))
    assert f"app.log.{3}" in before and "app.log.4" not in before
    expected.append(f"r999 {line}")
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_ROLLOVER, log, "100", expected[-1]], check=False, env=env()
    )
    assert killed.returncode == -9
    expected.pop()  # the killed process never wrote it
    assert not os.path.exists(log + ".1") and os.path.exists(log + ".4")

    code, document = cli_json(log)
    assert code == 0, document["problems"]
    assert kinds(document, "notes") == ["gap"]
    assert ".1 missing" in document["notes"][0]["message"]
    assert set(states(document)) == {"app.log.2", "app.log.3", "app.log.4"}

    handler = lockrotate.RotatingFileHandler(log, maxBytes=100, backupCount=9)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for i in range(8, 10):
        expected.append(f"r{i:03d} {line}")
        handler.emit(logging.makeLogRecord({"msg": expected[-1]}))
    handler.close()
    code, document = doc(log)
    assert code == 0 and kinds(document, "notes") == []
    names = sorted(states(document))
    assert names == [f"app.log.{i}" for i in range(1, len(names) + 1)]
    # Every record, once and whole, across the base file and the chain.
    seen = []
    for name in [*names, "app.log"]:
        with open(os.path.join(os.path.dirname(log), name)) as f:
            seen += f.read().splitlines()
    assert sorted(seen) == sorted(expected)


def test_pending_compression_and_crash_pairs(log: str) -> None:
    now = time.time_ns()
    write(log, "base\n")
    write(log + ".1", "one\n", now - 10**9)
    write_gz(log + ".2.gz", "two\n", now - 2 * 10**9)
    # A compression interrupted after its copy was finished: the same mtime, to the ns.
    write(log + ".3", "three\n", now - 3 * 10**9 + 7)
    write_gz(log + ".3.gz", "three\n", now - 3 * 10**9 + 7)
    # Not one copy of the other: another mtime.
    write(log + ".4", "four\n", now - 4 * 10**9)
    write_gz(log + ".4.gz", "vier\n", now - 5 * 10**9)
    code, document = cli_json(log)
    assert code == 0, document["problems"]
    assert states(document) == {
        "app.log.1": "waiting",
        "app.log.2.gz": "compressed",
        "app.log.3": "interrupted",
        "app.log.3.gz": "interrupted",
        "app.log.4": "side-by-side",
        "app.log.4.gz": "side-by-side",
    }
    assert [row["name"] for row in document["files"]][:2] == ["app.log.1", "app.log.2.gz"]
    assert kinds(document, "notes") == ["waiting", "interrupted", "side_by_side", "no_lock_file"]
    assert document["totals"]["waiting"] == 1
    sizes = {row["name"]: row["size"] for row in document["files"]}
    assert sizes["app.log.3"] == os.path.getsize(log + ".3")


def test_plain_files_without_any_compressed_one_are_just_plain(log: str) -> None:
    write(log, "")
    for i in (1, 2):
        write(f"{log}.{i}", f"{i}\n")
    code, document = doc(log)
    assert code == 0
    assert states(document) == {"app.log.1": "plain", "app.log.2": "plain"}


def test_every_compression_format_is_recognised(log: str) -> None:
    write(log, "")
    from lockrotate._compress import EXTENSIONS

    for i, extension in enumerate(EXTENSIONS.values(), start=1):
        write(f"{log}.{i}{extension}", "packed")
    code, document = doc(log)
    assert code == 0, document["problems"]
    assert set(states(document).values()) == {"compressed"}
    assert len(document["files"]) == len(EXTENSIONS)


def test_stray_scratch_of_a_dead_process_needs_a_person(log: str) -> None:
    write(log, "")
    done = subprocess.run(
        [sys.executable, "-c", SCRATCH, log], check=True, capture_output=True, text=True, env=env()
    )
    dead = done.stdout.strip()
    write(dead, "half a compressed copy")
    code, document = cli_json(log)
    assert code == 1
    assert kinds(document) == ["stray_scratch"]
    assert states(document) == {os.path.basename(dead): "stray"}
    assert document["files"][0]["pid"] == int(dead.split(".")[-3])
    assert document["files"][0]["alive"] is False

    os.remove(dead)
    live = scratch_path(log)  # this process, alive
    write(live, "in progress")
    code, document = doc(log)
    assert code == 0
    assert states(document) == {os.path.basename(live): "scratch"}
    assert document["files"][0]["alive"] is True


def test_names_outside_the_scheme_need_a_person(log: str) -> None:
    write(log, "")
    for name in ("app.log.8.gz.gz", "app.log.9999-99-99", "app.log.bak", "app.log.0"):
        write(os.path.join(os.path.dirname(log), name), "?")
    write(log + ".2024-01-02", "a real day")
    write(log + ".2024-01-02_03", "a real hour")
    write(log + ".5.gz", "packed")
    write(os.path.join(os.path.dirname(log), "other.log.1"), "another log's")
    code, document = cli_json(log)
    assert code == 1
    outside = {row["name"]: row["reason"] for row in document["outside_scheme"]}
    assert sorted(outside) == ["app.log.0", "app.log.8.gz.gz", "app.log.9999-99-99", "app.log.bak"]
    assert outside["app.log.8.gz.gz"].startswith("compressed twice?")
    assert set(kinds(document)) == {"outside_scheme"} and len(document["problems"]) == 4
    assert set(states(document)) == {"app.log.2024-01-02", "app.log.2024-01-02_03", "app.log.5.gz"}

    # With --when D, an hourly label is not this log's.
    code, document = doc(log, "--when", "D")
    assert "app.log.2024-01-02_03" in [row["name"] for row in document["outside_scheme"]]
    assert "app.log.2024-01-02" in states(document)


def test_a_base_file_far_past_max_bytes_needs_a_person(log: str) -> None:
    write(log, "x" * 3000)
    code, document = doc(log, "--max-bytes", "1000")
    assert code == 1 and kinds(document) == ["oversize"]
    code, document = doc(log, "--max-bytes", "2000")
    assert code == 0 and "over_max_bytes" in kinds(document, "notes")
    code, document = doc(log, "--max-bytes", "3000")
    assert code == 0 and "over_max_bytes" not in kinds(document, "notes")
    assert document["base"]["size"] == 3000
    assert document["base"]["inode"] == os.stat(log).st_ino


# The period file --------------------------------------------------------------------------


def test_the_period_entry_names_the_base_file_or_another(log: str) -> None:
    before = time.time()
    handler = lockrotate.TimedRotatingFileHandler(log, when="H", backupCount=3)
    handler.emit(logging.makeLogRecord({"msg": "hello"}))
    handler.close()
    code, document = cli_json(log, "--when", "H")
    after = time.time()
    assert code == 0, document["problems"]
    period = document["period"]
    assert period["matches_base"] is True
    assert period["inode"] == os.stat(log).st_ino
    assert period["signature"] == "H/3600/0/local"
    # The hour the file was dated in (an hour may begin while the test runs).
    assert period["period_start"] <= after and before < period["period_end"]
    assert period["period_end"] - period["period_start"] == 3600

    write(log + ".new", "a base file made by someone else\n")
    os.rename(log + ".new", log)
    code, document = doc(log, "--when", "H")
    assert code == 0
    assert document["period"]["matches_base"] is False
    assert "period_other_file" in kinds(document, "notes")


def test_the_period_entry_is_read_beside_the_rotation_book(log: str) -> None:
    """The ledger holds the rotation book after its period line: status reads the line as
    before, and the book's records are no trouble to it."""
    clock = FakeClock(1_700_000_000.0)
    handler = lockrotate.TimedRotatingFileHandler(log, when="S", backupCount=2, clock=clock)
    for second in range(4):
        handler.emit(logging.makeLogRecord({"msg": f"second {second}"}))
        clock.now += 1
    handler.close()
    ledger = os.path.join(os.path.dirname(log), f".{os.path.basename(log)}.period")
    assert os.path.getsize(ledger) > PERIOD_WIDTH  # three rotations booked
    code, document = doc(log, "--when", "S")
    assert code == 0, document["problems"]
    period = document["period"]
    assert period["readable"] is True and period["matches_base"] is True
    assert period["period_start"] == 1_700_000_003
    assert period["signature"] == "S/1/0/local"
    assert "period_unreadable" not in kinds(document, "notes")

def test_lock_dir_is_followed_and_a_stray_lock_beside_the_log_is_reported(
    log: str, tmp_path: Path
) -> None:
    locks = tmp_path / "locks"
    locks.mkdir()

    def roll(**options: Any) -> str:
        handler = lockrotate.RotatingFileHandler(log, maxBytes=10, backupCount=2, **options)
        for _ in range(3):  # rollovers: the lock file exists
            handler.emit(logging.makeLogRecord({"msg": "hello"}))
        handler.close()
        return handler.lock_file

    lock_file = roll(lock_dir=locks)
    code, document = doc(log, "--lock-dir", str(locks))
    assert code == 0, document["problems"]
    assert document["lock"]["path"] == lock_file and document["lock"]["exists"]
    code, document = doc(log)
    assert "no_lock_file" in kinds(document, "notes")
    roll()
    code, document = doc(log, "--lock-dir", str(locks))
    assert code == 1
    assert [row["name"] for row in document["outside_scheme"]] == [".app.log.lock"]


# Reading only -----------------------------------------------------------------------------


def snapshot(folder: str) -> dict[str, tuple[int, int, int, int]]:
    found = {}
    for name in [".", *os.listdir(folder)]:
        st = os.lstat(os.path.join(folder, name))
        found[name] = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_mode)
    return found


def test_status_changes_nothing_and_creates_nothing(log: str) -> None:
    folder = os.path.dirname(log)
    write(log, "base\n")
    assert status.main([log, "--json", "--when", "H"]) == 0
    assert sorted(os.listdir(folder)) == ["app.log"], "no lock or period file was created"

    handler = lockrotate.TimedRotatingFileHandler(log, when="H", compress="gzip")
    handler.emit(logging.makeLogRecord({"msg": "hello"}))
    lock_file = handler.lock_file
    handler.close()
    write(log + ".2024-01-01", "plain\n")
    write_gz(log + ".2024-01-02.gz", "packed\n")
    write(log + ".2024-01-03", "pair\n", 10**18)
    write_gz(log + ".2024-01-03.gz", "pair\n", 10**18)
    write(os.path.join(folder, "app.log.bak"), "?")
    dead = subprocess.run(
        [sys.executable, "-c", SCRATCH, log], check=True, capture_output=True, text=True, env=env()
    ).stdout.strip()
    write(dead, "stray")
    os.chmod(log, 0o600)
    before = snapshot(folder)
    holder = Child(HOLD, lock_file, "60")
    try:
        assert holder.ready() == "locked\n"
        assert cli("--plain", "--when", "H", "--stuck-after", "0.2", log).returncode == 1
        code, document = doc(log, "--stuck-after", "0.2", "--max-bytes", "1")
        assert code == 1
    finally:
        holder.stop()
    assert snapshot(folder) == before
    assert set(kinds(document)) == {"stuck_lock", "oversize", "stray_scratch", "outside_scheme"}


# Output and usage -------------------------------------------------------------------------


def test_json_document_is_stable(log: str) -> None:
    write(log, "")
    code, document = cli_json(log)
    assert code == 0
    assert list(document) == [
        "schema",
        "path",
        "checked_at",
        "healthy",
        "exit_status",
        "problems",
        "notes",
        "base",
        "files",
        "outside_scheme",
        "lock",
        "period",
        "totals",
    ]
    assert document["schema"] == status.SCHEMA and document["healthy"] is True
    assert document["path"] == log


def test_rich_on_a_terminal_and_plain_without_rich(
    log: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write(log, "")
    write(log + ".1", "one\n")
    write(os.path.join(os.path.dirname(log), "app.log.bak"), "?")
    report = status.inspect(status.Options(log, stuck_after=0.1))
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    status.show(report, plain=False)
    fancy = capsys.readouterr().out
    assert "rotated files" in fancy and "┃" in fancy and "app.log.1" in fancy

    monkeypatch.setitem(sys.modules, "rich.console", None)
    status.show(report, plain=False)
    plain = capsys.readouterr().out
    assert plain == status.plain_text(report) + "\n"
    assert "app.log.bak" in plain and "OUTSIDE THE SCHEME" in plain


@pytest.mark.parametrize(
    "args",
    [["/no/such/folder/app.log"], ["--when", "X", "app.log"], [], ["--stuck-after", "0", "a"]],
)
def test_bad_usage_exits_2(args: list[str]) -> None:
    done = cli(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "error" in done.stderr


def test_a_folder_is_not_a_log(log: str) -> None:
    assert cli(os.path.dirname(log)).returncode == 2


# Text other users control (issue 18, item 6) -----------------------------------------------

HOSTILE_NAMES = [
    "app.log.\x1b[2J\x1b]0;owned\x07",
    "app.log.x\nlockrotate status app.log: OK",
    "app.log.\u202egnp.exe",
    "app.log.[bold red]x",
]


def assert_harmless(out: str) -> None:
    """No sequence of the names reaches the terminal, and no line is forged."""
    assert "\x1b[2J" not in out and "\x1b]0;" not in out and "\x07" not in out
    assert "\u202e" not in out
    lines = out.splitlines()
    assert not any(line.startswith("lockrotate status") for line in lines[1:]), lines


def test_hostile_file_names_are_escaped_in_plain_text(log: str) -> None:
    folder = os.path.dirname(log)
    write(log, "")
    for name in HOSTILE_NAMES:
        write(os.path.join(folder, name), "?")
    report = status.inspect(status.Options(log, stuck_after=0.1))
    out = status.plain_text(report)
    assert_harmless(out)
    assert "app.log.\\x1b[2J\\x1b]0;owned\\x07" in out
    assert "app.log.x\\nlockrotate status" in out
    assert "app.log.[bold red]x" in out


def test_hostile_names_and_a_holders_argv_in_rich_mode(
    log: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A holder whose argv holds rich markup (``[/]``) and escape sequences: status reports
    the stuck lock instead of raising MarkupError, and shows the text as text."""
    folder = os.path.dirname(log)
    write(log, "")
    for name in HOSTILE_NAMES:
        write(os.path.join(folder, name), "?")
    # A short command line, so that the hostile arguments are within what status shows.
    script = os.path.join(os.path.dirname(folder), "h.py")
    write(script, HOLD.replace("sys.argv[1]", "sys.argv[3]").replace("sys.argv[2]", "'60'"))
    lock = os.path.join(folder, ".app.log.lock")
    holder = Child(f"exec(open({script!r}).read())", "[/]", "\x1b]0;owned\x07", lock)
    try:
        assert holder.ready() == "locked\n"
        report = status.inspect(status.Options(log, stuck_after=0.2))
        monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
        monkeypatch.setenv("COLUMNS", "1000")  # no wrapping inside the words looked for
        status.show(report, plain=False)
    finally:
        holder.stop()
    out = capsys.readouterr().out
    assert "stuck lock" in out and "'[/]'" in out and "[bold red]x" in out
    assert "\x1b]0;" not in out and "\x07" not in out and "\u202e" not in out


def test_json_names_that_are_not_utf8_are_valid_unicode(log: str) -> None:
    """A strict JSON consumer (any but Python's) rejects lone surrogates: a byte that is not
    UTF-8 comes out as the text ``\\xNN``."""
    write(log, "")
    folder = os.fsencode(os.path.dirname(log))
    for name in (b"app.log.\xff\xfe", b"app.log.3\x80"):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(b"?")
    done = cli(log, "--json")
    assert "\\ud" not in done.stdout.lower()
    document = json.loads(done.stdout)
    names = sorted(row["name"] for row in document["outside_scheme"])
    assert names == ["app.log.3\\x80", "app.log.\\xff\\xfe"]
    json.dumps(document, ensure_ascii=False).encode("utf-8")  # strict: no surrogates


def test_a_rotated_file_still_held_by_a_writer_names_it(log: str) -> None:
    """A writer that has not noticed the rollover holds its file: status says who, and the
    file waits for it (issue 18, the frozen writer)."""
    idle = lockrotate.RotatingFileHandler(log, maxBytes=10, backupCount=3, check_interval=3600)
    roller = lockrotate.RotatingFileHandler(log, maxBytes=10, backupCount=3, compress="gzip")
    try:
        roller.emit(logging.makeLogRecord({"msg": "first record"}))
        roller.emit(logging.makeLogRecord({"msg": "second record"}))
        _, document = doc(log)
        row = next(row for row in document["files"] if row["name"] == "app.log.1")
        assert [p["pid"] for p in row["held_by"]] == [os.getpid()]
        assert "held_by_writer" in kinds(document, "notes")
        text = status.plain_text(status.inspect(status.Options(log)))
        assert f"held by pid {os.getpid()}" in text
    finally:
        idle.close()
        roller.close()
    _, document = doc(log)
    assert all("held_by" not in row for row in document["files"])
