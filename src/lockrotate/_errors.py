"""The errors lockrotate raises, under one base class that an application can catch."""

from __future__ import annotations


class LockrotateError(Exception):
    """Base of every error lockrotate raises itself."""


class LockTimeout(LockrotateError, TimeoutError):
    """The rollover lock stayed held by another process for longer than the timeout."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__(
            f"lockrotate could not take the lock {path!r} within {timeout:g} s; "
            "records still go to the current file and the rollover is tried again later"
        )
        self.path = path
        self.timeout = timeout

    def __reduce__(self) -> tuple[type[LockTimeout], tuple[str, float]]:
        # Picklable across multiprocessing and concurrent.futures.
        return (LockTimeout, (self.path, self.timeout))


class LockUnusable(LockrotateError, OSError):
    """The lock file cannot be opened or locked (a planted directory or FIFO, permissions);
    ``path`` (``filename``) names it."""

    @property
    def path(self) -> str:
        return str(self.filename)


class NotRegularFile(LockrotateError, OSError):
    """A companion file's name is taken by a directory, FIFO, device or socket."""
