"""A Starlette app whose every request logs one record to a shared, rotating log.

The command lines for uvicorn and for gunicorn with uvicorn workers are in docs/servers/
(uvicorn.md, gunicorn.md): the integration tests run those very lines. Request
``/log?msg=hello``: the worker logs ``hello`` and answers with its pid.
"""

from __future__ import annotations

import logging
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

log = logging.getLogger("app")


async def log_one(request: Request) -> PlainTextResponse:
    log.info(request.query_params.get("msg", "hello"))
    return PlainTextResponse(str(os.getpid()))


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(os.getpid()))


app = Starlette(routes=[Route("/log", log_one), Route("/health", health)])
