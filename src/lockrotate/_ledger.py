"""The period ledger: which base file holds which time period, and the rotation book, kept
beside the lock file. Both are written under the lock only.

The first line, ``device inode period-start signature``, is padded to a fixed width and
rewritten in place (``lockrotate status`` reads it with :func:`parse_entry` too). After it,
the *rotation book*: a ring of fixed-width records ``number key inode time crc``, one per
rotation of a dated log, numbered in the order the rotations happened. Retention orders dated
files by it (their last write and their labels can both mislead: docs/simulation.md, findings
4 and 6). A record is one ``pwrite``: one torn by a kill or a full disk, or planted, fails its
crc and is ignored, and a file the book does not know is placed by its last write.
"""

from __future__ import annotations

import errno
import hashlib
import os
import zlib
from collections.abc import Callable
from typing import NamedTuple

from ._files import Identity, check_companion, companion_warning, open_companion
from ._permissions import Permissions
from ._system import REAL, System

PERIOD_WIDTH = 128
#: One record of the rotation book: ``number key inode time crc``, padded, with a line end.
BOOK_WIDTH = 80
#: The fewest rotations the book remembers (more with a larger ``backupCount``).
BOOK_MIN = 32
#: How many records a reader looks at: every slot a process with another ``backupCount``
#: may have written, up to a bound (a planted large file costs one bounded read).
_BOOK_READ = 2048
#: Rotation numbers stay below this, so that the next one fits its record.
_NUMBER_LIMIT = 1 << 62


def parse_entry(raw: bytes) -> tuple[Identity, int, str] | None:
    """The period file's line ``device inode period-start signature``; None if it is not one."""
    try:
        dev, ino, period, signature = raw.decode("ascii").split()
        return (int(dev), int(ino)), int(period), signature
    except (UnicodeDecodeError, ValueError):
        return None


class Unreadable(OSError):
    """The ledger opened, but reading it failed (``EIO``): it may hold an entry."""


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
                companion_warning(
                    "period", self.path, problem, "another user can date this log's files"
                )
            )
        return fd

    def read(self) -> tuple[Identity, int, str] | None:
        """The entry, or None if there is none or no usable ledger (then the file's mtime
        decides). Raises :class:`Unreadable` when a ledger that opened cannot be read: a
        moment's failure must not make a process date anew a file another one dated."""
        try:
            fd = self._open(create=False)
        except OSError:
            return None
        try:
            raw = self.system.pread(fd, PERIOD_WIDTH, 0)
        except OSError as exc:
            raise Unreadable(exc.errno, f"the period file cannot be read: {exc}") from exc
        finally:
            self.system.close(fd)
        return parse_entry(raw)

    def book(self) -> Book:
        """The rotation book; raises OSError if the ledger cannot be read (no ledger: empty)."""
        try:
            fd = self._open(create=False)
        except FileNotFoundError:
            return Book({})
        try:
            return Book.parse(self.system.pread(fd, _BOOK_READ * BOOK_WIDTH, PERIOD_WIDTH))
        finally:
            self.system.close(fd)

    def note_rotation(
        self, name: str, inode: int, capacity: int, number: int | None = None
    ) -> int:
        """With the lock held: the next rotation makes the rotated file *name*, the file
        *inode*; returns its number. Written before the rename, so that no rotated file is
        newer than the book: a rollover that fails or is killed after this leaves a record
        of a name that does not exist (the next try makes another name). *capacity*: how
        many records the ring holds (:func:`book_capacity`). *number*: the record of that
        rotation is written again (a ``rotator`` made another file than the one renamed).
        The book is read here, through the descriptor the record is written with: a ledger
        that seemed missing must not restart the numbers."""
        fd = self._open(create=True)
        try:
            if number is None:
                raw = self.system.pread(fd, _BOOK_READ * BOOK_WIDTH, PERIOD_WIDTH)
                number = Book.parse(raw).next
            offset = PERIOD_WIDTH + (number % capacity) * BOOK_WIDTH
            now = max(0, int(self.system.time() * 1e9))
            record = Rotation(number, book_key(name), inode, now).record()
            if self.system.pwrite(fd, record, offset) != len(record):
                raise OSError(errno.ENOSPC, "the rotation book's record was cut short", self.path)
        finally:
            self.system.close(fd)
        return number

    def write(self, identity: Identity, period: int) -> None:
        line = f"{identity[0]} {identity[1]} {period} {self.signature}"
        fd = self._open(create=True)
        try:
            self.system.pwrite(fd, line.ljust(PERIOD_WIDTH - 1).encode("ascii") + b"\n", 0)
        finally:
            self.system.close(fd)


def book_capacity(backup_count: int) -> int:
    """How many rotations the book remembers for a log keeping *backup_count* files: twice
    that, so that a rotated file retention still weighs is known to it, and no more than a
    reader reads (beyond, files are placed by their last write among the known ones)."""
    return min(max(BOOK_MIN, 2 * backup_count), _BOOK_READ)


def book_key(name: str) -> str:
    """A rotated file's key in the book: a digest of its name (any name fits a record)."""
    return hashlib.blake2b(os.fsencode(name), digest_size=8).hexdigest()


class Rotation(NamedTuple):
    """One record of the book: rotation *number* made the rotated name *key*, the file
    *inode*, at *time_ns* (by the wall clock that stamps file times)."""

    number: int
    key: str
    inode: int
    time_ns: int

    def record(self) -> bytes:
        """Its fixed-width record: the fields in hexadecimal, then their crc."""
        body = f"{self.number:016x} {self.key} {self.inode:016x} {self.time_ns:016x}"
        line = f"{body} {zlib.crc32(body.encode('ascii')):08x}".encode("ascii")
        return line.ljust(BOOK_WIDTH - 1) + b"\n"

    @classmethod
    def parse(cls, raw: bytes) -> Rotation | None:
        """The rotation of a record; None if it is torn, planted or empty."""
        if len(raw) != BOOK_WIDTH or not raw.endswith(b"\n"):
            return None
        body, _, crc = raw.rstrip(b" \n").rpartition(b" ")
        fields = body.split(b" ")
        if crc != b"%08x" % zlib.crc32(body) or [len(field) for field in fields] != [16] * 4:
            return None
        try:
            number, _, inode, time_ns = (int(field, 16) for field in fields)
        except ValueError:
            return None
        if not 0 < number < _NUMBER_LIMIT:
            return None
        return cls(number, fields[1].decode("ascii"), inode, time_ns)


class Book:
    """The rotation book as read: which rotation made which rotated file."""

    def __init__(self, rotations: dict[str, Rotation]) -> None:
        self._rotations = rotations

    @classmethod
    def parse(cls, raw: bytes) -> Book:
        """The book from the bytes after the period line; bad records are left out."""
        rotations: dict[str, Rotation] = {}
        for start in range(0, len(raw) - BOOK_WIDTH + 1, BOOK_WIDTH):
            rotation = Rotation.parse(raw[start : start + BOOK_WIDTH])
            if rotation is not None:
                # A name made again (its older file gone) counts by its latest rotation.
                known = rotations.get(rotation.key)
                if known is None or known.number < rotation.number:
                    rotations[rotation.key] = rotation
        return cls(rotations)

    def rotation(self, name: str, inode: int | None = None) -> tuple[int, int] | None:
        """The number and time of the rotation that made the rotated file *name* (without
        compression extension), the file *inode* (None: any, as for a compressed copy);
        None if the book does not know it: older than the book, its record lost, or its
        name made again by a rotation whose record (and the look at the book before it)
        failed."""
        rotation = self._rotations.get(book_key(name))
        if rotation is None or inode not in (None, rotation.inode):
            return None
        return rotation.number, rotation.time_ns

    @property
    def next(self) -> int:
        """The number of the next rotation."""
        return max((rotation.number for rotation in self._rotations.values()), default=0) + 1
