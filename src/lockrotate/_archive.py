"""This log's rotated files, as one inventory, and what retention, compression and crash repair
do with them.

Every decision about rotated files derives from one inventory per rollover. The lock guards
names, not listings: a folder may hold 100,000 files that are not ours, and every process that
is due waits while the lock is held. So the inventory is made before the lock is taken
(:meth:`Archive.survey`), by a listing only where one is needed; with the lock held, a
rollover touches only the names it changes, and makes a fresh inventory only if one of them is
not as the snapshot says.

1. :meth:`Inventory.scan` parses each name of the folder with the log's naming scheme, after a
   cheap filter by the scheme's prefix. A name the scheme did not produce (``app.log.bak``,
   ``app.log.8.gz.gz``, an impossible date) is not an entry, so nothing below can touch it.
   Each entry is one rotated file in one of the states of :class:`State`; hidden scratch files
   are listed apart. A numbered scheme's names are known, so its inventory can also be made
   by asking for each of them (:meth:`Archive.probe`): no listing at all.
2. :func:`repair` finds what a crash left half-done: a plain file beside its finished
   compressed copy (same modification time, to the nanosecond) loses its plain copy.
3. :func:`expired` picks the entries retention removes: beyond ``backupCount``, older than
   ``max_age``, the oldest past ``max_total_bytes``.
4. :meth:`Inventory.waiting` lists the entries still plain: only those are ever handed to the
   compressor, by identity. A compressed file is never compressed again.

Removals under the lock are renames to a scratch name; the unlink happens after the lock is
released (:class:`Trash`), because unlinking a large file can take long. At most
:data:`BATCH` files leave under one hold: a backlog of dated files (``max_age`` newly set, a
restored folder) leaves the rest by their own names once the lock is released (a dated name is
never made again, so a racing remover's ENOENT is harmless); a numbered backlog leaves at the
next rollovers.
"""

from __future__ import annotations

import contextlib
import enum
import errno
import functools
import os
import stat
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ._compress import EXTENSIONS
from ._files import PRIVATE, Identity, lexists, unheld
from ._naming import (
    NumberedScheme,
    Slot,
    bare,
    hidden_stem,
    scratch_is_ours,
    scratch_path,
    scratch_pattern,
)
from ._system import REAL, System

if TYPE_CHECKING:
    from ._outage import Outages

_FOREIGN_STALE_AFTER = 3600.0
#: The most files retention moves away under one hold of the lock.
BATCH = 100
#: A numbered log's folder is listed (for stale scratch files) at least this often (seconds).
_SWEEP_EVERY = 600.0


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
        file; a name too long to exist)."""
        try:
            st = system.lstat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ENAMETOOLONG:
                return None
            raise
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

    @functools.cached_property
    def files(self) -> list[FileInfo]:
        return [info for info in (self.plain, self.packed, *self.others) if info is not None]

    @functools.cached_property
    def size(self) -> int:
        return sum(info.size for info in self.files)

    @functools.cached_property
    def mtime_ns(self) -> int:
        return max(info.mtime_ns for info in self.files)

    @functools.cached_property
    def mtime(self) -> float:
        return self.mtime_ns / 1e9

    @functools.cached_property
    def name(self) -> str:
        """The name the rotation gave it (its plain copy's, compressed or not)."""
        if self.plain is not None:
            return os.path.basename(self.plain.path)
        assert self.packed is not None
        name = os.path.basename(self.packed.path)
        for extension in EXTENSIONS.values():
            if name.endswith(extension):
                return name[: -len(extension)]
        return name


class Book(Protocol):
    """Which rotation made which rotated file (:class:`lockrotate._ledger.Book`)."""

    def rotation(self, name: str, inode: int | None = None) -> tuple[int, int] | None:
        """The number and time (ns) of the rotation that made the rotated file *name*, the
        file *inode* (None: any); None if the book does not know it."""


class Scheme(Protocol):
    """A log's naming scheme, as the inventory needs it."""

    #: Whether retention orders rotated files by their last write rather than by name.
    by_write_time: bool
    #: What every name of the scheme starts with ("" when a ``namer`` decides).
    prefix: str

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
    #: What the rollover did to names, with the lock held: old path to new (None: removed).
    moves: dict[str, str | None] = field(default_factory=dict)
    #: With the lock held, when a name was not as this inventory says: a fresh inventory
    #: (asked for each name, or listed), which the rollover goes on with.
    refresh: Callable[[], Inventory] | None = field(default=None, compare=False)
    #: The base file when the folder was listed: a snapshot serves only its rollover.
    base: Identity | None = None

    @classmethod
    def scan(
        cls,
        base_path: str,
        scheme: Scheme,
        extensions: Sequence[str],
        names: Iterable[str],
        system: System = REAL,
        known: Mapping[str, FileInfo] | None = None,
    ) -> Inventory:
        """The inventory of the folder's *names*: each name of ours is looked at (``lstat``),
        unless *known* already holds its file."""
        folder, base_name = os.path.split(base_path)
        orders: dict[Slot, tuple[float, int]] = {}
        copies: dict[tuple[Slot, str], str] = {}
        scratch_stem = hidden_stem(base_name) + "."
        scratch_name = scratch_pattern(base_name)
        prefix = scheme.prefix
        formats = [e for e in extensions if e]
        scratch = []
        for name in names:
            if name.startswith(scratch_stem):
                m = scratch_name.fullmatch(name)
                if m is not None:
                    scratch.append(Scratch(os.path.join(folder, name), m[1], int(m[2])))
                    continue
            if not name.startswith(prefix):
                continue
            for extension in (*[e for e in formats if name.endswith(e)], ""):
                plain_name, compressed = bare(name, extension)
                if compressed != bool(extension):
                    continue
                parsed = scheme.parse(plain_name)
                if parsed is not None:
                    orders[parsed[1]] = parsed[0]
                    copies[parsed[1], extension] = os.path.join(folder, name)
                    break

        def look(path: str) -> FileInfo | None:
            found = None if known is None else known.get(path)
            return FileInfo.of(path, system) if found is None else found

        entries = []
        for slot, order in orders.items():
            found = {
                extension: look(copies[slot, extension])
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

    @functools.cached_property
    def count(self) -> int:
        """How many files the entries hold."""
        return sum(len(entry.files) for entry in self.entries)

    def record(self, source: str, dest: str | None) -> None:
        """With the lock held: the rollover moved *source* to *dest* (None: removed it)."""
        self.moves[source] = dest

    def moved(
        self,
        base_path: str,
        scheme: Scheme,
        wanted: Callable[[Entry], bool] | None = None,
        system: System = REAL,
    ) -> Inventory:
        """The inventory after the recorded moves, without a listing: a moved file keeps its
        identity, size and times, and only its new name is parsed; only the file moved from
        *base_path* (the rotated one) is looked at (``lstat``). Only the entries *wanted* are
        kept, and the rotated one."""
        if not self.moves:
            return self
        moves = self.moves
        kept: list[Entry] = []
        known: dict[str, FileInfo] = {}
        for entry in self.entries if wanted is None else filter(wanted, self.entries):
            files = entry.files
            if not any(info.path in moves for info in files):
                kept.append(entry)
                continue
            for info in files:
                dest = moves.get(info.path, info.path)
                if dest is not None:
                    known[dest] = info._replace(path=dest)
        names = [os.path.basename(path) for path in known]
        rotated = moves.get(base_path)
        if rotated is not None and os.path.dirname(rotated) == os.path.dirname(base_path):
            names.append(os.path.basename(rotated))
        fresh = Inventory.scan(base_path, scheme, self.extensions, names, system, known)
        entries = sorted([*kept, *fresh.entries], key=lambda entry: entry.order)
        return replace(self, entries=entries, moves={}, refresh=None)

    def by_age(self, book: Book | None = None) -> list[Entry]:
        """Entries in the order retention removes them, oldest first. Numbered names are
        their own order (each rollover shifts them). Dated ones are ordered by the rotation
        that made them, as the *book* says: their labels can mislead (a process configured
        with another time zone or ``when`` for the same log writes labels this scheme reads
        otherwise), and so can their last write (a late append to an older file, a clock
        stepped back). The files the book does not know (older than it, or rotated while it
        could not be written) are placed by their last write among the times of the
        rotations the book knows, then by name; the known ones are ordered by number among
        the places they hold (a clock stepped back misplaces only the files the book does not
        know)."""
        if not self.by_write_time:
            return list(self.entries)
        if book is None:
            return sorted(self.entries, key=lambda entry: (entry.mtime, entry.order))
        rotations = [
            book.rotation(entry.name, None if entry.plain is None else entry.plain.identity[1])
            for entry in self.entries
        ]
        placed = sorted(
            range(len(self.entries)),
            key=lambda i: (
                self.entries[i].mtime_ns if (known := rotations[i]) is None else known[1],
                self.entries[i].order,
            ),
        )
        numbered = [(known[0], i) for i in placed if (known := rotations[i]) is not None]
        places = [place for place, i in enumerate(placed) if rotations[i] is not None]
        for place, (_, i) in zip(places, sorted(numbered), strict=True):
            placed[place] = i
        return [self.entries[i] for i in placed]

    def waiting(self) -> list[Entry]:
        """Entries with no compressed copy: what compression still has to do."""
        return list(self._waiting)

    @functools.cached_property
    def _waiting(self) -> tuple[Entry, ...]:
        return tuple(
            entry
            for entry in self.entries
            if entry.state is State.PLAIN and entry.plain is not None and not entry.plain.link
        )

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


def still(info: FileInfo, system: System = REAL) -> bool:
    """Whether *info*'s name still holds the same file (or link) it held when it was seen."""
    now = FileInfo.of(info.path, system)
    return now is not None and now.identity == info.identity and now.link == info.link


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
    """Files taken out of the log's names under the lock, unlinked once it is released; and
    work that needs no lock (:meth:`later`), done then too.

    Retention, repair and compression *retire* a file: only after taking an exclusive
    ``flock`` on it, which fails while a writer still holds it (every writer holds its file
    shared, see :class:`lockrotate._files.AppendFile`); such a file stays where it is, for
    a later try. The lock is kept until the unlink.
    """

    def __init__(self, base_path: str, system: System = REAL) -> None:
        self.base_path = base_path
        self.system = system
        self._items: list[tuple[str, int | None]] = []
        self._work: list[Callable[[], None]] = []
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

    def retire_now(self, path: str) -> None:
        """Without the lock, for a dated name (never made again): unlink *path* unless a
        writer holds it; a racing process's removal is harmless."""
        try:
            fd = unheld(path, self.system)
        except FileNotFoundError:
            return
        if fd is None:
            return
        try:
            with contextlib.suppress(FileNotFoundError):
                self.system.unlink(path)
        finally:
            PRIVATE.close(fd, self.system)

    def add(self, path: str, fd: int | None = None) -> None:
        with self._mutex:
            self._items.append((path, fd))

    def later(self, work: Callable[[], None]) -> None:
        """With the lock held: *work* runs once the lock is released (:meth:`empty`)."""
        with self._mutex:
            self._work.append(work)

    def empty(self) -> None:
        if not self._items and not self._work:
            return  # (strict mode empties it after every record)
        with self._mutex:
            work, self._work = self._work, []
        for job in work:
            job()
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
        self._work = []


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
    rescan: Callable[[], Inventory] | None = None,
    book: Book | None = None,
) -> bool:
    """After a rollover, with the lock held: repair, retention, then hand the plain files
    left to compression (*submit*; the file this process just *rotated* first, the others as
    orphans that another live process may be about to compress). Returns whether a file
    that should have left was held (by a writer or a compressor) and stayed.

    A file leaves only if its name still holds the file the inventory saw; if one does not,
    the inventory no longer holds, and *rescan* (if given) makes a fresh one to decide again.
    *book*: the order of a dated log's rotations (:meth:`Inventory.by_age`).
    At most :data:`BATCH` files are moved away under the lock; the rest of a dated backlog
    leaves by name once the lock is released (:meth:`Trash.add`).
    """
    if now is None:
        now = system.time()
    for path in inventory.stale_scratch(now, system):
        trash.add(path)
    repairs = set(repair(inventory))
    doomed = expired(
        inventory.by_age(book),
        retention.keep,
        retention.max_age,
        retention.max_total_bytes,
        now,
    )
    leaving = [
        *(info for entry in inventory.entries if (info := entry.plain) and info.path in repairs),
        *(info for entry in doomed for info in entry.files),
    ]
    held = False
    for moved, info in enumerate(leaving):
        if moved >= BATCH:
            if inventory.by_write_time:
                trash.later(functools.partial(trash.retire_now, info.path))
            continue
        if not still(info, system):
            if rescan is None:
                continue  # not the file the inventory saw: never remove it
            return tidy(rescan(), retention, trash, submit, rotated, now, system, None, book)
        with contextlib.suppress(FileNotFoundError):
            held |= not trash.retire(info.path)
    if submit is not None:
        gone = {id(entry) for entry in doomed}
        for entry in inventory.waiting():
            if id(entry) not in gone and entry.plain is not None:
                submit(entry.plain.identity, entry.plain.identity != rotated)
    return held


def _identity(path: str, system: System) -> Identity | None:
    try:
        st = system.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


def _both(entry: Entry) -> bool:
    return entry.state is State.BOTH


class Archive:
    """One log's rotated files: the inventory, retention, repair, and what compression has
    left to do. It holds no lock: the core calls the ``*_locked`` methods with it held, and
    :meth:`survey` just before it takes the lock."""

    def __init__(
        self,
        base_path: str,
        retention: Callable[[], Retention],
        scheme: Callable[[], Scheme],
        own_format: str | None,
        clock: Callable[[], float],
        system: System = REAL,
        outages: Outages | None = None,
        book: Callable[[], Book | None] | None = None,
    ) -> None:
        self.system = system
        self.base_path = base_path
        self.retention = retention
        self.scheme = scheme
        #: Reads a dated log's rotation book (None: the log has none).
        self._read_book = book
        self.trash = Trash(base_path, system)
        #: The extension this handler compresses to (None: it does not compress).
        self.extension = None if own_format is None else EXTENSIONS[own_format]
        own = () if self.extension is None else (self.extension,)
        self.formats: tuple[str, ...] = (
            *own,
            *(extension for extension in EXTENSIONS.values() if extension not in own),
        )
        self._clock = clock
        #: Where a dated log's tidying, done after the lock is released, reports a failure.
        self.outages = outages
        self._sweep_at = 0.0  # the first rollover lists the folder: stale scratch files go
        self._rolling: Inventory | None = None  # the inventory of the rollover under way
        # Whether the last tidy left a file that was held (see put_in_place_locked).
        self._held = False
        self._files_seen = 0  # how many files the last rollover's inventory held

    def scan(self) -> Inventory:
        """Every copy of each rotated file, in any compression format: a process configured
        with another ``compress`` (or none) shifts and removes all of them alike. A numbered
        log whose folder costs more to list than its names to ask for is not listed."""
        scheme = self.scheme()
        if isinstance(scheme, NumberedScheme) and not self._listing_pays(scheme):
            return self.probe(scheme)
        return self.listed(scheme)

    def listed(self, scheme: Scheme) -> Inventory:
        """The inventory from a listing of the folder."""
        system = self.system
        folder = os.path.dirname(self.base_path)
        self._sweep_at = system.monotonic() + _SWEEP_EVERY
        return Inventory.scan(self.base_path, scheme, self.formats, system.listdir(folder), system)

    def probe(self, scheme: NumberedScheme) -> Inventory:
        """The inventory of a numbered log from an ``lstat`` of each name it can have, up to
        two indexes in a row with no file (a rollover cut short leaves a gap of one)."""
        system = self.system
        folder = os.path.dirname(self.base_path)
        known: dict[str, FileInfo] = {}
        empty = 0
        for name in scheme.names():
            before = len(known)
            for extension in ("", *self.formats):
                info = FileInfo.of(os.path.join(folder, name + extension), system)
                if info is not None:
                    known[info.path] = info
            empty = 0 if len(known) > before else empty + 1
            if empty == 2:
                break
        names = [os.path.basename(path) for path in known]
        return Inventory.scan(self.base_path, scheme, self.formats, names, system, known)

    def _listing_pays(self, scheme: NumberedScheme) -> bool:
        """Whether to list a numbered log's folder: now and then for stale scratch files,
        else only when the folder is small beside the names there are to ask for: the files
        the last rollover saw, in every format (a folder's size grows with its entries, by
        12 to 32 bytes each on ext4 and tmpfs). A listing is made outside the lock, so it may
        cost several times what the asking, under the lock, would."""
        if self.system.monotonic() >= self._sweep_at:
            return True
        try:
            size = self.system.stat(os.path.dirname(self.base_path)).st_size
        except OSError:
            return False
        return size // 32 <= 8 * (self._files_seen + 2) * (1 + len(self.formats))

    def book_for(self, inventory: Inventory) -> Book | None:
        """The rotation book, for a dated log's retention; None (each file is then ordered
        by its last write) for a numbered log, or if the book cannot be read."""
        if self._read_book is None or not inventory.by_write_time:
            return None
        try:
            return self._read_book()
        except OSError:
            return None

    def by_age(self) -> list[Entry]:
        """The rotated files now, in the order retention removes them, oldest first."""
        inventory = self.scan()
        return inventory.by_age(self.book_for(inventory))

    def survey(self) -> Inventory | None:
        """Before the lock is taken: the inventory the rollover will use, from a listing (a
        dated scheme; a numbered one where listing pays), else by asking for each numbered
        name. None: there is no folder (yet), and the rollover under the lock finds out."""
        try:
            base = _identity(self.base_path, self.system)
            snapshot = self._watchable(replace(self.scan(), base=base))
        except OSError:
            return None
        self._files_seen = snapshot.count
        if self.extension is not None:
            snapshot.waiting()  # found here, outside the lock, for a dated rollover's hand-off
        return snapshot

    def inventory_locked(self, snapshot: Inventory | None) -> Inventory:
        """With the lock held: the *snapshot* made before the lock (else a fresh one, by
        asking for each numbered name, or listed); the rollover records its moves in it, and
        :meth:`tidy_locked` reads them.

        No name of it is looked at here: each is checked where the rollover changes it. A
        shift's rename fails on a name that is gone and its target is checked unless the
        shift has just emptied it; a dated rollover checks the one name it makes; :func:`tidy`
        checks each file before it removes it. If a name is not as the snapshot says, the
        rollover asks for a fresh inventory (:attr:`Inventory.refresh`). A snapshot made
        before another rollover (of another thread or process) is not used at all."""
        base = None if snapshot is None else snapshot.base
        if base is None or base != _identity(self.base_path, self.system):
            return self._refresh_locked()
        assert snapshot is not None
        return self._watched(snapshot)

    def _refresh_locked(self) -> Inventory:
        scheme = self.scheme()
        fresh = self.probe(scheme) if isinstance(scheme, NumberedScheme) else self.listed(scheme)
        self._files_seen = fresh.count
        return self._watched(fresh)

    def _watchable(self, inventory: Inventory) -> Inventory:
        """*inventory*, ready to record one rollover's moves and to be refreshed."""
        return replace(inventory, moves={}, refresh=self._refresh_locked)

    def _watched(self, inventory: Inventory) -> Inventory:
        self._rolling = inventory if inventory.refresh is not None else self._watchable(inventory)
        return self._rolling

    def tidy_locked(self, rotated: Identity) -> list[tuple[Identity, bool]]:
        """After a rollover, with the lock held: repair and retention on the inventory the
        rollover used, as its recorded moves left it (without one: a fresh scan); returns
        the plain files left for compression, each with whether it is an orphan (not the
        file just *rotated*).

        A dated log's names are never made again, so its repair and retention wait until
        the lock is released (:meth:`Trash.later`): a racing process's removal costs an
        ENOENT, and a backlog of thousands of expired files costs no process a wait."""
        inventory, self._rolling = self._rolling, None
        retention = self.retention()
        system = self.system
        waiting: list[tuple[Identity, bool]] = []
        submit = None if self.extension is None else lambda *job: waiting.append(job)
        scheme = self.scheme()
        if inventory is not None and inventory.by_write_time:
            self.trash.later(lambda: self._tidy_unlocked(inventory, retention, rotated))
            if submit is not None:
                # The plain files the snapshot saw (found before the lock), then the one
                # just rotated: the same hand-off as after a scan, without one.
                for entry in inventory.waiting():
                    assert entry.plain is not None
                    submit(entry.plain.identity, True)
                if self.base_path in inventory.moves:
                    submit(rotated, False)
            return waiting
        if inventory is None:
            current = self.scan()
        elif self.extension is None and retention == Retention(0, None, None):
            # Only repair has anything to do: the entries with both copies.
            current = inventory.moved(self.base_path, scheme, _both, system)
        else:
            current = inventory.moved(self.base_path, scheme, None, system)
        self._held = tidy(
            current,
            retention,
            self.trash,
            submit,
            rotated,
            self._clock(),
            system,
            self.scan,
            self.book_for(current),
        )
        return waiting

    def _tidy_unlocked(self, inventory: Inventory, retention: Retention, rotated: Identity) -> None:
        """A dated log's repair and retention, once the lock is released; a failure is
        reported as a failed tidy under the lock would be."""
        try:
            current = inventory.moved(self.base_path, self.scheme(), None, self.system)
            self._held = tidy(
                current,
                retention,
                self.trash,
                None,
                rotated,
                self._clock(),
                self.system,
                None,
                self.book_for(current),
            )
        except Exception:
            if self.outages is None:
                raise
            self.outages.failed("tidy")
        else:
            if self.outages is not None:
                self.outages.ok("tidy")

    def locate(self, identity: Identity) -> str | None:
        """The name of the rotated file *identity*, while it is still plain."""
        entry = self.scan().holding(identity)
        return None if entry is None or entry.plain is None else entry.plain.path

    def put_in_place_locked(
        self, identity: Identity, temp: str, nbytes: int, seen: str | None = None,
        source: int | None = None,
    ) -> bool:
        """With the lock: the compressed copy takes its name, then the plain file goes, unless
        the plain file grew meanwhile, the compressed name is taken, or a writer holds it.
        *seen*: where the file was found before the lock was taken; only checked with it
        held. *source*: the compressor's descriptor of the plain file, held exclusively; the
        trash owns it when this returns True."""
        system = self.system
        plain = None if seen is None else FileInfo.of(seen, system)
        if plain is None or plain.identity != identity:
            path = self.locate(identity)  # not seen, or moved since: look for it
            plain = None if path is None else FileInfo.of(path, system)
        if plain is None or plain.identity != identity or plain.link:
            return False
        if plain.size != nbytes or self.extension is None:
            return False
        if any(lexists(plain.path + extension, system) for extension in self.formats):
            return False  # a compressed copy exists already, or the name is taken
        held = source if source is not None else unheld(plain.path, system)
        if held is None:
            return False
        try:
            system.rename(temp, plain.path + self.extension)
            self.trash.retire(plain.path, held)
        except FileNotFoundError:
            # A dated log's repair after the lock, racing: the plain file is gone already.
            PRIVATE.close(held, system)
        except BaseException:
            if source is None:
                PRIVATE.close(held, system)
            raise
        if self._held:
            # The last tidy left a file that was held, maybe by this compressor: look again.
            self._held = False
            with contextlib.suppress(OSError):
                current = self.scan()
                self._held = tidy(
                    current,
                    self.retention(),
                    self.trash,
                    None,
                    None,
                    self._clock(),
                    system,
                    None,
                    self.book_for(current),
                )
        return True

    def after_fork(self) -> None:
        self.trash.after_fork()
