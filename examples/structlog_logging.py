"""structlog, in many processes, into one rotating log: structlog renders each event, the
standard library's logging writes it through lockrotate's handlers.

structlog's ``LoggerFactory`` hands the rendered line (here JSON) to a ``logging`` logger, so
any handler of the stdlib works under it, lockrotate's included: every process (gunicorn
workers, ``multiprocessing`` children started by spawn) adds its own and they share the files.

The logs go to ``$LOCKROTATE_LOG_DIR``. As a gunicorn app, every worker imports this module
after the fork and configures itself; as a script (``structlog_logging.py PROCS RECORDS``),
the parent and PROCS children started by spawn each write RECORDS records. The command lines
are in docs/loguru-structlog.md (the integration tests run them).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import structlog
from checkable import checkable, log_dir

import lockrotate


def configure(folder: str) -> None:
    """structlog renders JSON into the ``app`` logger, whose two handlers share the logs:
    ``timed.log`` rolls over every second and every 20 kB; ``size.log`` every 20 kB."""
    log = logging.getLogger("app")
    for handler in log.handlers[:]:
        log.removeHandler(handler)
        handler.close()
    log.addHandler(
        lockrotate.TimedRotatingFileHandler(
            os.path.join(folder, "timed.log"), when="S", maxBytes=20_000
        )
    )
    log.addHandler(
        lockrotate.RotatingFileHandler(
            os.path.join(folder, "size.log"), maxBytes=20_000, backupCount=100_000
        )
    )
    log.setLevel(logging.INFO)
    log.propagate = False
    structlog.configure(
        processors=[
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.CallsiteParameterAdder(
                [structlog.processors.CallsiteParameter.PROCESS]
            ),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


if __name__ != "__main__":
    configure(log_dir())

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """``/log?msg=hello`` logs the event ``hello``; every request answers its worker's pid."""
    if environ["PATH_INFO"] == "/log":
        event = parse_qs(environ["QUERY_STRING"]).get("msg", ["hello"])[0]
        structlog.get_logger("app").info(event, path="/log")
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def child(writer: str, records: int) -> None:
    log = structlog.get_logger("app")
    for seq in range(records):
        log.info(checkable(writer, seq), seq=seq)
    logging.shutdown()


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
