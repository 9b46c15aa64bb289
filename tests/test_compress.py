"""Compression: every record survives it, lagging writers included, and a crash at any step."""

from __future__ import annotations

import functools
import gzip
import logging
import multiprocessing
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import lockrotate
import lockrotate._compress
import lockrotate._files
import lockrotate._permissions
from conftest import fork_child
from lockrotate._system import System
from lockrotate.bench.verify import log_files, read_bytes, record_text, verify
from lockrotate.bench.workload import Workload, logger_for, run

FORMATS = ["gzip", "bz2", "xz", "zstd"]
EXT = {"gzip": ".gz", "bz2": ".bz2", "xz": ".xz", "zstd": ".zst"}
WAIT = 30.0
RECORDS = 50  # the victim's, all in app.log.1 when compression starts


def plain_backups(folder: Path) -> list[str]:
    return [
        f for f in log_files(str(folder), "app.log") if not f.endswith(("app.log", *EXT.values()))
    ]


def finish_compression(folder: Path, **options: object) -> None:
    """A later rollover compresses what was left plain; wait for its background thread."""
    handler = lockrotate.RotatingFileHandler(
        str(folder / "app.log"), maxBytes=1, backupCount=10_000, check_interval=0, **options
    )
    try:
        handler.doRollover()
        deadline = time.monotonic() + WAIT
        while plain_backups(folder) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        handler.close()


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_record_survives_compression(tmp_path: Path, fmt: str) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    factory = functools.partial(
        lockrotate.RotatingFileHandler,
        maxBytes=8_000,
        backupCount=10_000,
        compress=fmt,
        check_interval=0.05,
    )
    workload = Workload(4, 2, 300, 100, "fork", pace=0.002)
    planned = {
        f"p{proc}t{thread}": workload.records
        for proc in range(workload.procs)
        for thread in range(workload.threads)
    }
    result = run(workload, factory, str(folder), str(tmp_path / "r"))
    assert result.expected == planned
    finish_compression(folder, compress=fmt)
    files = log_files(str(folder), "app.log")
    report = verify(files, planned)
    assert result.handler_errors == 0
    assert report.ok, report.examples
    packed = [f for f in files if f.endswith(EXT[fmt])]
    assert len(packed) >= 10
    assert plain_backups(folder) == []
    assert not [n for n in os.listdir(folder) if n.endswith(".z")], "temporary file left"


def test_a_lagging_writers_record_is_in_the_compressed_file(tmp_path: Path) -> None:
    path = str(tmp_path / "app.log")
    # It looks at the base path again only in an hour: a slow machine cannot make it follow.
    lagging = lockrotate.RotatingFileHandler(
        path, maxBytes=10_000, backupCount=5, check_interval=3600
    )
    roller = lockrotate.RotatingFileHandler(
        path, maxBytes=10_000, backupCount=5, compress="gzip", check_interval=0.2
    )
    slow = logger_for(lagging, "lagging")
    slow.info(record_text("lagging", 0))
    roller.doRollover()
    # The lagging process has not looked at the base path since: it appends to the file
    # that was just renamed to app.log.1, which is exactly what compression must wait for.
    slow.info(record_text("lagging", 1))
    assert lagging.stats.adopted == 0
    # Still held by the lagging writer, longer than the old fixed delay (1.2 s): it stays.
    time.sleep(2.0)
    assert os.path.exists(path + ".1") and not os.path.exists(path + ".1.gz")
    slow.info(record_text("lagging", 2))
    lagging.close()
    deadline = time.monotonic() + WAIT
    while not os.path.exists(path + ".1.gz") and time.monotonic() < deadline:
        time.sleep(0.05)
    roller.close()
    assert not os.path.exists(path + ".1")
    report = verify([path + ".1.gz"], {"lagging": 3})
    assert report.ok, report.examples


def test_close_leaves_pending_files_plain_and_whole(tmp_path: Path) -> None:
    path = str(tmp_path / "app.log")
    handler = lockrotate.RotatingFileHandler(path, maxBytes=10_000, backupCount=5, compress="xz")
    logger_for(handler, "close").info(record_text("w", 0))
    handler.doRollover()
    handler.close()
    assert sorted(os.listdir(tmp_path)) == [".app.log.lock", "app.log", "app.log.1"]
    assert verify([path + ".1"], {"w": 1}).ok


def test_a_user_rotator_takes_precedence(tmp_path: Path) -> None:
    path = str(tmp_path / "app.log")
    handler = lockrotate.RotatingFileHandler(path, maxBytes=10_000, backupCount=5, compress="gzip")
    calls: list[tuple[str, str]] = []

    def rotator(source: str, dest: str) -> None:
        calls.append((source, dest))
        os.rename(source, dest)

    handler.rotator = rotator
    logger_for(handler, "rotator").info(record_text("w", 0))
    handler.doRollover()
    handler.close()
    assert calls == [(path, path + ".1")]
    assert os.path.exists(path + ".1")


def test_backup_count_counts_compressed_files(tmp_path: Path) -> None:
    path = str(tmp_path / "app.log")
    handler = lockrotate.TimedRotatingFileHandler(
        path, when="S", backupCount=2, maxBytes=150, compress="gzip", check_interval=0
    )
    logger = logger_for(handler, "count")
    for seq in range(8):
        logger.info(record_text("w", seq))
    deadline = time.monotonic() + WAIT
    while plain_backups(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    handler.close()
    rotated = [f for f in log_files(str(tmp_path), "app.log") if not f.endswith("app.log")]
    assert len(rotated) == 2
    assert all(f.endswith(".gz") for f in rotated)


# A process killed at each step of compression --------------------------------------------


def _kill_self(*_: object, **__: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _half_written(fmt: str, source: int, dest: int, system: object) -> int:
    os.write(dest, b"\x1f\x8b half of a compressed file")
    _kill_self()
    return 0


def _kill_at_rename(mp: pytest.MonkeyPatch, kill_if: Callable[[str, str], bool]) -> None:
    """Die instead of the first rename for which ``kill_if(source, dest)`` holds."""
    real = os.rename

    def rename(source: str, dest: str) -> None:
        if kill_if(source, dest):
            _kill_self()
        real(source, dest)

    mp.setattr(os, "rename", rename)


def _is_packed(name: str) -> bool:
    return name.endswith(".gz")


def _is_plain_backup(name: str) -> bool:
    return os.path.basename(name).startswith("app.log.") and not _is_packed(name)


# Each step is found by what the process does on disk: the compressed copy is written under
# a hidden name, renamed to ``.gz``, then the plain source is renamed aside and unlinked.
Inject = Callable[[pytest.MonkeyPatch], None]
STEPS: dict[str, Inject] = {
    "while compressing": lambda mp: mp.setattr(lockrotate._compress, "compress_fd", _half_written),
    "before putting it in place": lambda mp: _kill_at_rename(mp, lambda _, dest: _is_packed(dest)),
    "after putting it in place, before removing the source": lambda mp: _kill_at_rename(
        mp, lambda source, _: _is_plain_backup(source)
    ),
    "after moving the source aside, before unlinking it": lambda mp: mp.setattr(
        os, "unlink", _kill_self
    ),
}


# What the folder holds at each death: the names a user sees, and what the hidden temporary
# file (if any) holds: a cut compressed copy, a whole one, or the plain source set aside.
AT_DEATH: dict[str, tuple[list[str], str | None]] = {
    "while compressing": (["app.log", "app.log.1"], "cut"),
    "before putting it in place": (["app.log", "app.log.1"], "packed"),
    "after putting it in place, before removing the source": (
        ["app.log", "app.log.1", "app.log.1.gz"],
        None,
    ),
    "after moving the source aside, before unlinking it": (["app.log", "app.log.1.gz"], "plain"),
}


def hidden_content(path: Path) -> str:
    data = path.read_bytes()
    try:
        data = gzip.decompress(data)
    except (OSError, EOFError):
        return "cut" if data.startswith(b"\x1f\x8b") else "plain"
    return "packed" if verify([str(path)], {"victim": RECORDS}, lambda _: data).ok else "cut"


def _rollover_then_die(folder: str, step: str) -> None:
    handler = lockrotate.RotatingFileHandler(
        os.path.join(folder, "app.log"),
        maxBytes=10_000,
        backupCount=5,
        compress="gzip",
        check_interval=0,
    )
    logger = logger_for(handler, "victim")
    for seq in range(RECORDS):
        logger.info(record_text("victim", seq))
    handler.doRollover()
    with pytest.MonkeyPatch.context() as mp:
        STEPS[step](mp)
        time.sleep(WAIT)  # the compressor thread kills us before this ends
    os._exit(3)


@pytest.mark.parametrize("step", list(STEPS))
def test_killed_during_compression(tmp_path: Path, step: str) -> None:
    proc = multiprocessing.get_context("fork").Process(
        target=_rollover_then_die, args=(str(tmp_path), step)
    )
    proc.start()
    proc.join(WAIT + 10)
    assert proc.exitcode == -signal.SIGKILL
    # It died at the step named: the folder shows it.
    names = sorted(os.listdir(tmp_path))
    visible, temporary = AT_DEATH[step]
    assert [n for n in names if not n.startswith(".")] == visible
    temps = [tmp_path / n for n in names if n.startswith(".") and n.endswith(".z")]
    assert [hidden_content(t) for t in temps] == ([temporary] if temporary else [])
    # Nothing under a final name is truncated, and nothing is lost.
    for name in os.listdir(tmp_path):
        if name.endswith(".gz"):
            read_bytes(str(tmp_path / name))
    files = log_files(str(tmp_path), "app.log")
    report = verify(files, {"victim": RECORDS})
    assert report.lost == 0 and report.torn == 0, report.examples
    # A later rollover finishes the job.
    finish_compression(tmp_path, compress="gzip")
    names = sorted(os.listdir(tmp_path))
    assert "app.log.2.gz" in names
    assert "app.log.2" not in names
    assert not [n for n in names if n.endswith(".z")]
    final = verify(log_files(str(tmp_path), "app.log"), {"victim": RECORDS})
    assert final.ok, final.examples


def test_shutdown_while_compressing_does_not_hang(tmp_path: Path) -> None:
    """logging.shutdown holds the handler's lock while close() waits for the compressor."""
    path = str(tmp_path / "app.log")
    handler = lockrotate.RotatingFileHandler(
        path, maxBytes=10_000, backupCount=5, compress="gzip", check_interval=0
    )
    started = threading.Event()
    real = lockrotate._compress.compress_fd

    def slow(fmt: str, source: int, dest: int, system: System) -> int:
        started.set()
        time.sleep(0.5)
        return real(fmt, source, dest, system)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(lockrotate._compress, "compress_fd", slow)
        logger_for(handler, "shutdown").info(record_text("w", 0))
        handler.doRollover()
        assert started.wait(WAIT)
        closer = threading.Thread(target=logging.shutdown, args=([weakref.ref(handler)],))
        closer.start()
        closer.join(WAIT)
        assert not closer.is_alive(), "logging.shutdown hung on the compressor"
    # The compression in progress was finished, not cut.
    assert verify([path + ".1.gz"], {"w": 1}).ok


def test_an_unrelated_compressed_file_never_costs_a_plain_one(tmp_path: Path) -> None:
    path = str(tmp_path / "app.log")
    (tmp_path / "app.log.1.gz").write_bytes(b"someone else's file")
    handler = lockrotate.RotatingFileHandler(path, maxBytes=10_000, backupCount=5, compress="gzip")
    logger_for(handler, "stale").info(record_text("w", 0))
    handler.doRollover()
    handler.close()
    # app.log.1 (ours) and the foreign app.log.1.gz moved together to slot 2, both kept.
    assert verify([path + ".1"], {"w": 1}).ok or verify([path + ".2"], {"w": 1}).ok
    assert any(p.read_bytes() == b"someone else's file" for p in tmp_path.glob("app.log.*.gz"))


def test_an_encoding_with_a_byte_order_mark_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="encoding"):
        lockrotate.RotatingFileHandler(str(tmp_path / "app.log"), encoding="utf-16")
    handler = lockrotate.RotatingFileHandler(str(tmp_path / "app.log"), encoding="utf-16-le")
    handler.close()


# Give-ups, forks, frozen writers (issue 18: items 9 and 5, the frozen writer) -----------


class FailingHost:
    """A host whose lock is stuck: every put-in-place fails, unless told to succeed."""

    def __init__(self) -> None:
        self.reports: list[str] = []
        self.paths: dict[tuple[int, int], str] = {}
        self.succeed = False

    def locate(self, identity: tuple[int, int]) -> str | None:
        return self.paths.get(identity)

    def put_in_place(
        self, identity: tuple[int, int], temp: str, nbytes: int, source: int | None = None
    ) -> bool:
        if not self.succeed:
            raise TimeoutError("the lock is stuck")
        del self.paths[identity]
        if source is not None:
            os.close(source)
        return True

    def report(self, message: str) -> None:
        self.reports.append(message)


def wait_for_no_jobs(compressor: lockrotate._compress.Compressor) -> None:
    deadline = time.monotonic() + WAIT
    while compressor._jobs and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not compressor._jobs


def test_compression_give_ups_are_reported_once_per_outage(tmp_path: Path) -> None:
    """Ten files given up during one stuck-lock outage: one report. A compression that
    succeeds ends the outage; the next give-up is reported again."""
    host = FailingHost()
    compressor = lockrotate._compress.Compressor(
        "gzip", str(tmp_path / "app.log"), 0.01, lockrotate._permissions.Permissions(), host
    )

    def rotated(index: int) -> tuple[int, int]:
        path = tmp_path / f"app.log.{index}"
        path.write_text(f"record {index}\n")
        os.utime(path, (time.time() - 10, time.time() - 10))
        st = path.stat()
        host.paths[st.st_dev, st.st_ino] = str(path)
        return (st.st_dev, st.st_ino)

    try:
        for index in range(1, 11):
            compressor.submit(rotated(index))
        wait_for_no_jobs(compressor)
        assert len(host.reports) == 1, host.reports
        host.succeed = True
        compressor.submit(rotated(11))
        wait_for_no_jobs(compressor)
        host.succeed = False
        compressor.submit(rotated(12))
        compressor.submit(rotated(13))
        wait_for_no_jobs(compressor)
        assert len(host.reports) == 2, host.reports
    finally:
        compressor.close()


def test_a_child_forked_during_compression_holds_none_of_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gunicorn forks a worker while the compressor reads app.log.1 and writes its scratch
    copy: the worker must not keep either open (the deleted file's space would stay
    allocated for the worker's whole life)."""
    inside, release = threading.Event(), threading.Event()
    real = lockrotate._compress.compress_fd

    def paused(fmt: str, source: int, dest: int, *rest: Any) -> int:
        inside.set()
        release.wait(WAIT)
        return real(fmt, source, dest, *rest)

    monkeypatch.setattr(lockrotate._compress, "compress_fd", paused)
    path = tmp_path / "app.log"
    handler = lockrotate.RotatingFileHandler(
        path, maxBytes=10, backupCount=3, compress="gzip", check_interval=0
    )
    try:
        handler.emit(logging.makeLogRecord({"msg": "first record"}))
        handler.emit(logging.makeLogRecord({"msg": "second record"}))
        assert inside.wait(WAIT), "compression never started"
        folder = os.path.realpath(tmp_path)

        def count_held() -> int:
            held = 0
            for fd in os.listdir("/proc/self/fd"):
                try:
                    target = os.readlink(f"/proc/self/fd/{fd}")
                except FileNotFoundError:
                    continue
                name = os.path.basename(target)
                if target.startswith(folder) and (
                    name.startswith("app.log.1") or name.endswith(".z")
                ):
                    held += 1
            return held

        assert count_held() == 2  # the parent's compressor: source and scratch copy
        pid = fork_child(count_held)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        release.set()
        handler.close()
    assert (tmp_path / "app.log.1.gz").exists()


STOPS = 4
STOP_SECONDS = 3.0  # longer than check_interval + 1 s, and than a compression takes


@pytest.mark.slow
def test_a_writer_frozen_between_check_and_write_loses_nothing(tmp_path: Path) -> None:
    """A writer stops itself with a real SIGSTOP right after its check, before its write,
    four times; each time another process rolls its file over and would compress and delete
    it long before the SIGCONT. Every record of both is read back, compressed files included.
    """
    path = str(tmp_path / "app.log")
    done = tmp_path / "done"
    options: dict[str, object] = {
        "maxBytes": 20_000,
        "backupCount": 10_000,
        "compress": "gzip",
        "check_interval": 0.2,
    }

    def frozen() -> int:
        handler = lockrotate.RotatingFileHandler(path, **options)  # type: ignore[arg-type]
        logger = logger_for(handler, "frozen")
        real_write = os.write
        writes = [0]

        def stop_then_write(fd: int, data: bytes) -> int:
            """The seam's write: a record of this writer, every 40th stops it first."""
            if bytes(data[:7]) == b"frozen ":
                writes[0] += 1
                if writes[0] % 40 == 0 and writes[0] <= 40 * STOPS:
                    os.kill(os.getpid(), signal.SIGSTOP)
            return real_write(fd, data)

        System.write = staticmethod(stop_then_write)  # type: ignore[method-assign,assignment]
        for seq in range(40 * STOPS + 40):
            logger.info(record_text("frozen", seq))
            time.sleep(0.005)
        handler.close()
        return 0

    def steady() -> int:
        handler = lockrotate.RotatingFileHandler(path, **options)  # type: ignore[arg-type]
        logger = logger_for(handler, "steady")
        seq = 0
        while not done.exists():
            logger.info(record_text("steady", seq))
            seq += 1
            time.sleep(0.001)
        handler.close()
        (tmp_path / "steady.count").write_text(str(seq))
        return 0

    steady_pid = fork_child(steady)
    frozen_pid = fork_child(frozen)
    stops = 0
    while True:
        _, status = os.waitpid(frozen_pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):
            break
        stops += 1
        time.sleep(STOP_SECONDS)
        os.kill(frozen_pid, signal.SIGCONT)
    assert os.waitstatus_to_exitcode(status) == 0
    time.sleep(2.0)  # the steady writer's compressor gets to the last file let go
    done.touch()
    _, status = os.waitpid(steady_pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert stops == STOPS
    expected = {"frozen": 40 * STOPS + 40, "steady": int((tmp_path / "steady.count").read_text())}
    files = log_files(str(tmp_path), "app.log")
    assert any(f.endswith(".gz") for f in files)
    report = verify(files, expected)
    assert report.ok, report.examples
