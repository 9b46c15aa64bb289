"""Rotating log handlers that many processes can share without losing a line."""

from ._compress import Format
from ._errors import LockTimeout
from ._locks import BACKENDS, DEFAULT_BACKEND, LockBackend
from ._stats import HandlerStats
from .handlers import RotatingFileHandler, TimedRotatingFileHandler

__version__ = "0.1.0"

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "Format",
    "HandlerStats",
    "LockBackend",
    "LockTimeout",
    "RotatingFileHandler",
    "TimedRotatingFileHandler",
    "__version__",
]
