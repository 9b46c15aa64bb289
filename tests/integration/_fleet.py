"""Long-lived writer processes the test drives phase by phase.

A fault test needs to act between the writes (remove a folder, move a clock, hold a
lock) and know exactly which records were acknowledged before and after. Each process of
a :class:`Fleet` builds its handler after the fork and then obeys commands from a pipe;
its stderr (where ``logging`` reports handler errors) goes to a file the test reads.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from lockrotate.bench.verify import record_text
from lockrotate.bench.workload import logger_for

Factory = Callable[[str], logging.Handler]
REPLY_TIMEOUT = 60.0


def redirect_stderr(path: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115


def _serve(index: int, factory: Factory, path: str, conn: Any, err_path: str) -> None:
    redirect_stderr(err_path)
    handler = factory(path)
    logger = logger_for(handler, f"fleet{index}")
    while True:
        command, args = conn.recv()
        if command == "log":
            writer, count, pace = args
            for seq in range(count):
                logger.info(record_text(writer, seq))
                if pace:
                    time.sleep(pace)
            conn.send(count)
        elif command == "call":
            function, extra = args
            conn.send(function(handler, *extra))
        elif command == "close":
            stats = handler.stats.as_dict()  # type: ignore[attr-defined]
            handler.close()
            sys.stderr.flush()
            conn.send({k: v for k, v in stats.items() if not isinstance(v, list)})
            return


class Fleet:
    """*procs* forked writers, each with its own handler from *factory* on *path*."""

    def __init__(self, factory: Factory, path: str, procs: int, scratch: str) -> None:
        ctx = multiprocessing.get_context("fork")
        self.expected: dict[str, int] = {}
        self.err_paths = [os.path.join(scratch, f"fleet{i}.stderr") for i in range(procs)]
        self.conns: list[Any] = []
        self.procs: list[Any] = []
        self.stats: list[dict[str, Any]] = []
        for index in range(procs):
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=_serve, args=(index, factory, path, child, self.err_paths[index])
            )
            proc.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(proc)

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def send_log(self, phase: str, count: int, pace: float = 0.0) -> None:
        """Start every process logging *count* records as writer ``<phase>.p<i>``."""
        for index, conn in enumerate(self.conns):
            conn.send(("log", (f"{phase}.p{index}", count, pace)))

    def wait_log(self, phase: str) -> None:
        for index, count in enumerate(self._replies()):
            self.expected[f"{phase}.p{index}"] = count

    def log(self, phase: str, count: int, pace: float = 0.0) -> None:
        self.send_log(phase, count, pace)
        self.wait_log(phase)

    def log_one(self, index: int, phase: str, count: int) -> None:
        """Only process *index* logs, as writer ``<phase>.p<index>``."""
        self.conns[index].send(("log", (f"{phase}.p{index}", count, 0.0)))
        if not self.conns[index].poll(REPLY_TIMEOUT):
            raise TimeoutError(f"writer {index} did not answer within {REPLY_TIMEOUT} s")
        self.expected[f"{phase}.p{index}"] = self.conns[index].recv()

    def call(self, function: Callable[..., Any], *args: Any) -> list[Any]:
        """Run ``function(handler, *args)`` in every process (a module-level function)."""
        for conn in self.conns:
            conn.send(("call", (function, args)))
        return self._replies()

    def close(self) -> None:
        for conn in self.conns:
            conn.send(("close", ()))
        self.stats = self._replies()
        for proc in self.procs:
            proc.join(REPLY_TIMEOUT)
        assert [proc.exitcode for proc in self.procs] == [0] * len(self.procs)

    def kill(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.kill()
            proc.join(REPLY_TIMEOUT)

    def stderr(self) -> str:
        text = []
        for path in self.err_paths:
            with open(path, errors="replace") as f:
                text.append(f.read())
        return "".join(text)

    def errors(self) -> list[int]:
        """How many handler errors each process reported."""
        counts = []
        for path in self.err_paths:
            with open(path, errors="replace") as f:
                counts.append(f.read().count("--- Logging error ---"))
        return counts

    def total(self, key: str) -> int:
        return sum(int(stats[key]) for stats in self.stats)

    def _replies(self) -> list[Any]:
        replies = []
        for index, conn in enumerate(self.conns):
            if not conn.poll(REPLY_TIMEOUT):
                raise TimeoutError(f"writer {index} did not answer within {REPLY_TIMEOUT} s")
            replies.append(conn.recv())
        return replies
