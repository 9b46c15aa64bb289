"""Every argument checked once, at construction, into one frozen settings object.

A bad argument raises ``TypeError`` or ``ValueError`` naming it, before logging knows the
handler: nothing about it can fail later, while the application is logging.
"""

from __future__ import annotations

import codecs
import datetime
import io
import locale
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypedDict

from ._compress import Format, check_format
from ._locks import DEFAULT_BACKEND, LockBackend, check_backend, check_timeout
from ._permissions import Permissions, resolve
from ._system import require_posix

_LONGEST_CHECK_INTERVAL = 3600.0
_LATEST = 253402300799.0  # 9999-12-31T23:59:59Z: the last second a label can name


class Options(TypedDict, total=False):
    """The keyword-only options both handlers add to the stdlib's arguments."""

    #: Inter-process lock: "flock" (stdlib), "filelock" or "portalocker".
    lock: LockBackend
    #: Seconds a rollover waits for the lock (0 to 3600); then records go on to the current file.
    lock_timeout: float
    #: Folder for the lock and period files instead of the log's own folder.
    lock_dir: str | os.PathLike[str] | None
    #: Strict mode: hold the lock around every write (NFS, where O_APPEND is not atomic).
    lock_every_write: bool
    #: Seconds between checks that the base path still names our file (0 to 3600).
    check_interval: float
    #: Compress rotated files in the background: "gzip", "bz2", "xz" or "zstd".
    compress: Format | None
    #: Remove rotated files older than this (seconds or timedelta).
    max_age: float | datetime.timedelta | None
    #: Remove the oldest rotated files until the rest fit in this many bytes.
    max_total_bytes: int | None
    #: Mode of every file created; companions (lock, period) keep its owner and group bits.
    chmod: int | None
    #: (user, group), names or ids, of every file created (needs root).
    owner: tuple[int | str, int | str] | None
    #: The clock the time policy and retention by age read (for tests and simulations).
    clock: Callable[[], float]


def whole_arg(name: str, value: object) -> object:
    """An integral float (``1e7`` from a configuration file) as its int, as the stdlib takes
    it for ``maxBytes`` and ``interval``; a fraction is refused; anything else is returned
    as it is, for the caller's own check."""
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{name} must be a whole number, not {value!r}")
        return int(value)
    return value


def count_arg(name: str, value: object, whole_floats: bool = False) -> int:
    if whole_floats:
        value = whole_arg(name, value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, not {value}")
    return value


def seconds_arg(name: str, value: object, longest: float = math.inf) -> float:
    if isinstance(value, datetime.timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of seconds, not {value!r}")
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if not 0 <= seconds <= longest:
        raise ValueError(f"{name} must be between 0 and {longest:g} seconds, not {value!r}")
    return seconds


def codec_arg(encoding: object, errors: object) -> tuple[str, str]:
    """The codec and error handler each record is encoded with."""
    if encoding is not None and not isinstance(encoding, str):
        raise TypeError(f"encoding must be a str, not {encoding!r}")
    if errors is not None and not isinstance(errors, str):
        raise TypeError(f"errors must be a str, not {errors!r}")
    given = io.text_encoding(encoding)
    name = locale.getpreferredencoding(False) if given == "locale" else given
    try:
        codecs.lookup(name)
        bom = "".encode(name)
    except (LookupError, ValueError):
        raise ValueError(f"encoding {encoding!r} is not a known text encoding") from None
    if bom:
        # Each record is encoded on its own: a byte-order mark would start every line.
        raise ValueError(
            f"encoding {encoding!r} writes a byte-order mark; name the byte order "
            "(e.g. 'utf-16-le') or use 'utf-8'"
        )
    handler = errors or "strict"
    try:
        codecs.lookup_error(handler)
    except (LookupError, ValueError):
        raise ValueError(f"errors {errors!r} is not a known error handler") from None
    return name, handler


def path_arg(filename: object) -> str:
    if isinstance(filename, bytes) or not isinstance(filename, (str, os.PathLike)):
        raise TypeError(f"filename must be a str or os.PathLike, not {filename!r}")
    path = os.fspath(filename)
    if not isinstance(path, str):
        raise TypeError(f"filename must be a str or os.PathLike of str, not {filename!r}")
    if not path or "\0" in path or path.endswith(os.sep) or os.path.isdir(path):
        raise ValueError(f"filename must name a file, not {path!r}")
    return os.path.abspath(path)


def flag_arg(name: str, value: object) -> bool:
    """A yes/no argument: any value the stdlib takes, except text ("false" is true)."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be True or False, not {value!r}")
    return bool(value)


def clock_arg(clock: object) -> Callable[[], float]:
    """A clock must read as seconds since the epoch that time functions accept."""
    if not callable(clock):
        raise TypeError(f"clock must be a callable returning seconds, not {clock!r}")
    reading = clock()
    if isinstance(reading, bool) or not isinstance(reading, (int, float)):
        raise TypeError(f"clock must return a number of seconds, not {reading!r}")
    if not -_LATEST <= reading <= _LATEST:
        raise ValueError(f"clock returned {reading!r}, not seconds since the epoch")
    return clock


@dataclass(frozen=True)
class Settings:
    """A handler's checked configuration, shared by the policy, the lock and the archive."""

    base_path: str
    codec: str
    errors: str
    lock: LockBackend
    lock_timeout: float
    lock_dir: str | None
    strict: bool
    check_interval: float
    compress: Format | None
    max_age: float | None
    max_total_bytes: int | None
    permissions: Permissions
    #: None: the system's clock.
    clock: Callable[[], float] | None

    def companion_mode(self) -> int:
        """Lock and period files: the base file's owner and group bits, none for others."""
        try:
            return os.stat(self.base_path).st_mode & 0o770
        except OSError:
            return 0o660


def check(
    filename: object,
    encoding: object,
    errors: object,
    *,
    lock: LockBackend = DEFAULT_BACKEND,
    lock_timeout: float = 1.0,
    lock_dir: str | os.PathLike[str] | None = None,
    lock_every_write: bool = False,
    check_interval: float = 1.0,
    compress: Format | None = None,
    max_age: float | datetime.timedelta | None = None,
    max_total_bytes: int | None = None,
    chmod: int | None = None,
    owner: tuple[int | str, int | str] | None = None,
    clock: Callable[[], float] = time.time,
) -> Settings:
    """Check every argument a handler takes besides its policy's."""
    require_posix()
    base_path = path_arg(filename)
    codec, handler = codec_arg(encoding, errors)
    backend = check_backend(lock)
    timeout = check_timeout(seconds_arg("lock_timeout", lock_timeout))
    if lock_dir is not None:
        if isinstance(lock_dir, bytes) or not isinstance(lock_dir, (str, os.PathLike)):
            raise TypeError(f"lock_dir must be a str or os.PathLike, not {lock_dir!r}")
        if not os.path.isdir(lock_dir):
            raise ValueError(f"lock_dir {os.fspath(lock_dir)!r} is not an existing folder")
    return Settings(
        base_path=base_path,
        codec=codec,
        errors=handler,
        lock=backend,
        lock_timeout=timeout,
        lock_dir=None if lock_dir is None else os.fspath(lock_dir),
        strict=flag_arg("lock_every_write", lock_every_write),
        check_interval=seconds_arg("check_interval", check_interval, _LONGEST_CHECK_INTERVAL),
        compress=check_format(compress),
        max_age=None if max_age is None else seconds_arg("max_age", max_age),
        max_total_bytes=(
            None if max_total_bytes is None else count_arg("max_total_bytes", max_total_bytes)
        ),
        permissions=resolve(chmod, owner),
        # The default reads the handler's system's clock (the simulator's, in a simulation).
        clock=None if clock is time.time else clock_arg(clock),
    )
