"""A WSGI app for uWSGI whose every request logs one record to a shared, rotating log.

    cd examples && LOCKROTATE_LOG_DIR=/var/log/myapp uwsgi --ini uwsgi.ini \\
        --http-socket 127.0.0.1:8000 [--lazy-apps]

uWSGI has no logging config option of its own for Python: the app module configures
``logging`` when it is imported. Without ``--lazy-apps`` uWSGI imports it once in the master
and forks the workers, which inherit the handlers (lockrotate gives each its own lock
descriptor after the fork); with ``--lazy-apps`` every worker imports it and builds its own.
The config is ``gunicorn_logging.ini`` unless ``LOCKROTATE_LOG_CONFIG`` names another.
"""

from __future__ import annotations

import logging.config
import os

from gunicorn_app import app

HERE = os.path.dirname(os.path.abspath(__file__))
logging.config.fileConfig(
    os.environ.get("LOCKROTATE_LOG_CONFIG", os.path.join(HERE, "gunicorn_logging.ini")),
    disable_existing_loggers=False,
)

__all__ = ["app"]
