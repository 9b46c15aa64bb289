"""The handlers ``lockrotate bench`` can race, each built as its users would build it.

A factory must be picklable (``spawn`` sends it to fresh interpreters), so every contender
is a class or a ``functools.partial`` of one. Third-party packages are imported only when a
contender that needs them is chosen, and a missing one becomes a reason, not a crash.
"""

from __future__ import annotations

import functools
import importlib
import logging
import logging.handlers
from collections.abc import Callable
from dataclasses import dataclass

from .. import LockBackend, RotatingFileHandler, TimedRotatingFileHandler
from .workload import HandlerFactory


@dataclass(frozen=True)
class Rotation:
    """How the files roll: by size (``max_bytes`` > 0), by time (``when`` set), or both."""

    max_bytes: int
    when: str | None
    interval: int
    backup_count: int

    @property
    def by_size(self) -> bool:
        return self.max_bytes > 0

    @property
    def by_time(self) -> bool:
        return self.when is not None


class Unavailable(Exception):
    """This contender cannot run here; the message says why in one line."""


@dataclass(frozen=True)
class Contender:
    name: str
    about: str
    build: Callable[[Rotation], HandlerFactory]
    # Whether the default set includes it, given the rotation asked for.
    default: Callable[[Rotation], bool]
    # Whether it is one of ours: a failed check of ours makes the command fail.
    ours: bool = True

    def factory(self, rotation: Rotation) -> HandlerFactory:
        return self.build(rotation)


def _needs(module: str, extra: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError:
        raise Unavailable(f"needs the {module} package: pip install '{extra}'") from None


def _needs_time(rotation: Rotation) -> str:
    if rotation.when is None:
        raise Unavailable("needs time rotation: add --when (e.g. --when S)")
    return rotation.when


def _lockrotate(lock: LockBackend, strict: bool) -> Callable[[Rotation], HandlerFactory]:
    def build(rotation: Rotation) -> HandlerFactory:
        if lock != "flock":
            _needs(lock, f"lockrotate[{lock}]")
        return functools.partial(
            RotatingFileHandler,
            maxBytes=rotation.max_bytes,
            backupCount=rotation.backup_count,
            lock=lock,
            lock_every_write=strict,
        )

    return build


def _lockrotate_timed(rotation: Rotation) -> HandlerFactory:
    return functools.partial(
        TimedRotatingFileHandler,
        when=_needs_time(rotation),
        interval=rotation.interval,
        backupCount=rotation.backup_count,
        maxBytes=rotation.max_bytes,
    )


def _filehandler(rotation: Rotation) -> HandlerFactory:
    return logging.FileHandler


def _stdlib_rotating(rotation: Rotation) -> HandlerFactory:
    return functools.partial(
        logging.handlers.RotatingFileHandler,
        maxBytes=rotation.max_bytes,
        backupCount=rotation.backup_count,
    )


def _stdlib_timed(rotation: Rotation) -> HandlerFactory:
    return functools.partial(
        logging.handlers.TimedRotatingFileHandler,
        when=_needs_time(rotation),
        interval=rotation.interval,
        backupCount=rotation.backup_count,
    )


def _concurrent_log_handler(rotation: Rotation) -> HandlerFactory:
    _needs("concurrent_log_handler", "lockrotate[bench]")
    import concurrent_log_handler

    factory: HandlerFactory = functools.partial(
        concurrent_log_handler.ConcurrentRotatingFileHandler,
        maxBytes=rotation.max_bytes,
        backupCount=rotation.backup_count,
    )
    return factory


def _by_size(rotation: Rotation) -> bool:
    return rotation.by_size


def _by_time(rotation: Rotation) -> bool:
    return rotation.by_time


def _never(rotation: Rotation) -> bool:
    return False


def _always(rotation: Rotation) -> bool:
    return True


CONTENDERS: dict[str, Contender] = {
    c.name: c
    for c in (
        Contender(
            "filehandler",
            "logging.FileHandler, no rotation: the reference the ratios are to",
            _filehandler,
            _always,
            ours=False,
        ),
        Contender(
            "lockrotate", "RotatingFileHandler, flock lock", _lockrotate("flock", False), _by_size
        ),
        Contender(
            "lockrotate-filelock",
            "RotatingFileHandler, lock='filelock'",
            _lockrotate("filelock", False),
            _never,
        ),
        Contender(
            "lockrotate-portalocker",
            "RotatingFileHandler, lock='portalocker'",
            _lockrotate("portalocker", False),
            _never,
        ),
        Contender(
            "lockrotate-strict",
            "RotatingFileHandler, lock_every_write=True",
            _lockrotate("flock", True),
            _by_size,
        ),
        Contender(
            "lockrotate-timed",
            "TimedRotatingFileHandler (maxBytes too if given)",
            _lockrotate_timed,
            _by_time,
        ),
        Contender(
            "stdlib-rotating",
            "logging.handlers.RotatingFileHandler",
            _stdlib_rotating,
            _by_size,
            ours=False,
        ),
        Contender(
            "stdlib-timed",
            "logging.handlers.TimedRotatingFileHandler",
            _stdlib_timed,
            _by_time,
            ours=False,
        ),
        Contender(
            "concurrent-log-handler",
            "concurrent_log_handler.ConcurrentRotatingFileHandler",
            _concurrent_log_handler,
            _by_size,
            ours=False,
        ),
    )
}


def default_names(rotation: Rotation) -> list[str]:
    return [name for name, c in CONTENDERS.items() if c.default(rotation)]
