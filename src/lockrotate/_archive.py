"""This log's rotated files, as one inventory, and what retention, compression and crash repair
do with them.

Every decision about rotated files derives from one scan of the folder (with the lock held):

1. :meth:`Inventory.scan` parses each name of the folder with the log's naming scheme. A name
   the scheme did not produce (``app.log.bak``, ``app.log.8.gz.gz``, an impossible date) is
   not an entry, so nothing below can touch it. Each entry is one rotated file in one of the
   states of :class:`State`; hidden scratch files are listed apart.
2. :func:`repair` finds what a crash left half-done: a plain file beside its finished
   compressed copy (same modification time, to the nanosecond) loses its plain copy.
3. :func:`expired` picks the entries retention removes: beyond ``backupCount``, older than
   ``max_age``, the oldest past ``max_total_bytes``.
4. :meth:`Inventory.waiting` lists the entries still plain: only those are ever handed to the
   compressor, by identity. A compressed file is never compressed again.

Removals under the lock are renames to a scratch name; the unlink happens after the lock is
released (:class:`Trash`), because unlinking a large file can take long.
"""

from __future__ import annotations

import contextlib
import enum
import os
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from ._compress import EXTENSIONS
from ._files import PRIVATE, Identity, lexists, unheld
from ._naming import Slot, bare, scratch_is_ours, scratch_path, scratch_pattern
from ._system import REAL, System

_FOREIGN_STALE_AFTER = 3600.0


class State(enum.Enum):
    PLAIN = "plain"
    COMPRESSED = "compressed"
    BOTH = "plain and compressed"


class FileInfo(NamedTuple):
    path: str
    size: int
    mtime_ns: int
    identity: Identity
    #: A symbolic link at one of our names: moved and removed as a name (never followed),
    #: never compressed.
    link: bool = False

    @classmethod
    def of(cls, path: str, system: System = REAL) -> FileInfo | None:
        """The file at *path*; None if there is none, or it is neither a regular file nor a
        link (a folder or a FIFO at a rotated name is left alone: it cannot be removed as a
        file)."""
        try:
            st = system.lstat(path)
        except FileNotFoundError:
            return None
        link = stat.S_ISLNK(st.st_mode)
        if not (link or stat.S_ISREG(st.st_mode)):
            return None
        return cls(path, st.st_size, st.st_mtime_ns, (st.st_dev, st.st_ino), link)


@dataclass(frozen=True)
class Entry:
    """One rotated file: its place in the scheme and the copies of it on disk."""

    order: tuple[float, int]
    slot: Slot
    plain: FileInfo | None
    packed: FileInfo | None
    #: Further compressed copies in other formats (a process configured with another
    #: ``compress``): never compressed, shifted and removed with the entry.
    others: tuple[FileInfo, ...] = ()

    @property
    def state(self) -> State:
        if self.packed is None:
            return State.PLAIN
        return State.COMPRESSED if self.plain is None else State.BOTH

    @property
    def files(self) -> list[FileInfo]:
        return [info for info in (self.plain, self.packed, *self.others) if info is not None]

    @property
    def size(self) -> int:
        return sum(info.size for info in self.files)

    @property
    def mtime(self) -> float:
        return max(info.mtime_ns for info in self.files) / 1e9


class Scheme(Protocol):
    """A log's naming scheme, as the inventory needs it."""

    #: Whether retention orders rotated files by their last write rather than by name.
    by_write_time: bool

    def parse(self, name: str) -> tuple[tuple[float, int], Slot] | None:
        """For a rotated name of this log (without compression extension): its order
        (oldest first) and its slot (backup index, or label and counter); else None."""


class Scratch(NamedTuple):
    path: str
    host: str
    pid: int

    def alive(self) -> bool | None:
        """Whether the process that made it still runs; None if it is of another host."""
        if not scratch_is_ours(self.host):
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # it exists, as another user
        return True


@dataclass(frozen=True)
class Inventory:
    """This log's rotated files, oldest first, and its scratch files, as one scan saw them."""

    entries: list[Entry]
    scratch: list[Scratch]
    extensions: tuple[str, ...]
    by_write_time: bool

    @classmethod
    def scan(
        cls,
        base_path: str,
        scheme: Scheme,
        extensions: Sequence[str],
        names: Iterable[str],
        system: System = REAL,
    ) -> Inventory:
        folder, base_name = os.path.split(base_path)
        orders: dict[Slot, tuple[float, int]] = {}
        copies: dict[tuple[Slot, str], str] = {}
        scratch_name = scratch_pattern(base_name)
        scratch = []
        for name in names:
            m = scratch_name.fullmatch(name)
            if m is not None:
                scratch.append(Scratch(os.path.join(folder, name), m[1], int(m[2])))
                continue
            for extension in (*[e for e in extensions if e], ""):
                plain_name, compressed = bare(name, extension)
                if compressed != bool(extension):
                    continue
                parsed = scheme.parse(plain_name)
                if parsed is not None:
                    orders[parsed[1]] = parsed[0]
                    copies[parsed[1], extension] = os.path.join(folder, name)
                    break
        entries = []
        for slot, order in orders.items():
            found = {
                extension: FileInfo.of(copies[slot, extension], system)
                for extension in ("", *extensions)
                if (slot, extension) in copies
            }
            plain = found.pop("", None)
            # The first format listed (the handler's own) is the entry's compressed copy.
            packed = [info for info in found.values() if info is not None]
            if plain is not None or packed:
                entries.append(
                    Entry(order, slot, plain, packed[0] if packed else None, tuple(packed[1:]))
                )
        entries.sort(key=lambda entry: entry.order)
        return cls(entries, scratch, tuple(extensions), scheme.by_write_time)

    def by_age(self) -> list[Entry]:
        """Entries in the order retention removes them, oldest first. Numbered names are
        their own order (each rollover shifts them). Dated ones are ordered by their last
        write, then by name: a label can mislead, since a process configured with another
        time zone or ``when`` for the same log writes labels this scheme reads otherwise."""
        if not self.by_write_time:
            return list(self.entries)
        return sorted(self.entries, key=lambda entry: (entry.mtime, entry.order))

    def waiting(self) -> list[Entry]:
        """Entries with no compressed copy: what compression still has to do."""
        return [
            entry
            for entry in self.entries
            if entry.state is State.PLAIN and entry.plain is not None and not entry.plain.link
        ]

    def holding(self, identity: Identity) -> Entry | None:
        """The entry whose plain copy is the file *identity*."""
        for entry in self.entries:
            if entry.plain is not None and entry.plain.identity == identity:
                return entry
        return None

    def stale_scratch(self, now: float, system: System = REAL) -> list[str]:
        """Scratch files nobody works on any more: ours once their process is gone; those of
        another host (which cannot be asked) after an hour without a write."""
        stale = []
        for item in self.scratch:
            info = FileInfo.of(item.path, system)
            if info is None:
                continue  # gone, or not a file we could have made
            alive = item.alive()
            if alive is False or (
                alive is None and now - info.mtime_ns / 1e9 > _FOREIGN_STALE_AFTER
            ):
                stale.append(item.path)
        return stale


def repair(inventory: Inventory) -> list[str]:
    """Plain copies whose compressed copy was finished before a crash stopped the removal.

    A compressed copy carries its source's modification time to the nanosecond: a ``.gz``
    that does not is someone else's, and both files are left alone.
    """
    return [
        entry.plain.path
        for entry in inventory.entries
        if entry.plain is not None
        and entry.packed is not None
        and entry.plain.mtime_ns == entry.packed.mtime_ns
    ]


def expired(
    entries: Sequence[Entry],
    keep: int,
    max_age: float | None,
    max_total_bytes: int | None,
    now: float,
) -> list[Entry]:
    """The entries retention removes, oldest first: beyond the newest *keep* (0: no limit by
    count), older than *max_age* seconds, then the oldest until the rest fit in
    *max_total_bytes*."""
    doomed = set(range(len(entries) - keep)) if 0 < keep < len(entries) else set()
    if max_age is not None:
        doomed.update(i for i, entry in enumerate(entries) if now - entry.mtime > max_age)
    if max_total_bytes is not None:
        total = sum(entry.size for i, entry in enumerate(entries) if i not in doomed)
        for i, entry in enumerate(entries):
            if total <= max_total_bytes:
                break
            if i not in doomed:
                doomed.add(i)
                total -= entry.size
    return [entry for i, entry in enumerate(entries) if i in doomed]


class Trash:
    """Files taken out of the log's names under the lock, unlinked once it is released.

    Retention, repair and compression *retire* a file: only after taking an exclusive
    ``flock`` on it, which fails while a writer still holds it (every writer holds its file
    shared, see :class:`lockrotate._files.AppendFile`); such a file stays where it is, for
    a later try. The lock is kept until the unlink.
    """

    def __init__(self, base_path: str, system: System = REAL) -> None:
        self.base_path = base_path
        self.system = system
        self._items: list[tuple[str, int | None]] = []
        self._mutex = system.mutex()

    def discard(self, path: str) -> None:
        """With the lock held: the file leaves its name now (a rename is instant)."""
        scratch = scratch_path(self.base_path, self.system)
        self.system.rename(path, scratch)
        self.add(scratch)

    def retire(self, path: str, held: int | None = None) -> bool:
        """With the lock held: discard *path* unless a writer holds it (then False). *held*:
        a descriptor of it the caller holds exclusively, which the trash then owns."""
        system = self.system
        fd = held
        if fd is None and not stat.S_ISLNK(system.lstat(path).st_mode):
            fd = unheld(path, system)
            if fd is None:
                return False
        try:
            scratch = scratch_path(self.base_path, system)
            system.rename(path, scratch)
        except BaseException:
            if held is None and fd is not None:
                PRIVATE.close(fd, system)
            raise
        self.add(scratch, fd)
        return True

    def add(self, path: str, fd: int | None = None) -> None:
        with self._mutex:
            self._items.append((path, fd))

    def empty(self) -> None:
        with self._mutex:
            items, self._items = self._items, []
        for path, fd in items:
            try:
                with contextlib.suppress(FileNotFoundError):
                    self.system.unlink(path)
            finally:
                if fd is not None:
                    PRIVATE.close(fd, self.system)

    def after_fork(self) -> None:
        """The parent's descriptors are closed already (PRIVATE)."""
        self._mutex = self.system.mutex()
        self._items = []


@dataclass(frozen=True)
class Retention:
    """How many rotated files, how old, how large in total (None: no limit)."""

    keep: int
    max_age: float | None
    max_total_bytes: int | None


Submit = Callable[[Identity, bool], None]


def tidy(
    inventory: Inventory,
    retention: Retention,
    trash: Trash,
    submit: Submit | None,
    rotated: Identity | None,
    now: float | None = None,
    system: System = REAL,
) -> None:
    """After a rollover, with the lock held: repair, retention, then hand the plain files
    left to compression (*submit*; the file this process just *rotated* first, the others as
    orphans that another live process may be about to compress)."""
    if now is None:
        now = system.time()
    for path in inventory.stale_scratch(now, system):
        trash.add(path)
    for path in repair(inventory):
        with contextlib.suppress(FileNotFoundError):
            trash.retire(path)
    doomed = expired(
        inventory.by_age(),
        retention.keep,
        retention.max_age,
        retention.max_total_bytes,
        now,
    )
    for entry in doomed:
        for info in entry.files:
            with contextlib.suppress(FileNotFoundError):
                trash.retire(info.path)
    if submit is None:
        return
    gone = {id(entry) for entry in doomed}
    for entry in inventory.waiting():
        if id(entry) not in gone and entry.plain is not None:
            submit(entry.plain.identity, entry.plain.identity != rotated)


class Archive:
    """One log's rotated files: the inventory, retention, repair, and what compression has
    left to do. It holds no lock: the core calls the ``*_locked`` methods with it held."""

    def __init__(
        self,
        base_path: str,
        retention: Callable[[], Retention],
        scheme: Callable[[], Scheme],
        own_format: str | None,
        clock: Callable[[], float],
        system: System = REAL,
    ) -> None:
        self.system = system
        self.base_path = base_path
        self.retention = retention
        self.scheme = scheme
        self.trash = Trash(base_path, system)
        #: The extension this handler compresses to (None: it does not compress).
        self.extension = None if own_format is None else EXTENSIONS[own_format]
        own = () if self.extension is None else (self.extension,)
        self.formats: tuple[str, ...] = (
            *own,
            *(extension for extension in EXTENSIONS.values() if extension not in own),
        )
        self._clock = clock

    def scan(self) -> Inventory:
        """Every copy of each rotated file, in any compression format: a process configured
        with another ``compress`` (or none) shifts and removes all of them alike."""
        folder = os.path.dirname(self.base_path)
        return Inventory.scan(
            self.base_path, self.scheme(), self.formats, self.system.listdir(folder), self.system
        )

    def tidy_locked(self, rotated: Identity) -> list[tuple[Identity, bool]]:
        """Repair and retention; returns the plain files left for compression, each with
        whether it is an orphan (not the file just *rotated*)."""
        waiting: list[tuple[Identity, bool]] = []
        tidy(
            self.scan(),
            self.retention(),
            self.trash,
            None if self.extension is None else lambda *job: waiting.append(job),
            rotated,
            self._clock(),
            self.system,
        )
        return waiting

    def locate(self, identity: Identity) -> str | None:
        """The name of the rotated file *identity*, while it is still plain."""
        entry = self.scan().holding(identity)
        return None if entry is None or entry.plain is None else entry.plain.path

    def put_in_place_locked(
        self, identity: Identity, temp: str, nbytes: int, source: int | None = None
    ) -> bool:
        """With the lock: the compressed copy takes its name, then the plain file goes, unless
        the plain file grew meanwhile, the compressed name is taken, or a writer holds it.
        *source*: the compressor's descriptor of the plain file, held exclusively; the trash
        owns it when this returns True."""
        entry = self.scan().holding(identity)
        if entry is None or entry.plain is None or entry.packed is not None:
            return False
        plain = entry.plain
        if plain.size != nbytes or self.extension is None:
            return False
        packed = plain.path + self.extension
        if lexists(packed, self.system):
            return False
        held = source if source is not None else unheld(plain.path, self.system)
        if held is None:
            return False
        try:
            self.system.rename(temp, packed)
            self.trash.retire(plain.path, held)
        except BaseException:
            if source is None:
                PRIVATE.close(held, self.system)
            raise
        # Retention skipped the files held meanwhile (this one, by this compressor): it looks
        # again now. A failure here waits for the next rollover's try.
        with contextlib.suppress(OSError):
            tidy(self.scan(), self.retention(), self.trash, None, None, self._clock(), self.system)
        return True

    def after_fork(self) -> None:
        self.trash.after_fork()
