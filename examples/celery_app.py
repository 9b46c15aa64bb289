"""A Celery app whose every task logs one record to a shared, rotating log.

The command line is in docs/servers/celery.md (the integration test runs it).

Celery takes over logging when its worker starts: by default it removes every handler of
the root logger and installs its own. Two ways keep lockrotate's handlers:

- ``setup_logging`` signal (the default here): when a receiver is connected, Celery
  configures no logging at all; the receiver runs ``dictConfig`` in the main worker process,
  before the pool forks, and every pool process inherits the handlers (lockrotate gives each
  its own lock descriptor after the fork).
- ``worker_hijack_root_logger = False`` (``LOCKROTATE_CELERY_SETUP=setting``): configure
  logging yourself when the app module is imported; Celery then leaves the root logger's
  handlers alone (it only adds its own where a logger has none).

``LOCKROTATE_CELERY_SETUP=hijack`` configures at import and leaves Celery's default on, to
show what happens then: the root logger's lockrotate handlers are removed.
"""

from __future__ import annotations

import itertools
import logging
import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging
from checkable import checkable, log_dir

SETUP = os.environ.get("LOCKROTATE_CELERY_SETUP", "signal")
LOG_DIR = log_dir()

# Every record of the process goes to both logs through the root logger. The "app" filter
# keeps Celery's own records out of these files (so that a test can check every line);
# drop it to log everything.
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"app": {"name": "app"}},
    "formatters": {"message": {"format": "%(message)s"}},
    "handlers": {
        "timed": {
            "class": "lockrotate.TimedRotatingFileHandler",
            "filename": os.path.join(LOG_DIR, "timed.log"),
            "when": "S",
            "maxBytes": 20000,
            "formatter": "message",
            "filters": ["app"],
        },
        "size": {
            "class": "lockrotate.RotatingFileHandler",
            "filename": os.path.join(LOG_DIR, "size.log"),
            "maxBytes": 20000,
            "backupCount": 100000,
            "formatter": "message",
            "filters": ["app"],
        },
    },
    "loggers": {"app": {"level": "INFO"}},
    "root": {"level": "WARNING", "handlers": ["timed", "size"]},
}

app = Celery(
    "celery_app",
    broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
    backend=os.environ.get("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/1"),
)
app.conf.update(
    worker_hijack_root_logger=SETUP == "hijack",
    broker_connection_retry_on_startup=True,
    task_serializer="json",
    result_serializer="json",
)

if SETUP == "signal":

    @setup_logging.connect
    def configure_logging(**kwargs: Any) -> None:
        """Celery's hook: with a receiver connected it leaves logging to us."""
        logging.config.dictConfig(LOGGING)

else:
    logging.config.dictConfig(LOGGING)

log = logging.getLogger("app")
_sequence = itertools.count()


@app.task
def log_record(size: int = 100) -> tuple[str, int]:
    """Log the next record of this pool process; return its writer and sequence number."""
    writer, seq = f"w{os.getpid()}", next(_sequence)
    log.info(checkable(writer, seq, size))
    return writer, seq
