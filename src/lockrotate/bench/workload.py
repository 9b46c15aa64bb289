"""Many processes, several threads each, logging checkable records through one handler.

Three ways to start the processes, because each breaks different handlers:

- ``spawn``: a fresh interpreter builds its own handler;
- ``fork``: the child of a fork builds its handler after the fork;
- ``inherit``: the parent builds the handler, writes through it, then forks; the children
  log through the handler (and the open file and lock) they inherited.

Each worker sends its counts, the handler's ``stats`` and everything it printed to stderr
(where ``logging`` reports handler errors) back through a file, so nothing is lost if it dies.

A run bounded by ``seconds`` is bounded for the handler too: a thread still inside ``emit``
``grace`` seconds after its deadline (a handler stalled on a lock) is reported as stalled,
with the record it was writing, and its process leaves without waiting for it.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .verify import record_text

START_METHODS = ("spawn", "fork", "inherit")
HandlerFactory = Callable[[str], logging.Handler]
_READY_TIMEOUT = 120.0
# How long the parent waits, past a bounded run's deadline and grace, for a worker to report
# before it kills it: writing the results and exiting take a moment on a loaded machine.
_EXIT_MARGIN = 15.0
# The handler a parent built before forking (start="inherit"), found by its children here.
_INHERITED: dict[str, logging.Handler] = {}


@dataclass(frozen=True)
class Workload:
    """What to run; ``seconds`` (when set) bounds each thread's time instead of its count."""

    procs: int = 4
    threads: int = 2
    records: int = 1000
    record_size: int = 100
    start: str = "spawn"
    pace: float = 0.0
    seconds: float | None = None
    parent_records: int = 0
    filename: str = "app.log"
    # Seconds past ``seconds`` after which a thread still in emit() counts as stalled.
    grace: float = 10.0

    def __post_init__(self) -> None:
        if self.start not in START_METHODS:
            raise ValueError(f"start must be one of {', '.join(START_METHODS)}, not {self.start!r}")
        for name in ("procs", "threads", "record_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.records < 0 or self.parent_records < 0:
            raise ValueError("records must not be negative")


@dataclass
class WorkerResult:
    counts: dict[str, int]
    stats: dict[str, Any] | None
    stderr: str
    exitcode: int | None
    # Writer -> the record it was inside ``emit`` with when its thread was given up on.
    stalled: dict[str, int] = field(default_factory=dict)
    # time.monotonic() (one clock for every process) when its threads stopped writing.
    wrote_until: float | None = None


@dataclass
class RunResult:
    """What the processes did; ``expected`` is what the verifier must find."""

    elapsed: float
    workers: list[WorkerResult] = field(default_factory=list)
    # Seconds after the start at which the stuck-lock holder took the lock (None: it did not).
    lock_taken: float | None = None

    @property
    def expected(self) -> dict[str, int]:
        merged: dict[str, int] = {}
        for worker in self.workers:
            merged.update(worker.counts)
        return merged

    @property
    def records(self) -> int:
        return sum(self.expected.values())

    @property
    def handler_errors(self) -> int:
        return sum(worker.stderr.count("--- Logging error ---") for worker in self.workers)

    @property
    def lock_reports(self) -> int:
        """The handler errors that report a lock not taken in time (a ``LockTimeout``)."""
        return sum(
            "LockTimeout" in block
            for worker in self.workers
            for block in worker.stderr.split("--- Logging error ---")[1:]
        )

    @property
    def crashed(self) -> list[int | None]:
        return [w.exitcode for w in self.workers if w.exitcode != 0]

    @property
    def stalled(self) -> dict[str, int]:
        merged: dict[str, int] = {}
        for worker in self.workers:
            merged.update(worker.stalled)
        return merged


def _log_records(
    logger: logging.Logger, writer: str, workload: Workload, counts: dict[str, int]
) -> None:
    deadline = None if workload.seconds is None else time.monotonic() + workload.seconds
    seq = 0
    while True:
        if deadline is None:
            if seq >= workload.records:
                break
        elif time.monotonic() >= deadline:
            break
        logger.info(record_text(writer, seq, workload.record_size))
        seq += 1
        # Kept current: a thread stalled in emit() still leaves its count of whole records.
        counts[writer] = seq
        if workload.pace:
            time.sleep(workload.pace)


def logger_for(handler: logging.Handler, name: str) -> logging.Logger:
    """A logger that sends records to *handler* alone (the tests use it too)."""
    logger = logging.getLogger(f"lockrotate.workload.{name}")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def _worker(
    index: int,
    workload: Workload,
    path: str,
    factory: HandlerFactory | None,
    results: str,
    ready: Any,
    go: Any,
) -> None:
    err_path = os.path.join(results, f"{index}.stderr")
    err = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(err, 2)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
    handler = _INHERITED["handler"] if factory is None else factory(path)
    logger = logger_for(handler, str(index))
    writers = [f"p{index}t{t}" for t in range(workload.threads)]
    counts = dict.fromkeys(writers, 0)
    ready.release()
    go.wait()
    threads = [
        threading.Thread(target=_log_records, args=(logger, w, workload, counts), daemon=True)
        for w in writers
    ]
    for thread in threads:
        thread.start()
    limit = None if workload.seconds is None else time.monotonic() + workload.seconds
    for thread in threads:
        thread.join(None if limit is None else max(0.0, limit + workload.grace - time.monotonic()))
    wrote_until = time.monotonic()
    stalled = {
        w: counts[w] for w, thread in zip(writers, threads, strict=True) if thread.is_alive()
    }
    if stalled and limit is not None:
        wrote_until = limit  # the grace spent waiting for a stalled thread wrote nothing
    stats = getattr(handler, "stats", None)
    if not stalled:
        handler.close()
    payload = {
        "counts": dict(counts),
        "stats": stats.as_dict() if stats is not None else None,
        "stalled": stalled,
        "wrote_until": wrote_until,
    }
    tmp = os.path.join(results, f"{index}.json.tmp")
    with open(tmp, "w") as f:
        json.dump(payload, f)
    os.replace(tmp, os.path.join(results, f"{index}.json"))
    sys.stderr.flush()
    if stalled:
        # A stalled thread holds the handler's lock: closing it, or logging's own shutdown,
        # would wait for it forever.
        os._exit(0)


def run(
    workload: Workload,
    factory: HandlerFactory,
    folder: str,
    results: str,
    stuck: StuckLock | None = None,
) -> RunResult:
    """Run *workload* with handlers from *factory* on ``folder/filename``; wait for the end.

    *factory* must be picklable for ``spawn`` (a class, or a ``functools.partial`` of one).
    With *stuck*, another process takes ``stuck.lock_file`` ``stuck.after`` seconds into
    the run and keeps it to the end.
    """
    path = os.path.join(folder, workload.filename)
    os.makedirs(results, exist_ok=True)
    ctx: Any = multiprocessing.get_context("spawn" if workload.start == "spawn" else "fork")
    ready = ctx.Semaphore(0)
    go = ctx.Event()
    parent_counts: dict[str, int] = {}
    child_factory: HandlerFactory | None = factory
    if workload.start == "inherit":
        _INHERITED["handler"] = factory(path)
        child_factory = None
        parent = logger_for(_INHERITED["handler"], "parent")
        for seq in range(workload.parent_records):
            parent.info(record_text("parent", seq, workload.record_size))
        parent_counts["parent"] = workload.parent_records
    holder: _Holder | None = None
    try:
        procs = [
            ctx.Process(target=_worker, args=(i, workload, path, child_factory, results, ready, go))
            for i in range(workload.procs)
        ]
        for proc in procs:
            proc.start()
        if stuck is not None:
            holder = _Holder(stuck)
        _wait_until_ready(ready, procs)
        go.set()
        start = time.monotonic()
        if holder is not None:
            holder.go()
        _join(procs, workload, start)
        joined = time.monotonic()
    finally:
        if "handler" in _INHERITED:
            _INHERITED.pop("handler").close()
        taken = None if holder is None else holder.stop()
    workers = [_collect(results, i, proc.exitcode) for i, proc in enumerate(procs)]
    ends = [w.wrote_until for w in workers]
    # The writing time, from the start signal to the last thread's last record: closing the
    # handlers and the processes' exit are not the handler's throughput.
    last = joined if None in ends else max(end for end in ends if end is not None)
    result = RunResult(last - start, lock_taken=None if taken is None else taken - start)
    if parent_counts:
        result.workers.append(WorkerResult(parent_counts, None, "", 0))
    result.workers.extend(workers)
    return result


def _wait_until_ready(ready: Any, procs: list[Any]) -> None:
    """Wait for every worker to have built its handler; stop waiting as soon as one died
    (its exit code then says so) or after a generous timeout."""
    deadline = time.monotonic() + _READY_TIMEOUT
    waiting = len(procs)
    while waiting and time.monotonic() < deadline:
        if ready.acquire(timeout=0.1):
            waiting -= 1
        elif not all(proc.is_alive() for proc in procs):
            return


def _collect(results: str, index: int, exitcode: int | None) -> WorkerResult:
    try:
        with open(os.path.join(results, f"{index}.stderr")) as f:
            stderr = f.read()
    except FileNotFoundError:
        stderr = ""
    try:
        with open(os.path.join(results, f"{index}.json")) as f:
            payload = json.load(f)
    except FileNotFoundError:
        return WorkerResult({}, None, stderr, exitcode)
    return WorkerResult(
        payload["counts"],
        payload["stats"],
        stderr,
        exitcode,
        payload.get("stalled", {}),
        payload.get("wrote_until"),
    )


def _join(procs: list[Any], workload: Workload, start: float) -> None:
    """Wait for the workers; those of a bounded run are killed once they are well past
    their deadline (their exit code then says so)."""
    limit = None
    if workload.seconds is not None:
        limit = start + workload.seconds + workload.grace + _EXIT_MARGIN
    for proc in procs:
        proc.join(None if limit is None else max(0.0, limit - time.monotonic()))
    for proc in procs:
        if proc.is_alive():
            proc.kill()
            proc.join()


@dataclass(frozen=True)
class StuckLock:
    """Take *lock_file* (``flock``, as the handlers do) *after* seconds into the run."""

    lock_file: str
    after: float


_HOLD = """\
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
sys.stdin.readline()
time.sleep(float(sys.argv[2]))
fcntl.flock(fd, fcntl.LOCK_EX)
print(time.monotonic(), flush=True)
sys.stdin.readline()
"""


class _Holder:
    """A separate process (not a thread of ours: a lock is per process) that takes the lock
    when told the run has started, after a delay, and keeps it until it is stopped."""

    def __init__(self, stuck: StuckLock) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _HOLD, stuck.lock_file, repr(stuck.after)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def go(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write("go\n")
        self._proc.stdin.flush()

    def stop(self) -> float | None:
        """End the holder; the monotonic time at which it took the lock, if it did."""
        self._proc.kill()
        out, _ = self._proc.communicate()
        try:
            return float(out.split()[0])
        except (IndexError, ValueError):
            return None
