"""Django settings whose ``LOGGING`` writes through lockrotate.

Django hands ``LOGGING`` to ``logging.config.dictConfig`` in ``django.setup()``, which every
process of the site runs (each gunicorn/uWSGI worker, each ``manage.py`` command, each
Celery worker): each builds its own handlers on the same files, and lockrotate keeps them
rotating together. Put your real log folder in ``LOG_DIR``.
"""

from __future__ import annotations

import os
from typing import Any

from checkable import log_dir

LOG_DIR = log_dir()  # in production: "/var/log/mysite"

SECRET_KEY = "example-only-not-secret"
DEBUG = False
INSTALLED_APPS: list[str] = []
USE_TZ = True

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"message": {"format": "%(message)s"}},
    "handlers": {
        # Rolls over every second (when="S" is for the demo: use "midnight" or "H")
        # and whenever the file would pass 20 kB; every rotated file is kept.
        "timed": {
            "class": "lockrotate.TimedRotatingFileHandler",
            "filename": os.path.join(LOG_DIR, "timed.log"),
            "when": "S",
            "maxBytes": 20000,
            "formatter": "message",
        },
        "size": {
            "class": "lockrotate.RotatingFileHandler",
            "filename": os.path.join(LOG_DIR, "size.log"),
            "maxBytes": 20000,
            "backupCount": 100000,
            "formatter": "message",
        },
    },
    "loggers": {
        "app": {"handlers": ["timed", "size"], "level": "INFO", "propagate": False},
    },
}
