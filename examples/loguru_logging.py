"""loguru, in many processes, into one rotating log: each process adds lockrotate's handler as
a loguru sink.

A ``logging.Handler`` is a valid loguru sink (``logger.add(handler)``). With lockrotate's
handlers every process may add its own (gunicorn workers, ``multiprocessing`` children started
by spawn, separate programs): they share the files safely, which loguru's own file sink does
not (each process would rotate on its own). ``enqueue=True`` hands each record to loguru's
writer thread, so the caller never waits for the disk.

Leave loguru's ``rotation``, ``retention`` and ``compression`` unset: they belong to loguru's
own file sink (given a path), loguru refuses them for a handler, and a loguru file sink on the
same path would rotate the file behind lockrotate's back. Use the handler's ``maxBytes``,
``when``, ``backupCount``, ``max_age`` and ``compress`` instead.

The logs go to ``$LOCKROTATE_LOG_DIR``. As a gunicorn app, every worker imports this module
after the fork and configures itself; as a script (``loguru_logging.py PROCS RECORDS``), the
parent and PROCS children started by spawn each write RECORDS records. The command lines are
in docs/loguru-structlog.md (the integration tests run them).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from checkable import checkable, log_dir
from loguru import logger

import lockrotate

FORMAT = "{time:YYYY-MM-DDTHH:mm:ss.SSSZZ} | {level: <8} | {process} | {message}"


def configure(folder: str) -> None:
    """Send this process's loguru records to two shared logs: ``timed.log`` rolls over every
    second and every 20 kB; ``size.log`` every 20 kB."""
    logger.remove()
    timed = lockrotate.TimedRotatingFileHandler(
        os.path.join(folder, "timed.log"), when="S", maxBytes=20_000
    )
    size = lockrotate.RotatingFileHandler(
        os.path.join(folder, "size.log"), maxBytes=20_000, backupCount=100_000
    )
    for handler in (timed, size):
        logger.add(handler, format=FORMAT, enqueue=True)


# Each process that imports this module (a gunicorn worker, a spawned child) configures its
# own sinks; loguru's exit hook (logger.remove) drains the queue and closes the handlers.
if __name__ != "__main__":
    configure(log_dir())

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """``/log?msg=hello`` logs ``hello``; every request answers its worker's pid."""
    if environ["PATH_INFO"] == "/log":
        logger.info(parse_qs(environ["QUERY_STRING"]).get("msg", ["hello"])[0])
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def child(writer: str, records: int) -> None:
    for seq in range(records):
        logger.info(checkable(writer, seq))
    logger.remove()  # wait until the queue is written, then close the handlers


def main(procs: int, records: int) -> None:
    configure(log_dir())
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=child, args=(f"p{n}", records)) for n in range(procs)
    ]
    for process in children:
        process.start()
    child("parent", records)
    for process in children:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a child exited with {process.exitcode}")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
