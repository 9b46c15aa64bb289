"""SimSystem: lockrotate's I/O seam (:class:`lockrotate._system.System`) served by the
simulated world.

Every method is a switch point of the scheduler, then a place where an armed fault may fire,
then the operation on :class:`tests.sim.world.World` for the calling virtual process.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from lockrotate._system import System

from .sched import Killed, Process, Scheduler, SimCondition, SimMutex, SimThreadHandle
from .world import World, fail

#: The calls a fault can be injected into, and the errors each can really return.
ERRORS: dict[str, tuple[int, ...]] = {
    "open": (errno.EACCES, errno.EIO, errno.ENOENT, errno.ENOSPC, errno.EMFILE),
    "write": (errno.ENOSPC, errno.EIO, errno.EDQUOT),
    "fstat": (errno.EIO,),
    "stat": (errno.EACCES, errno.EIO, errno.ENOENT),
    "lstat": (errno.EACCES, errno.EIO, errno.ENOENT),
    "rename": (errno.EACCES, errno.EIO, errno.ENOENT, errno.ENOSPC),
    "link": (errno.EACCES, errno.EIO, errno.ENOENT, errno.ENOSPC),
    "unlink": (errno.EACCES, errno.EIO, errno.ENOENT),
    "listdir": (errno.EACCES, errno.EIO, errno.ENOENT),
    "flock": (errno.ENOLCK, errno.EIO),
    "pread": (errno.EIO,),
    "pwrite": (errno.ENOSPC, errno.EIO),
    "read": (errno.EIO,),
    "lseek": (errno.EIO,),
    "fchmod": (errno.EPERM, errno.EIO),
    "futimes": (errno.EPERM, errno.EIO),
}
FAULTABLE = tuple(ERRORS)

UNLOCK_FAULTS = os.environ.get("SIM_UNLOCK_FAULTS") == "1"

#: The calls that put a record in its file: when one fails, the record may be lost (reported).
WRITE_PATH = frozenset({"open", "fstat", "lseek", "write"})


@dataclass
class Fault:
    """Calls named in *ops* fail with *code*: the next *count* of them, or each one with
    *chance* until virtual time *until* (a disk that stays full)."""

    ops: frozenset[str]
    code: int
    count: int = 1
    until: float = 0.0
    chance: float = 1.0
    short: bool = False  # a write first lands in part, then fails

    def fires(self, op: str, now: float, roll: float) -> bool:
        if op not in self.ops:
            return False
        if self.until:
            return now < self.until and roll < self.chance
        return self.count > 0


class SimSystem(System):
    """The seam, for the virtual process whose thread is running."""

    EUID = 1000

    def __init__(self, sched: Scheduler) -> None:
        self.sched = sched
        self.clock_offset = 1_800_000_000.0 - sched.mono  # wall time = monotonic + offset
        self.world = World(self.wall)
        self.world.on_bad_fd = self._bad_fd
        self.procs: dict[int, Process] = {}
        self.faults: list[Fault] = []
        self.injected = 0
        self.fired_at: list[float] = []  # when each injected fault fired
        #: What each fault of an ``open``, ``pread`` or ``pwrite`` hit: (when, path, inode).
        self.fired_on: list[tuple[float, str | None, int | None]] = []
        #: Told about every write that reached a file: (pid, inode number, bytes).
        self.on_write: list[Callable[[int, int, bytes], None]] = []
        self._next_pid = 5_000_000  # above any real pid_max: os.kill finds none
        self.outside = self.new_process(None)  # the test itself, for set-up

    def __deepcopy__(self, memo: dict[int, Any]) -> SimSystem:
        return self  # one world for every process

    # The simulation's own controls ------------------------------------------------------
    def new_process(self, parent: Process | None) -> Process:
        self._next_pid += 1
        proc = Process(self._next_pid, None if parent is None else parent.pid)
        self.procs[proc.pid] = proc
        if parent is None:
            self.world.spawn(proc.pid)
        else:
            self.world.fork(parent.pid, proc.pid)
            proc.asked_pid = False
        return proc

    def kill(self, proc: Process) -> None:
        """SIGKILL: the kernel closes every descriptor (its locks go); threads unwind."""
        proc.dead = True
        proc.stopped_until = 0.0
        self.world.exit(proc.pid)

    def _bad_fd(self, pid: int, fd: int) -> None:
        thread = self.sched.current
        if thread is not None:
            thread.fired.append(f"EBADF on fd {fd} (not injected)")

    def wall(self) -> float:
        """The wall clock, read without a switch point (the world's file times)."""
        return self.sched.mono + self.clock_offset

    @property
    def pid(self) -> int:
        thread = self.sched.current
        return self.outside.pid if thread is None else thread.proc.pid

    def _enter(self, op: str, path: str | None = None, fd: int | None = None) -> None:
        """The switch point, then the fault, if one is armed for *op* (on *path* or *fd*)."""
        sched = self.sched
        sched.point()
        if sched.current is None or not self.faults:
            return
        now = sched.mono
        for fault in self.faults:
            if fault.fires(op, now, sched.rng.random()):
                fault.count -= 1
                self.injected += 1
                self.fired_at.append(now)
                thread = sched.current
                if path is not None or fd is not None:
                    desc = None if fd is None else self.world.fds.get(thread.proc.pid, {}).get(fd)
                    self.fired_on.append((now, path, None if desc is None else desc.inode.ino))
                thread.fired.append(f"{op} {errno.errorcode[fault.code]}")
                if op in WRITE_PATH:
                    thread.write_faults += 1
                if fault.short and op == "write":
                    fault.short = False  # the write that fills the disk; the rest fail
                    raise _Short(fault.code)
                raise fail(fault.code)

    # Files ------------------------------------------------------------------------------
    def open(self, path: str, flags: int, mode: int = 0o666) -> int:
        self._enter("open", path=path)
        return self.world.open(self.pid, path, flags, mode)

    def close(self, fd: int) -> None:
        self._enter("close")
        self.world.close(self.pid, fd)

    def write(self, fd: int, data: bytes) -> int:
        try:
            self._enter("write")
        except _Short as short:
            if len(data) < 2:
                raise fail(short.code) from None
            data = bytes(data[: len(data) // 2])
        pid = self.pid
        desc = self.world._desc(pid, fd)
        written = self.world.write(pid, fd, bytes(data))
        for observer in self.on_write:
            observer(pid, desc.inode.ino, bytes(data))
        return written

    def read(self, fd: int, n: int) -> bytes:
        self._enter("read")
        return self.world.read(self.pid, fd, n)

    def pread(self, fd: int, n: int, offset: int) -> bytes:
        self._enter("pread", fd=fd)
        return self.world.pread(self.pid, fd, n, offset)

    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        self._enter("pwrite", fd=fd)
        return self.world.pwrite(self.pid, fd, bytes(data), offset)

    def lseek(self, fd: int, pos: int, how: int) -> int:
        self._enter("lseek")
        return self.world.lseek(self.pid, fd, pos, how)

    def fstat(self, fd: int) -> os.stat_result:
        self._enter("fstat")
        return self.world.fstat(self.pid, fd)

    def stat(self, path: str) -> os.stat_result:
        self._enter("stat")
        return self.world.stat(path)

    def lstat(self, path: str) -> os.stat_result:
        self._enter("lstat")
        return self.world.lstat(path)

    def fchmod(self, fd: int, mode: int) -> None:
        self._enter("fchmod")
        self.world.fchmod(self.pid, fd, mode)

    def fchown(self, fd: int, uid: int, gid: int) -> None:
        self._enter("fchown")
        self.world.fchown(self.pid, fd, uid, gid)

    def fsync(self, fd: int) -> None:
        self._enter("fsync")
        self.world._desc(self.pid, fd)

    def futimes(self, fd: int, ns: tuple[int, int]) -> None:
        self._enter("futimes")
        self.world.futime(self.pid, fd, ns)

    # Names ------------------------------------------------------------------------------
    def rename(self, src: str, dst: str) -> None:
        self._enter("rename")
        self.world.rename(src, dst)

    def link(self, src: str, dst: str) -> None:
        self._enter("link")
        self.world.link(src, dst)

    def unlink(self, path: str) -> None:
        self._enter("unlink")
        self.world.unlink(path)

    def listdir(self, path: str) -> list[str]:
        self._enter("listdir")
        return self.world.listdir(path)

    def scandir(self, path: str) -> Iterator[os.DirEntry[str]]:
        self._enter("listdir")
        world = self.world
        entries = [_Entry(world, os.path.join(path, name), name) for name in world.listdir(path)]
        return _Scandir(entries)  # type: ignore[return-value]

    # Locks ------------------------------------------------------------------------------
    def flock(self, fd: int, operation: int) -> None:
        # An unlock does not fail on a local filesystem; it may with SIM_UNLOCK_FAULTS=1 (it
        # killed the lock waiter thread: finding 7, docs/simulation.md, fixed).
        unlock = operation & ~fcntl.LOCK_NB == fcntl.LOCK_UN
        self._enter("flock" if not unlock or UNLOCK_FAULTS else "")
        world, pid = self.world, self.pid
        while not world.flock(pid, fd, operation):
            if operation & fcntl.LOCK_NB:
                raise BlockingIOError(errno.EWOULDBLOCK, os.strerror(errno.EWOULDBLOCK))
            self.sched.block(lambda: world.lock_free(pid, fd, operation), None)

    # Clocks ------------------------------------------------------------------------------
    def time(self) -> float:
        self.sched.point()
        return self.sched.mono + self.clock_offset

    def monotonic(self) -> float:
        self.sched.point()
        return self.sched.mono

    def sleep(self, seconds: float) -> None:
        sched = self.sched
        sched.point()
        if sched.current is not None:
            sched.block(lambda: False, sched.mono + max(0.0, seconds))

    # Processes and threads ---------------------------------------------------------------
    def getpid(self) -> int:
        self.sched.point()
        thread = self.sched.current
        if thread is not None:
            thread.proc.asked_pid = True
        return self.pid

    def geteuid(self) -> int:
        return self.EUID

    def thread_id(self) -> int:
        thread = self.sched.current
        return 0 if thread is None else thread.tid

    def mutex(self) -> SimMutex:
        return SimMutex(self.sched)

    def condition(self) -> SimCondition:
        return SimCondition(self.sched)

    def start_thread(self, target: Callable[[], None], name: str) -> SimThreadHandle:
        thread = self.sched.current
        if thread is None:
            raise AssertionError(f"thread {name} started outside the simulation")
        if thread.proc.dead:
            raise Killed
        return SimThreadHandle(self.sched.spawn(thread.proc, target, name))

    def alive(self, pid: int) -> bool:
        proc = self.procs.get(pid)
        return proc is not None and not proc.dead


class _Short(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class _Entry:
    """``os.DirEntry``'s shape over the simulated folder."""

    def __init__(self, world: World, path: str, name: str) -> None:
        self._world = world
        self.path = path
        self.name = name

    def inode(self) -> int:
        return self._world.lstat(self.path).st_ino

    def stat(self, *, follow_symlinks: bool = True) -> os.stat_result:
        world = self._world
        return world.stat(self.path) if follow_symlinks else world.lstat(self.path)

    def _mode(self, follow: bool) -> int:
        try:
            return self.stat(follow_symlinks=follow).st_mode
        except OSError:
            return 0

    def is_file(self, *, follow_symlinks: bool = True) -> bool:
        return stat.S_ISREG(self._mode(follow_symlinks))

    def is_dir(self, *, follow_symlinks: bool = True) -> bool:
        return stat.S_ISDIR(self._mode(follow_symlinks))

    def is_symlink(self) -> bool:
        return stat.S_ISLNK(self._mode(False))


class _Scandir:
    def __init__(self, entries: list[_Entry]) -> None:
        self._it = iter(entries)

    def __iter__(self) -> _Scandir:
        return self

    def __next__(self) -> _Entry:
        return next(self._it)

    def __enter__(self) -> _Scandir:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def close(self) -> None:
        pass
