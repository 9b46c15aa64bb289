"""The period ledger: which base file holds which time period, kept beside the lock file.

One line, ``device inode period-start signature``, padded to a fixed width and rewritten in
place under the lock. ``lockrotate status`` reads it with :func:`parse_entry` too.
"""

from __future__ import annotations

from collections.abc import Callable

from ._files import Identity, check_companion, open_companion
from ._permissions import Permissions
from ._system import REAL, System

PERIOD_WIDTH = 128


def parse_entry(raw: bytes) -> tuple[Identity, int, str] | None:
    """The period file's line ``device inode period-start signature``; None if it is not one."""
    try:
        dev, ino, period, signature = raw.decode("ascii").split()
        return (int(dev), int(ino)), int(period), signature
    except (UnicodeDecodeError, ValueError):
        return None


class PeriodLedger:
    """Which file holds which time period, kept beside the lock file.

    A file's period is decided once, under the lock, by the process that creates or first
    dates it, and recorded here with the file's (device, inode) and the schedule it was
    decided with; every other process trusts this over its own reading of the file's mtime
    (kernel file times come from a coarse clock, and processes start at different moments).
    """

    def __init__(
        self,
        path: str,
        permissions: Permissions,
        mode: int,
        signature: str,
        warn: Callable[[str], None],
        system: System = REAL,
    ) -> None:
        self.system = system
        self.path = path
        self.permissions = permissions
        self.mode = mode
        self.signature = signature
        self.warn = warn
        self._warned: str | None = None

    def _open(self, create: bool) -> int:
        fd = open_companion(self.path, self.permissions, self.mode, create, self.system)
        try:
            problem = check_companion(fd, self.mode, self.system)
        except BaseException:
            self.system.close(fd)
            raise
        if problem is not None and problem != self._warned:
            self._warned = problem
            self.warn(
                f"lockrotate: the period file {self.path} {problem}: another user can date "
                "this log's files; keep shared logs in a folder that only trusted users can write"
            )
        return fd

    def read(self) -> tuple[Identity, int, str] | None:
        """The entry, or None if there is none or it cannot be read (then the file's mtime
        decides)."""
        try:
            fd = self._open(create=False)
        except OSError:
            return None
        try:
            raw = self.system.pread(fd, PERIOD_WIDTH, 0)
        except OSError:
            return None
        finally:
            self.system.close(fd)
        return parse_entry(raw)

    def write(self, identity: Identity, period: int) -> None:
        line = f"{identity[0]} {identity[1]} {period} {self.signature}"
        fd = self._open(create=True)
        try:
            self.system.pwrite(fd, line.ljust(PERIOD_WIDTH - 1).encode("ascii") + b"\n", 0)
        finally:
            self.system.close(fd)
