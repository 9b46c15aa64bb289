"""Checks for long-lived runs that the record verifier (lockrotate.bench.verify) does not make.

- which names a log's folder may hold (the naming scheme, written out here from the README
  rather than taken from lockrotate, so that a name lockrotate invents cannot pass);
- that a compressed file decompresses in one pass to whole records;
- that no record sits in a file named for another period (misfiling);
- a monitor that lists the folder throughout a run, checks every listing, and keeps a hard
  link to every file it sees, so that records in files retention later deletes can still be
  counted: every record must be in exactly one of the files ever written.
"""

from __future__ import annotations

import calendar
import contextlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from lockrotate.bench.verify import Report, read_bytes, verify

# The labels of ``when='S'`` (local time, as the stdlib's suffix ``%Y-%m-%d_%H-%M-%S``).
SECOND_LABEL = r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}"
SECOND_FORMAT = "%Y-%m-%d_%H-%M-%S"
GZIP_MAGIC = b"\x1f\x8b"


def scheme(base_name: str, label: str | None = None, extension: str = ".gz") -> re.Pattern[str]:
    """Every name this log's folder may hold: the base file; its rotated files
    (``base.N`` for size rotation, ``base.<label>[.N]`` for time rotation), each plain or with
    one compression *extension*; the hidden lock and period files; hidden scratch files
    ``.<base>.<8 hex>.<pid>.<12 hex>.z``."""
    b = re.escape(base_name)
    ext = re.escape(extension)
    rotated = rf"{b}\.[1-9]\d*" if label is None else rf"{b}\.{label}(?:\.[1-9]\d*)?"
    hidden = rf"\.{b}\.(?:lock|period|[0-9a-f]{{8}}\.\d+\.[0-9a-f]{{12}}\.z)"
    return re.compile(rf"{b}|(?:{rotated})(?:{ext})?|{hidden}", re.ASCII)


def log_pattern(
    base_name: str, label: str | None = None, extension: str = ".gz"
) -> re.Pattern[str]:
    """The base file and its rotated files, plain or compressed: the files that hold records."""
    b = re.escape(base_name)
    rotated = rf"{b}\.[1-9]\d*" if label is None else rf"{b}\.{label}(?:\.[1-9]\d*)?"
    return re.compile(rf"{b}|(?:{rotated})(?:{re.escape(extension)})?", re.ASCII)


def rotated_pattern(base_name: str, label: str | None = None) -> re.Pattern[str]:
    """Rotated files only, with the stem (the name without compression suffix) as group 1."""
    b = re.escape(base_name)
    stem = rf"{b}\.[1-9]\d*" if label is None else rf"{b}\.{label}(?:\.[1-9]\d*)?"
    return re.compile(rf"({stem})(\.gz)?", re.ASCII)


def outside(names: Iterable[str], allowed: re.Pattern[str]) -> list[str]:
    return sorted(name for name in names if allowed.fullmatch(name) is None)


def compressed_once(paths: Iterable[str], expected: Mapping[str, int]) -> list[str]:
    """What is wrong with *paths* (``.gz`` files): each must decompress in one pass to whole
    records, not to more gzip data; the records are checked against *expected*."""
    problems = []
    for path in paths:
        try:
            data = read_bytes(path)
        except Exception as exc:
            problems.append(f"{path}: does not decompress: {exc!r}")
            continue
        if data.startswith(GZIP_MAGIC):
            problems.append(f"{path}: decompresses to gzip data (compressed twice)")
            continue
        report = verify([path], expected)
        if report.torn or report.unexpected or report.duplicated:
            problems.append(f"{path}: not whole records: {report.examples[:3]}")
    return problems


def misfiled(
    files: Mapping[str, Iterable[tuple[str, int]]],
    created: Mapping[tuple[str, int], float],
    base_name: str,
    on_the_way: float,
    utc: bool = False,
) -> list[str]:
    """Records that sit in a file named for another period (``when='S'``, local time or
    *utc*).

    *files* maps each file's path to the ``(writer, seq)`` records in it; *created* gives
    each record's creation time (taken just before ``logger.info``). A record created at *t*
    must be in the file of the period containing *t*. The one tolerance: a record created
    less than *on_the_way* seconds before a boundary may land after it (its writer decided
    where it goes a moment after creating it). A record is never allowed in a file whose
    period ended before it was created. The base file holds the periods after every
    rotated file's.
    """
    rotated = re.compile(rf"{re.escape(base_name)}\.({SECOND_LABEL})(?:\.[1-9]\d*)?(?:\.gz)?")
    starts: dict[str, float] = {}
    for path in files:
        m = rotated.fullmatch(os.path.basename(path))
        if m:
            label = time.strptime(m[1], SECOND_FORMAT)
            starts[path] = calendar.timegm(label) if utc else time.mktime(label)
    newest_end = max(starts.values(), default=float("-inf")) + 1.0
    wrong = []
    for path, records in files.items():
        name = os.path.basename(path)
        if name == base_name:
            low, high = newest_end, float("inf")
        elif path in starts:
            low, high = starts[path], starts[path] + 1.0
        else:
            wrong.append(f"{name}: not a name of the scheme")
            continue
        for record in records:
            t = created[record]
            if not low - on_the_way <= t < high:
                wrong.append(f"{record} created at {t:.3f} is in {name} [{low:.0f}, {high:.0f})")
    return wrong


def records_in(path: str) -> list[tuple[str, int]]:
    """``(writer, seq)`` of every line of *path* that looks like a record (the verifier
    judges wholeness; this only says where each record is)."""
    found = []
    for line in read_bytes(path).splitlines():
        parts = line.split(b" ", 2)
        if len(parts) == 3 and parts[1].isdigit():
            found.append((parts[0].decode("ascii", "replace"), int(parts[1])))
    return found


@dataclass
class Snapshot:
    """One listing of the folder, as the monitor took it."""

    at: float
    names: list[str]
    mtimes: dict[str, float]


@dataclass
class Monitor:
    """Lists *folder* every *period* seconds in a thread until stopped.

    Each listing goes to *check*, which returns what is wrong with it (kept, with the
    listing). Every regular file whose name matches *keep* is hard-linked into *archive*
    once per inode, so its content outlives retention: ``ino-<inode>`` for plain files,
    ``ino-<inode>.gz`` for compressed ones.
    """

    folder: str
    archive: str
    keep: re.Pattern[str]
    check: Callable[[Snapshot], list[str]]
    period: float = 0.05
    listings: int = 0
    problems: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    inodes: dict[int, str] = field(default_factory=dict)
    _reported: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Monitor:
        os.makedirs(self.archive, exist_ok=True)
        self.look()  # the state the run starts from, before anything can move
        self._thread = threading.Thread(target=self._run, name="folder-monitor", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.look()  # the final state too

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self.look()

    def look(self) -> None:
        names = os.listdir(self.folder)
        now = time.time()
        mtimes: dict[str, float] = {}
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                mtimes[name] = os.lstat(os.path.join(self.folder, name)).st_mtime
        self.listings += 1
        self.seen.update(names)
        for problem in self.check(Snapshot(now, sorted(names), mtimes)):
            # Each distinct problem once, with the time it was first seen.
            if problem not in self._reported and len(self.problems) < 50:
                self._reported.add(problem)
                self.problems.append(f"{time.strftime('%H:%M:%S', time.localtime(now))}: {problem}")
        for name in names:
            if self.keep.fullmatch(name):
                self._archive(name)

    def _archive(self, name: str) -> None:
        path = os.path.join(self.folder, name)
        with contextlib.suppress(FileNotFoundError):
            ino = os.lstat(path).st_ino
            if ino in self.inodes:
                return
            suffix = ".gz" if name.endswith(".gz") else ""
            temp = os.path.join(self.archive, f"new{suffix}")
            os.link(path, temp, follow_symlinks=False)
            # The name may have moved to another file between lstat and link: key by what
            # was actually linked.
            linked = os.lstat(temp).st_ino
            if linked in self.inodes:
                os.unlink(temp)
                return
            final = os.path.join(self.archive, f"ino-{linked}{suffix}")
            os.rename(temp, final)
            self.inodes[linked] = final

    def plain_files(self) -> list[str]:
        return sorted(p for p in self.inodes.values() if not p.endswith(".gz"))

    def compressed_files(self) -> list[str]:
        return sorted(p for p in self.inodes.values() if p.endswith(".gz"))


def every_record_once(monitor: Monitor, expected: Mapping[str, int]) -> tuple[Report, list[str]]:
    """Every record is in exactly one plain file ever written (whole, in order), and every
    compressed file ever seen holds exactly the content of one of those plain files."""
    plain = monitor.plain_files()
    report = verify(plain, expected)
    contents = {read_bytes(path) for path in plain}
    problems = compressed_once(monitor.compressed_files(), expected)
    for path in monitor.compressed_files():
        with contextlib.suppress(Exception):
            if read_bytes(path) not in contents:
                problems.append(f"{path}: its content is no plain file's content")
    return report, problems
