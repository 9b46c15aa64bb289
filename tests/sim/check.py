"""The README's guarantees as code, checked on the simulated world.

After every step (from the world's events, as they happen): no name outside the scheme; no
file overwritten or truncated; a file leaves the log only through retention (and then only an
old one) or once its compressed copy holds exactly its bytes; no lock held by a dead process
(in a process that has since reset its fork state); no ``emit`` blocked longer than
``lock_timeout``; no record asked of ``shouldRollover`` twice.

At the end, from every inode ever written (the world keeps them all): every record whose
``emit`` returned without a report is in exactly one file, whole, in order per writer, and not
written into a file already gone from the log; each compressed file decompresses, once, to
exactly the bytes of a plain file; timed logs: each record in the file of a period its ``emit``
overlapped, or an older one by the outage rule; no handler reporting more than once per outage.

The naming scheme here is written from the README, not taken from lockrotate, so that a name
lockrotate invents cannot pass.
"""

from __future__ import annotations

import bisect
import calendar
import gzip
import hashlib
import itertools
import math
import re
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .world import Stat

if TYPE_CHECKING:
    from .run import Config, Emit, Family
    from .sched import VThread
    from .system import SimSystem

LABEL = r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}"
LABEL_FORMAT = "%Y-%m-%d_%H-%M-%S"
RECORD = re.compile(rb"w(\d+)\.(\d+) [0-9.]+ [a-z]*")
RECORD_START = re.compile(rb"w(\d+)\.(\d+)")
GZIP_MAGIC = b"\x1f\x8b"
HANDOFF = 0.002  # the lock waiter's one grace beyond the deadline (lockrotate._locks)
#: How long before a report its cause may be (the longest chain: a compression retried
#: five times with growing pauses).
CAUSE_WINDOW = 20.0
#: Chaos that can cause an outage (forks, threads, new handlers and closes cannot).
TROUBLE = frozenset({"kill", "stop", "clock", "fault"})
SLACK = 0.01  # virtual time a thread whose wait is over may wait more to be scheduled


def _second(wall: float) -> int:
    """The period of a wall time: the timed handlers roll every second (``when="S"``), and
    every zone's offset is whole seconds."""
    return math.floor(wall)


class Violation(Exception):
    """A guarantee of the README does not hold."""


class Checker:
    def __init__(self, sim: SimSystem, folder: str, base: str, family: Family) -> None:
        self.sim = sim
        self.folder = folder
        self.base = base
        self.family = family
        self.keep = min(config.backup for config in family.configs)
        b = re.escape(base)
        ext = r"(?:\.gz)?"
        rotated = [rf"{b}\.[1-9]\d*(?:\.n)?{ext}", rf"{b}\.{LABEL}(?:\.[1-9]\d*)?{ext}"]
        self.rotated = re.compile("|".join(rotated), re.ASCII)
        self.timed = re.compile(rf"{b}\.({LABEL})(?:\.[1-9]\d*)?(?:\.gz)?", re.ASCII)
        self.numbered = re.compile(rf"{b}\.[1-9]\d*(?:\.n)?{ext}", re.ASCII)
        #: The name each file of the log had when it left it.
        self.left_as: dict[int, str] = {}
        hidden = rf"\.{b}\.(?:lock|period|[0-9a-f]{{8}}\.\d+\.[0-9a-f]{{12}}\.z)"
        self.scratch = re.compile(rf"\.{b}\.[0-9a-f]{{8}}\.\d+\.[0-9a-f]{{12}}\.z", re.ASCII)
        self.scheme = re.compile(rf"{b}|{'|'.join(rotated)}|{hidden}", re.ASCII)
        self.problems: list[str] = []
        #: The run's records, by key (set by the run).
        self.emits: Mapping[tuple[int, int], Emit] = {}
        self.back = False  # whether the run steps the clock back (then periods are not checked)
        self.rollovers = 0
        self.named: dict[int, set[str]] = defaultdict(set)  # inode -> its log names
        self.order: dict[int, int] = {}  # inode -> when it left the base name (rotation #)
        self.record_inodes: set[int] = set()
        #: Writes of records into a file no longer in the log: (start, end, when).
        self.late: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
        self.asked_keys: set[tuple[int, int]] = set()
        self.reports: dict[int, list[float]] = defaultdict(list)
        self.born: dict[int, tuple[float, int, str]] = {}
        self.causes: list[float] = []
        self.trouble: list[float] = []  # when something happened that may cause an outage
        self.rotated_at: dict[int, float] = {}  # inode -> when it left the base name
        self.created_at: dict[int, float] = {}  # inode -> when it was made as the base file
        self.verified: set[bytes] = set()  # digests of compressed copies checked as plain left
        #: Records astray in ways the guarantees' limits allow (not findings), by way.
        self.limits: dict[str, int] = defaultdict(int)
        #: How long after its file's rotation a writer may still append to it: until its
        #: next check of the base path, and one wait for the lock.
        self.lag = family.check_interval + family.lock_timeout
        self.forks: dict[int, int] = {}
        #: What happened to each inode's names, for the message of a violation.
        self.history: dict[int, list[str]] = defaultdict(list)
        sim.world.observers.append(self.on_name)
        sim.on_write.append(self.on_write)

    def fail(self, message: str) -> None:
        self.problems.append(message)

    # Events, as they happen ----------------------------------------------------------------
    def _name(self, path: str) -> str | None:
        folder, _, name = path.rpartition("/")
        return name if folder == self.folder else None

    def is_log(self, name: str) -> bool:
        return name == self.base or self.rotated.fullmatch(name) is not None

    def on_name(self, event: Stat) -> None:
        thread = self.sim.sched.current
        who = "" if thread is None else f" by {thread.proc.pid}/{thread.name}"
        self.history[event.ino].append(
            f"{self.sim.sched.mono:.4f} {event.op} {event.path} {event.dest}{who}"
        )
        name = self._name(event.path)
        dest = self._name(event.dest) if event.dest else None
        if event.op == "create" and name is not None:
            if name == self.base:
                self.created_at[event.ino] = self.sim.sched.mono
            self._in_scheme(name)
            if self.is_log(name):
                self.named[event.ino].add(name)
        elif event.op == "truncate" and name is not None and self.is_log(name):
            self.fail(f"{name} opened with O_TRUNC: its records are gone")
        elif event.op == "link" and dest is not None:
            self._in_scheme(dest)
            if self.is_log(dest):
                self.named[event.ino].add(dest)
        elif event.op == "rename" and name is not None and dest is not None:
            self._renamed(name, dest, event)
        elif event.op == "unlink" and name is not None and self.is_log(name):
            self._leaves(name, event.ino)

    def _in_scheme(self, name: str) -> None:
        if self.scheme.fullmatch(name) is None:
            self.fail(f"the name {name!r} is outside the scheme")

    def _renamed(self, name: str, dest: str, event: Stat) -> None:
        self._in_scheme(dest)
        if event.replaced is not None:
            self.fail(f"rename {name} -> {dest} replaced an existing file (inode {event.replaced})")
        ino = event.ino
        if self.is_log(name):
            self.named[ino].discard(name)
            if not self.is_log(dest):
                self.named[ino].add(name)  # as it was when it left, for the judgement
                self._leaves(name, ino)
                self.named[ino].discard(name)
                return
        if self.is_log(dest):
            self.named[ino].add(dest)
            if name == self.base:
                self.rollovers += 1
                self.order[ino] = self.rollovers
                self.rotated_at[ino] = self.sim.sched.mono
            elif self.scratch.fullmatch(name) and dest.endswith(".gz"):
                plain = self._holder(dest[: -len(".gz")])
                if plain is not None and plain in self.order:
                    self.order[ino] = self.order[plain]

    def _holder(self, name: str) -> int | None:
        for ino, names in self.named.items():
            if name in names:
                return ino
        return None

    def _leaves(self, name: str, ino: int) -> None:
        """A file leaves the log: its compressed copy has its bytes, or retention takes it."""
        self.left_as[ino] = name
        if name == self.base:
            self.fail(f"the base file {name} was removed")
            return
        world = self.sim.world
        data = bytes(world.inodes[ino].data)
        self._periods(name, data, ino)
        if not name.endswith(".gz"):
            packed = self._holder(name + ".gz")
            if packed is not None:
                try:
                    copy = gzip.decompress(bytes(world.inodes[packed].data))
                except (OSError, EOFError, zlib.error) as exc:
                    self.fail(f"{name}.gz does not decompress ({exc!r}) as {name} goes")
                    return
                if copy == data:
                    # Later writes to the plain file (a lagging writer's) are judged as such.
                    self.verified.add(hashlib.sha1(copy).digest())
                else:
                    self.fail(
                        f"{name} removed, but {name}.gz holds other bytes "
                        f"({len(copy)} vs {len(data)})"
                    )
                return
        rank = self.order.get(ino)
        if rank is None:
            return
        newer = {
            self.order[other]
            for other, names in self.named.items()
            if names and other in self.order and self.order[other] > rank
        }
        if len(newer) < self.keep - 1:
            self.fail(
                f"retention removed {name} (rotation #{rank}) while only {len(newer)} newer "
                f"rotated files exist (backupCount {self.keep})"
            )

    def on_write(self, pid: int, ino: int, data: bytes) -> None:
        inode = self.sim.world.inodes[ino]
        if RECORD.search(data) is None:
            return
        self.record_inodes.add(ino)
        if not self.named.get(ino):
            end = len(inode.data)
            self.late[ino].append((end - len(data), end, self.sim.sched.mono))

    def built(self, handler: object, config: Config, pid: int, now: float) -> None:
        self.born[id(handler)] = (now, pid, str(config))
        self.causes.append(now)

    def forked(self, parent: int, child: int) -> None:
        self.forks[child] = parent

    def chaos(self, now: float, kind: str, what: str) -> None:
        self.causes.append(now)
        if kind in TROUBLE:
            self.trouble.append(now)

    def reported(self, handler: object, now: float, thread: VThread | None, what: str) -> None:
        """An outage needs a cause: a fault, a stopped or killed process, a clock step, or
        (with several configurations) another configuration on the same file."""
        self.reports[id(handler)].append(now)
        since = now - CAUSE_WINDOW
        causes = [*self.trouble, *self.sim.fired_at]
        if len(self.family.configs) > 1:
            causes += self.causes
        if not any(since <= t <= now for t in causes):
            where = "" if thread is None else f" in {thread.proc.pid}/{thread.name}"
            self.fail(
                f"a report{where} with nothing in the last {CAUSE_WINDOW:g} s to cause it: {what}"
            )

    def asked(self, key: tuple[int, int]) -> None:
        if key in self.asked_keys:
            self.fail(f"shouldRollover asked twice for the record w{key[0]}.{key[1]}")
        self.asked_keys.add(key)

    def emitted(self, emit: Emit, waited: float) -> None:
        limit = self.family.lock_timeout + HANDOFF + SLACK
        if waited > limit:
            self.fail(
                f"emit of w{emit.writer}.{emit.seq} waited {waited:.3f}s of virtual time "
                f"(lock_timeout {self.family.lock_timeout})"
            )

    # After every step --------------------------------------------------------------------
    def after_step(self, turn: int) -> None:
        sim = self.sim
        # The rollover lock, not the flocks on log files: a writer holds its file shared, and
        # a child that keeps writing to it holds it rightly; a child forked from C keeps the
        # retirer's private descriptor (lockrotate does not cover that fork: _files.Private).
        lock_name = f".{self.base}.lock"
        for inode in sim.world.locked:
            holders = [inode.exclusive] if inode.exclusive is not None else list(inode.shared)
            for desc in holders:
                locker = sim.procs.get(desc.locker or 0)
                if locker is None or not locker.dead:
                    continue
                if inode is not sim.world.names(self.folder).get(lock_name):
                    continue
                kept = [
                    pid
                    for pid in sim.world.referencing(desc)
                    if sim.procs[pid].asked_pid and not sim.procs[pid].dead
                ]
                if kept:
                    self.fail(
                        f"the lock taken by the dead process {locker.pid} is still held "
                        f"through process {kept[0]}, which has reset its fork state"
                    )
        if self.problems:
            raise Violation("; ".join(self.problems[:3]))

    # After the settling rollovers (Run.settle) -------------------------------------------
    def _rotated(self, dated: bool) -> dict[str, bool]:
        """This kind's rotated files, a compressed one and its plain copy counted once: each
        with whether a live descriptor holds it with a ``flock`` (a writer, a compressor)."""
        entries: dict[str, bool] = {}
        for name, inode in self.sim.world.names(self.folder).items():
            if not self.rotated.fullmatch(name) or bool(self.timed.fullmatch(name)) != dated:
                continue
            key = name.removesuffix(".gz")
            held = inode.exclusive is not None or bool(inode.shared)
            entries[key] = entries.get(key, False) or held
        return entries

    def held(self) -> set[str]:
        """The dated files held at this moment (retention skips them: docs/frozen-writers.md)."""
        return {key for key, held in self._rotated(dated=True).items() if held}

    def settled(self, config: Config, held_before: set[str]) -> None:
        """Retention keeps what docs/guarantees.md says, once a rollover settles in a quiet
        world: at most ``backupCount`` numbered files (the chain drops its oldest even if
        held), at most ``backupCount`` dated files plus those a descriptor held before or
        after the rollover. ``backupCount=0`` keeps every file."""
        if config.backup == 0:
            return
        dated = config.kind != "size"
        entries = self._rotated(dated)
        held = {key for key, h in entries.items() if h} | (held_before if dated else set())
        allowed = config.backup + (len(held & entries.keys()) if dated else 0)
        if len(entries) > allowed:
            kind = "dated" if dated else "numbered"
            self.fail(
                f"retention kept {len(entries)} {kind} files after a settled rollover with "
                f"backupCount={config.backup} ({config}), {len(held)} of them held: "
                f"{sorted(entries)}"
            )

    # At the end ----------------------------------------------------------------------------
    def at_end(self, emits: Mapping[tuple[int, int], Emit]) -> None:
        world = self.sim.world
        where: dict[tuple[int, int], list[int]] = defaultdict(list)
        by_content: dict[bytes, int] = {}
        for ino in sorted(self.record_inodes):
            data = bytes(world.inodes[ino].data)
            by_content.setdefault(data, ino)
            late = sorted(self.late.get(ino, ()))
            starts = [start for start, _, _ in late]
            last: dict[int, int] = {}
            records = list(self._records(data, emits))
            self._size_bound(ino, data, records, emits)
            for here, key in records:
                where[key].append(ino)
                if last.get(key[0], 0) >= key[1]:
                    self.fail(f"w{key[0]}.{key[1]} after w{key[0]}.{last[key[0]]} in inode {ino}")
                last[key[0]] = key[1]
                i = bisect.bisect_right(starts, here) - 1
                if i >= 0 and late[i][0] <= here < late[i][1]:
                    self._late(key, emits, ino, late[i][2])
        for key, emit in emits.items():
            found = where.get(key, [])
            if len(found) > 1:
                self.fail(f"w{key[0]}.{key[1]} written {len(found)} times (inodes {found})")
            elif not found and emit.returned and not emit.excused:
                self.fail(
                    f"w{key[0]}.{key[1]} lost, though none of its writes failed "
                    f"(faults in its emit: {list(emit.fired)}, reported: {emit.reported})"
                )
        self._files(by_content)
        self._outages()
        if self.problems:
            raise Violation("; ".join(self.problems[:3]))

    def _size_bound(
        self,
        ino: int,
        data: bytes,
        records: list[tuple[int, tuple[int, int]]],
        emits: Mapping[tuple[int, int], Emit],
    ) -> None:
        """A rotated size-based file passes ``maxBytes`` only by the records already on their
        way when it crossed the limit: after the record that crossed it, at most one more per
        handler (docs/guarantees.md). Not counted: records whose emit had a fault, a report,
        a stop (SIGSTOP), a kill, or a handler waiting for the next try of a failed rollover
        (the outage rule: records go on to the file it has). Checked where every handler
        rolls by size alone (no ``shouldRollover`` of a user's, no time)."""
        configs = self.family.configs
        if any(c.kind != "size" or c.hook or not c.max_bytes for c in configs):
            return
        if self.sim.world.names(self.folder).get(self.base) is self.sim.world.inodes[ino]:
            return  # the base file, not rotated
        limit = max(c.max_bytes for c in configs)
        after: Counter[int] = Counter()
        crossed = False
        for here, key in records:
            if crossed:
                emit = emits.get(key)
                if emit is None or not emit.returned or emit.fired or emit.reported:
                    continue
                if emit.stopped or emit.backoff:
                    continue
                after[emit.handler] += 1
                if after[emit.handler] > 1:
                    self.fail(
                        f"inode {ino} passed maxBytes={limit} at its record before offset "
                        f"{here}, and w{key[0]}.{key[1]} is its handler's second record after "
                        f"that ({len(data)} bytes in all)"
                    )
                    return
            elif data.index(b"\n", here) + 1 > limit:
                crossed = True

    def _records(
        self, data: bytes, emits: Mapping[tuple[int, int], Emit]
    ) -> Iterator[tuple[int, tuple[int, int]]]:
        """(offset, key) of each whole record in *data*. A piece of a record whose write
        failed half-way may precede another writer's record on its line (that writer could
        not know); the piece must be of a record whose write failed."""
        offset = 0
        lines = data.split(b"\n")
        for number, line in enumerate(lines):
            ended = number < len(lines) - 1  # a newline follows
            starts = [m.start() for m in RECORD_START.finditer(line)] + [len(line)]
            if starts[0] != 0 and line:
                self.fail(f"a line starts with bytes of no record: {line[:40]!r}")
            for begin, end in itertools.pairwise(starts):
                piece = line[begin:end]
                m = RECORD.fullmatch(piece)
                if m is not None and end == len(line) and ended:
                    yield offset + begin, (int(m[1]), int(m[2]))
                    continue
                loose = RECORD_START.match(piece)
                assert loose is not None
                emit = emits.get((int(loose[1]), int(loose[2])))
                if emit is None or not emit.excused:
                    self.fail(f"a torn record {piece[:40]!r}, though none of its writes failed")
            offset += len(line) + 1

    def _late(
        self, key: tuple[int, int], emits: Mapping[tuple[int, int], Emit], ino: int, when: float
    ) -> None:
        emit = emits.get(key)
        if emit is None or emit.excused:
            return
        # Only a numbered chain drops a file a writer holds (docs/frozen-writers.md): a dated
        # file is kept while held, so a late write into one is a violation (finding 2).
        numbered = self.numbered.fullmatch(self.left_as.get(ino, "")) is not None
        if numbered and emit.stopped:
            # A limit: a writer stopped (SIGSTOP) between choosing its file and writing, for
            # longer than it takes the others to rotate that file out of the chain.
            self.limits["writer stopped mid-emit while a numbered chain dropped its file"] += 1
            return
        stale = when - self.rotated_at.get(ino, float("-inf"))
        if numbered and stale <= self.lag and not emit.backoff:
            # A limit (docs/guarantees.md): a writer with no failure of its own (after one,
            # it looks for every record) notices a rotation by another process
            # at its next check, or at its next record its own trigger finds due; a trigger
            # that does not see the rotated file as due (mixed configurations: a subclass's
            # own shouldRollover, another maxBytes) waits for the check. When the numbered
            # chain drops the file before that (backupCount rollovers within
            # check_interval), the records written to it go with it.
            self.limits["written within check_interval of its file's rotation"] += 1
            return
        history = "; ".join(self.history[ino][-4:])
        self.fail(
            f"w{key[0]}.{key[1]} written into inode {ino} after it had left the log "
            f"(emit {emit.wall[0]:.4f}..{emit.wall[1]:.4f}; inode: {history})"
        )

    def _files(self, by_content: dict[bytes, int]) -> None:
        world = self.sim.world
        names = world.names(self.folder)
        for name in names:
            self._in_scheme(name)
        for name, inode in names.items():
            data = bytes(inode.data)
            if name.endswith(".gz"):
                try:
                    data = gzip.decompress(data)
                except (OSError, EOFError, zlib.error) as exc:
                    self.fail(f"{name} does not decompress: {exc!r}")
                    continue
                if data.startswith(GZIP_MAGIC):
                    self.fail(f"{name} decompresses to gzip data (compressed twice)")
                elif data not in by_content and hashlib.sha1(data).digest() not in self.verified:
                    self.fail(f"{name} decompresses to bytes no plain file of the log held")
            self._periods(name, data, inode.ino)

    def _periods(self, name: str, data: bytes, ino: int) -> None:
        """Every record of the dated file *name* (plain *data*, inode *ino*) in its period."""
        m = self.timed.fullmatch(name)
        zones = {config.utc for config in self.family.configs if config.kind != "size"}
        if m is None or len(zones) != 1 or self.back or data.startswith(GZIP_MAGIC):
            return
        label = time.strptime(m[1], LABEL_FORMAT)
        start = calendar.timegm(label) if True in zones else time.mktime(label)
        if self._undated(ino):
            return
        for key in self._keys(data):
            self._in_period(key, self.emits.get(key), name, start)

    def _undated(self, ino: int) -> bool:
        """Whether the period file could not be read or written while *ino* was the base
        file: the processes then date it each by its last write or their own view, so its
        period is as precise as that (docs/guarantees.md: a period file that cannot be used
        is reported, and costs the precision of the dating)."""
        born = self.created_at.get(ino, float("-inf"))
        left = self.rotated_at.get(ino, float("inf"))
        path = f"{self.folder}/.{self.base}.period"
        ledger = self.sim.world.names(self.folder).get(f".{self.base}.period")
        return any(
            born <= when <= left and (at == path or (ledger is not None and target == ledger.ino))
            for when, at, target in self.sim.fired_on
        )

    def _in_period(self, key: tuple[int, int], emit: Emit | None, name: str, start: float) -> None:
        """A record is in the file of a period its emit overlapped (it may be on its way
        at a boundary), unless the outage rule put it in an older one (docs/guarantees.md)."""
        if (
            emit is None
            or not emit.returned
            or self._outage_rule(emit)
            or (emit.wall[0] < start + 1.0 and emit.wall[1] >= start)
        ):
            return
        self.fail(
            f"w{key[0]}.{key[1]} (emit {emit.wall[0]:.3f}..{emit.wall[1]:.3f}) in {name}, "
            f"whose period starts {start:.0f} (faults in its emit: {list(emit.fired)}, "
            f"stopped: {emit.stopped})"
        )

    @staticmethod
    def _outage_rule(emit: Emit) -> bool:
        """While its handler's rollover fails, a record goes to the current file, which may
        belong to an older period: when its handler's try failed in its emit, or when the
        handler waits for the next try of one that failed in the period in which the record
        met the handler (once it had the handler's lock). A failed try is tried again at the
        next boundary at the latest, so a wait that began in an earlier period does not
        count."""
        if emit.failed:
            return True
        return emit.failed_wall is not None and _second(emit.failed_wall) == _second(emit.met)

    def _keys(self, data: bytes) -> list[tuple[int, int]]:
        return [(int(m[1]), int(m[2])) for m in RECORD.finditer(data)]

    def _outages(self) -> None:
        causes = sorted(self.causes)
        for handler, times in self.reports.items():
            born = self.born.get(handler, (0.0, 0, ""))[0]
            episodes = len(causes) - bisect.bisect_left(causes, born)
            if len(times) > episodes + 1:
                self.fail(
                    f"a handler ({self.born.get(handler, (0, 0, '?'))[2]}) reported "
                    f"{len(times)} times for {episodes} outages"
                )

    def summary(self, data: Any = None) -> str:
        return f"{self.rollovers} rollovers"
