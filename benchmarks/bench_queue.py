"""What the logging call costs the caller, straight to lockrotate or through a queue.

With ``QueueHandler`` the caller formats the record and puts it on a queue; a
``QueueListener`` thread does the write (and any rollover) while the caller goes on. The
listener still competes for the GIL, so the caller's figure includes some of its work.
Both run the same fixed number of calls (the queue would otherwise grow without bound),
and the queued variant is drained and closed after the timing.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import lockrotate
from lockrotate.bench.verify import record_text

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
ROUNDS, ITERATIONS = 200, 100


def _listening_queue_handler() -> Any:
    spec = importlib.util.spec_from_file_location("queue_logging", EXAMPLES / "queue_logging.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("queue_logging", module)
    spec.loader.exec_module(module)
    return module.ListeningQueueHandler


@pytest.fixture(params=["direct", "queued"])
def logger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[logging.Logger]:
    target = lockrotate.RotatingFileHandler(
        os.path.join(tmp_path, "app.log"), maxBytes=16 * 1024 * 1024, backupCount=3
    )
    handler = target if request.param == "direct" else _listening_queue_handler()(target)
    log = logging.getLogger(f"lockrotate.benchmarks.queue.{request.param}")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
    yield log
    log.handlers.clear()
    handler.close()


def test_caller_cost(benchmark: Any, logger: logging.Logger) -> None:
    benchmark.group = "caller's cost of one logger.info, 100 B"
    benchmark.pedantic(
        logger.info, args=(record_text("bench", 0),), rounds=ROUNDS, iterations=ITERATIONS
    )
