"""``QueueHandler`` + ``QueueListener`` in front of lockrotate, in several processes.

Each process queues 2 x 5000 records from two threads while its own listener thread writes
them through a lockrotate handler on the shared file. The writers run flat out, so a
backlog is still queued when they stop: ``QueueListener.stop()`` (run by ``close()``) must
write all of it before the process exits.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import sys
from collections.abc import Callable

import pytest

import lockrotate
from lockrotate.bench.workload import Workload, run

from ._support import EXAMPLES, check, logging_errors

WORKLOAD = Workload(procs=4, threads=2, records=5000, start="fork")


def example_module() -> object:
    spec = importlib.util.spec_from_file_location(
        "queue_logging", os.path.join(EXAMPLES, "queue_logging.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["queue_logging"] = module
    spec.loader.exec_module(module)
    return module


def targets() -> dict[str, Callable[[str], logging.Handler]]:
    return {
        "timed": lambda path: lockrotate.TimedRotatingFileHandler(path, when="S", maxBytes=20000),
        "size": lambda path: lockrotate.RotatingFileHandler(
            path, maxBytes=20000, backupCount=100000
        ),
    }


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["timed", "size"])
def test_queue_listener_per_process(kind: str, folder: str, scratch: str) -> None:
    listening = example_module().ListeningQueueHandler  # type: ignore[attr-defined]
    target = targets()[kind]

    class Reporting(listening):  # type: ignore[misc, valid-type]
        """Says on stderr how many records were still queued when close() began."""

        def close(self) -> None:
            print(f"backlog {self.queue.qsize()}", file=sys.stderr, flush=True)
            super().close()

    result = run(WORKLOAD, lambda path: Reporting(target(path)), folder, scratch)
    assert result.crashed == []
    backlogs = [int(n) for w in result.workers for n in re.findall(r"backlog (\d+)", w.stderr)]
    assert len(backlogs) == WORKLOAD.procs
    assert max(backlogs) > 0, "nothing was queued at close(): stop() flushed nothing"
    report = check(
        f"QueueListener x{WORKLOAD.procs} processes, {kind}", folder, "app.log", result.expected
    )
    assert report.ok, report.examples
    assert report.files >= 4, "too few rollovers to prove anything"
    assert not logging_errors(*(w.stderr for w in result.workers))
    print({"backlogs at close": backlogs})
