"""One ``logger.info`` through each handler, in one process, nothing else writing.

Every handler gets the same 100-byte message and the default ``%(message)s`` format, so
the figures differ only by what each handler does per record.
"""

from __future__ import annotations

import functools
import logging
import logging.handlers
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import lockrotate
from lockrotate.bench.verify import record_text

MAX_BYTES = 16 * 1024 * 1024


def _concurrent_log_handler(path: str) -> logging.Handler:
    clh = pytest.importorskip("concurrent_log_handler")
    handler: logging.Handler = clh.ConcurrentRotatingFileHandler(
        path, maxBytes=MAX_BYTES, backupCount=3
    )
    return handler


HANDLERS: dict[str, Callable[[str], logging.Handler]] = {
    "lockrotate": functools.partial(
        lockrotate.RotatingFileHandler, maxBytes=MAX_BYTES, backupCount=3
    ),
    "lockrotate-timed": functools.partial(
        lockrotate.TimedRotatingFileHandler, when="H", backupCount=3
    ),
    "lockrotate-strict": functools.partial(
        lockrotate.RotatingFileHandler, maxBytes=MAX_BYTES, backupCount=3, lock_every_write=True
    ),
    "filehandler": logging.FileHandler,
    "stdlib-rotating": functools.partial(
        logging.handlers.RotatingFileHandler, maxBytes=MAX_BYTES, backupCount=3
    ),
    "concurrent-log-handler": _concurrent_log_handler,
}


@pytest.fixture(params=list(HANDLERS))
def logger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[logging.Logger]:
    handler = HANDLERS[request.param](str(tmp_path / "app.log"))
    log = logging.getLogger(f"lockrotate.benchmarks.{request.param}")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False
    yield log
    log.handlers.clear()
    handler.close()


def test_emit(benchmark: Any, logger: logging.Logger) -> None:
    benchmark.group = "one logger.info, 100 B"
    benchmark(logger.info, record_text("bench", 0))
