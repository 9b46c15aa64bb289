"""A WSGI app whose every request logs one record to a shared, rotating log.

The gunicorn command line is in docs/servers/gunicorn.md (the integration test runs it).
Request ``/log?msg=hello``: the worker logs ``hello`` and answers with its pid.

The handlers come from ``gunicorn_logging.ini``: gunicorn reads it in the master process,
before it forks the workers, so every worker inherits them (with or without ``--preload``);
lockrotate gives each worker its own lock descriptor after the fork.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

log = logging.getLogger("app")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/log":
        query = parse_qs(environ["QUERY_STRING"])
        log.info(query.get("msg", ["hello"])[0])
    body = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
