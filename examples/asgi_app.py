"""A Starlette app whose every request logs one record to a shared, rotating log.

Under uvicorn (each worker is a fresh interpreter that reads the logging config itself)::

    LOCKROTATE_LOG_DIR=/var/log/myapp uvicorn --workers 4 --no-access-log \\
        --log-config examples/uvicorn_logging.ini --app-dir examples asgi_app:app

or with the JSON dictConfig (``examples/uvicorn_logging.json``; edit its file names), or
under gunicorn, which reads the config once in the master, before it forks::

    LOCKROTATE_LOG_DIR=/var/log/myapp gunicorn --workers 4 \\
        -k uvicorn.workers.UvicornWorker --log-config examples/uvicorn_logging.ini \\
        --chdir examples asgi_app:app

``/log?writer=w&seq=0&size=100`` logs one checkable record; the answer is the worker's pid.
"""

from __future__ import annotations

import logging
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from lockrotate.bench.verify import record_text

log = logging.getLogger("app")


async def log_one(request: Request) -> PlainTextResponse:
    query = request.query_params
    log.info(record_text(query["writer"], int(query["seq"]), int(query.get("size", "100"))))
    return PlainTextResponse(str(os.getpid()))


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(os.getpid()))


app = Starlette(routes=[Route("/log", log_one), Route("/health", health)])
