"""lockrotate with logging.config.dictConfig.

Run it: ``python examples/dictconfig.py [logdir]`` (a new temporary folder if none is given).
Every process of an application may apply the same configuration: they all write app.log
and audit.log and rotate them together.
"""

from __future__ import annotations

import logging
import logging.config
import os
import sys
import tempfile
from typing import Any


def make_config(logdir: str) -> dict[str, Any]:
    """The configuration; keyword-only options (lock, maxBytes of the timed handler...) are
    plain keys beside the stdlib's."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"},
        },
        "handlers": {
            "app": {
                "class": "lockrotate.RotatingFileHandler",
                "formatter": "plain",
                "filename": os.path.join(logdir, "app.log"),
                "maxBytes": 10 * 1024 * 1024,
                "backupCount": 5,
                "encoding": "utf-8",
                "lock_timeout": 2.0,
            },
            "audit": {
                "class": "lockrotate.TimedRotatingFileHandler",
                "formatter": "plain",
                "filename": os.path.join(logdir, "audit.log"),
                "when": "midnight",
                "backupCount": 30,
                "encoding": "utf-8",
                "maxBytes": 50 * 1024 * 1024,
                "lock": "flock",
            },
        },
        "loggers": {
            "myapp.audit": {"handlers": ["audit"], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": ["app"], "level": "INFO"},
    }


def main(argv: list[str]) -> None:
    logdir = argv[1] if len(argv) > 1 else tempfile.mkdtemp(prefix="lockrotate-example-")
    logging.config.dictConfig(make_config(logdir))
    log = logging.getLogger("myapp")
    log.info("started")
    log.warning("disk at %d%%", 91)
    logging.getLogger("myapp.audit").info("user %s logged in", "alice")
    logging.shutdown()
    for name in ("app.log", "audit.log"):
        print(os.path.join(logdir, name))


if __name__ == "__main__":
    main(sys.argv)
