"""Rotating log handlers that many processes can share without losing a line."""

from ._compress import Format
from ._errors import LockrotateError, LockTimeout, LockUnusable, NotRegularFile
from ._locks import LockBackend
from ._settings import Options
from ._stats import HandlerStats
from .handlers import RotatingFileHandler, TimedRotatingFileHandler

__version__ = "0.1.0"

__all__ = [
    "Format",
    "HandlerStats",
    "LockBackend",
    "LockTimeout",
    "LockUnusable",
    "LockrotateError",
    "NotRegularFile",
    "Options",
    "RotatingFileHandler",
    "TimedRotatingFileHandler",
    "__version__",
]
