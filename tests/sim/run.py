"""One simulated run: lockrotate's real handlers in virtual processes and threads, a seeded
stream of chaos, and the README's guarantees checked as it goes and at the end.

A run is a function of (family, seed, steps, disabled chaos): the scheduler's choices come
from one seeded stream, and the chaos of each scheduler turn from a stream of its own (seeded
by the seed and the turn), so that removing one chaos action leaves the others as they were;
that is what the shrinker relies on.
"""

from __future__ import annotations

import copy
import copyreg
import errno
import itertools
import logging
import random
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from typing import Any, ClassVar

import lockrotate
from lockrotate import _files, _fork

from .check import Checker, Violation
from .sched import Killed, Process, Scheduler, SimMutex, VThread
from .system import ERRORS, FAULTABLE, Fault, SimSystem

FOLDER = "/sim/logs"
BASE = f"{FOLDER}/app.log"

# Records: "w<writer>.<seq> <wall time at emit start> <padding>\n".
PAD = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class Config:
    """One way a process may build its handler for the shared file."""

    kind: str  # "size", "time", "timesize"
    max_bytes: int = 0
    backup: int = 3
    strict: bool = False
    compress: str | None = None
    namer: bool = False
    hook: bool = False
    utc: bool = False

    def __str__(self) -> str:
        parts = [self.kind, f"max={self.max_bytes}", f"keep={self.backup}"]
        parts += [name for name in ("strict", "namer", "hook", "utc") if getattr(self, name)]
        if self.compress:
            parts.append(self.compress)
        return "/".join(parts)


@dataclass(frozen=True)
class Family:
    """A configuration of the simulation: which handlers, how fast virtual time runs."""

    name: str
    configs: tuple[Config, ...]
    tick: float  # mean virtual seconds per scheduler turn
    #: Thousands of turns, as a real lock_timeout is thousands of a rollover's calls: shorter,
    #: and ordinary contention for an unfair lock would time out.
    lock_timeout: float = 0.25
    check_interval: float = 0.2
    chaos: float = 0.004  # chance of a chaos action per scheduler turn
    back_jumps: bool = True
    kinds: frozenset[str] | None = None  # the chaos actions allowed (None: all)
    python_forks: bool | None = None  # forks run Python's at-fork hooks (None: by the seed)
    near_boundary: float = 0.03  # half the runs start at most this long before a boundary


SIZE = Config("size", max_bytes=700, backup=3)
TIME = Config("time", backup=3)
TIMESIZE = Config("timesize", max_bytes=900, backup=4)

FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family("size", (SIZE,), 40e-6),
        Family("namer", (Config("size", max_bytes=700, backup=3, namer=True),), 40e-6),
        Family("time", (TIME,), 2e-3, lock_timeout=5.0),
        Family("timesize", (TIMESIZE,), 1e-3, lock_timeout=2.5),
        Family("strict", (Config("size", max_bytes=700, backup=3, strict=True),), 40e-6),
        Family(
            "compression",
            (Config("size", max_bytes=12_000, backup=4, compress="gzip"),),
            1e-3,
            lock_timeout=2.5,
        ),
        Family(
            "mixed",
            (
                SIZE,
                Config("size", max_bytes=700, backup=3, strict=True),
                Config("size", max_bytes=700, backup=3, compress="gzip"),
                Config("size", max_bytes=700, backup=3, hook=True),
            ),
            4e-4,
            lock_timeout=1.0,
        ),
        Family(
            "mixed-time",
            (TIME, Config("time", backup=3, utc=True), Config("timesize", 900, backup=3)),
            2e-3,
            lock_timeout=5.0,
            back_jumps=False,
        ),
    )
}


class Driver:
    """The run in progress (the handlers' ``handleError`` reports to it)."""

    current: Driver | None = None


class _Reporting:
    """Every simulated handler: ``handleError`` is counted, not printed."""

    def handleError(self, record: logging.LogRecord) -> None:
        run = Driver.current
        assert isinstance(run, Run)
        run.reported(self, record)


class SimSize(_Reporting, lockrotate.RotatingFileHandler):
    pass


class SimTimed(_Reporting, lockrotate.TimedRotatingFileHandler):
    pass


class SimHooked(SimSize):
    """A stateful ``shouldRollover``, as a user writes one: it rolls every 20th call."""

    calls = 0

    def shouldRollover(self, record: logging.LogRecord | None) -> bool:
        if record is None:
            return False
        run = Driver.current
        assert isinstance(run, Run)
        run.asked(record)
        self.calls += 1
        return self.calls % 20 == 0


def next_try(handler: Any) -> float:
    """When *handler*'s failed rollover is next tried, by its pause alone (0: none failed; it
    changes only as a try fails or succeeds): read from its internals, without a call into
    the seam, to tell the outage rule (records go to the current file) from a misfiled or
    lost record."""
    return float(handler._core.backoff.next_try)


def sim_namer(name: str) -> str:
    return name + ".n"


@contextmanager
def _forkable() -> Iterator[None]:
    """``deepcopy`` as ``fork`` copies: real thread locks come out new (they are never held
    across a switch point), closures are copied with what they close over."""
    lock_types = [type(threading.Lock()), type(threading.RLock())]
    saved = {t: copyreg.dispatch_table.get(t) for t in lock_types}
    copyreg.dispatch_table[lock_types[0]] = lambda _: (threading.Lock, ())
    copyreg.dispatch_table[lock_types[1]] = lambda _: (threading.RLock, ())
    dispatch: dict[type, Any] = copy._deepcopy_dispatch  # type: ignore[attr-defined]
    old_function = dispatch.get(types.FunctionType)
    dispatch[types.FunctionType] = _copy_function
    try:
        yield
    finally:
        for t, old in saved.items():
            if old is None:
                copyreg.dispatch_table.pop(t, None)
            else:
                copyreg.dispatch_table[t] = old
        dispatch[types.FunctionType] = old_function


def _copy_function(fn: types.FunctionType, memo: dict[int, Any]) -> types.FunctionType:
    if not fn.__closure__:
        return fn
    cells = tuple(
        types.CellType(copy.deepcopy(cell.cell_contents, memo)) for cell in fn.__closure__
    )
    clone = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, cells)
    clone.__kwdefaults__ = fn.__kwdefaults__
    return clone


class _Privates:
    """lockrotate's ``PRIVATE`` (the descriptors a child must not keep) for each simulated
    process: the real one is one per process, and its mutex, held across the calls that open
    and close a descriptor, must be a simulated one. A child forked with Python's hooks closes
    its copies and starts with a new mutex, as ``Private``'s at-fork hook does; a child forked
    from C keeps the descriptors (lockrotate does not cover that fork) but also gets a new
    mutex: a copy of one held at the fork is not simulated (docs/simulation.md)."""

    def __init__(self, sim: SimSystem) -> None:
        self.sim = sim
        self.real = _files.PRIVATE

    def of(self, proc: Process) -> _files.Private:
        private: _files.Private | None = proc.state.get("private")
        if private is None:
            private = object.__new__(_files.Private)  # no real at-fork hooks registered
            private._fds = {}
            private._mutex = SimMutex(self.sim.sched)  # type: ignore[assignment]
            proc.state["private"] = private
        return private

    def current(self) -> _files.Private:
        thread = self.sim.sched.current
        return self.of(self.sim.outside if thread is None else thread.proc)

    def install(self) -> None:
        """The instance's attributes shadow the class's methods, for this run only."""
        self.real.open = lambda opener, system=self.sim: (  # type: ignore[method-assign]
            self.current().open(opener, system)
        )
        self.real.close = lambda fd, system=self.sim: (  # type: ignore[method-assign]
            self.current().close(fd, system)
        )

    def uninstall(self) -> None:
        vars(self.real).pop("open", None)
        vars(self.real).pop("close", None)

    def forked(self, child: Process, python_hooks: bool) -> list[Any]:
        """The child's new mutex; with Python's hooks, what closes its copies (run by its
        own thread, with its other at-fork hooks)."""
        private = child.state.get("private")
        if private is None:
            return []
        private._mutex = SimMutex(self.sim.sched)  # type: ignore[assignment]
        return [_ClosePrivate(private)] if python_hooks else []


@dataclass
class _ClosePrivate:
    """``Private``'s at-fork hook in a child: close the parent's private descriptors."""

    private: _files.Private

    def check_fork(self) -> None:
        fds, self.private._fds = self.private._fds, {}
        for fd, system in fds.items():
            with suppress(OSError):
                system.close(fd)


@dataclass
class Emit:
    """One record handed to a handler, and what happened to it."""

    writer: int
    seq: int
    wall: tuple[float, float] = (0.0, 0.0)
    returned: bool = False
    reported: bool = False
    config: Config | None = None
    handler: int = 0  # id() of the handler
    mono: float = 0.0  # virtual monotonic time at emit start
    stopped: bool = False  # its process was stopped (SIGSTOP) during the emit
    write_failed: bool = False  # a call that writes a record failed (an injected fault)
    fired: tuple[str, ...] = ()  # the faults injected into this emit's calls
    #: Its handler waited for the next try of a failed rollover, or a try failed in its emit.
    backoff: bool = False
    failed: bool = False  # a try of its handler's failed in its emit
    #: When (wall) its handler's last try failed, if it waited for the next one when the
    #: record met the handler (at ``met``, once it had the handler's lock).
    failed_wall: float | None = None
    met: float = 0.0

    @property
    def excused(self) -> bool:
        """Whether this record may be missing (or torn): opening, sizing or writing its file
        failed (and lockrotate reports an outage once, then drops what it cannot write)."""
        return self.write_failed


@dataclass
class Chaos:
    turn: int
    step: int
    what: str

    def __str__(self) -> str:
        return f"turn {self.turn} (step {self.step}): {self.what}"


@dataclass
class Result:
    family: str
    seed: int
    steps: int
    turns: int
    seconds: float
    records: int
    rollovers: int
    violation: Violation | None
    chaos: list[Chaos] = field(default_factory=list)
    #: Records astray in ways the guarantees' limits allow, by way.
    limits: dict[str, int] = field(default_factory=dict)
    budget: int = 0  # the steps it was given

    def trace(self, last: int = 25) -> str:
        lines = [f"family={self.family} seed={self.seed}: {self.violation}"]
        lines += [f"  {c}" for c in self.chaos[-last:]]
        return "\n".join(lines)


class Run:
    """The world, the processes, the workload and the chaos of one seed."""

    MAX_PROCS = 4
    MAX_THREADS = 3

    def __init__(
        self,
        family: Family,
        seed: int,
        steps: int,
        disabled: frozenset[int] = frozenset(),
        max_turns: int | None = None,
    ) -> None:
        self.family = family
        self.seed = seed
        self.budget = steps
        self.max_turns = max_turns
        self.disabled = disabled
        self.rng = random.Random(seed)
        self.sched = Scheduler(random.Random(seed * 7919 + 1))
        self.sim = SimSystem(self.sched)
        self.sim.world.mkdir("/sim")
        self.sim.world.mkdir(FOLDER)
        # Runs start at any phase of a second, half of them just before a boundary: the first
        # file may be opened on both sides of it.
        near = self.rng.uniform(0, family.near_boundary)
        self.sim.clock_offset -= self.rng.choice((self.rng.random(), near))
        self.checker = Checker(self.sim, FOLDER, "app.log", family)
        self.emits: dict[tuple[int, int], Emit] = {}
        self.checker.emits = self.emits
        self.in_emit: dict[int, Emit] = {}  # by thread
        self.seqs = itertools.count()
        self.chaos: list[Chaos] = []
        self.turn = 0
        self.stopping = False
        clock = family.kinds is None or "clock" in family.kinds
        self.back_jumps = family.back_jumps and clock and self.rng.random() < 0.5
        self.checker.back = self.back_jumps
        self.handlers: list[Any] = []
        self.privates = _Privates(self.sim)
        self.failed_wall: dict[int, float] = {}  # id() of a handler -> its last failed try

    # What the handlers report ------------------------------------------------------------
    def reported(self, handler: object, record: logging.LogRecord) -> None:
        thread = self.sched.current
        emit = None if thread is None else self.in_emit.get(thread.tid)
        if emit is not None:
            emit.reported = True
        error = sys.exc_info()[1]
        what = f"{error!r}" if error is not None else record.getMessage()
        self.checker.reported(handler, self.sched.mono, thread, what[:200])

    def asked(self, record: logging.LogRecord) -> None:
        key = getattr(record, "sim_key", None)
        if key is not None:
            self.checker.asked(key)

    # The workload -----------------------------------------------------------------------
    def build(self, proc: Process, config: Config) -> None:
        sim = self.sim
        common: dict[str, Any] = {
            "delay": True,
            "lock_timeout": self.family.lock_timeout,
            "check_interval": self.family.check_interval,
            "lock_every_write": config.strict,
            "compress": config.compress,
            "system": sim,
        }
        try:
            if config.kind == "size":
                cls = SimHooked if config.hook else SimSize
                handler = cls(BASE, maxBytes=config.max_bytes, backupCount=config.backup, **common)
            else:
                handler = SimTimed(
                    BASE,
                    when="S",
                    backupCount=config.backup,
                    utc=config.utc,
                    maxBytes=config.max_bytes,
                    clock=sim.wall,
                    **common,
                )
        except OSError:
            return  # a fault while building: the application sees it, as it would
        if config.namer:
            handler.namer = sim_namer
        handler.lock = SimMutex(self.sched, reentrant=True)
        handler.sim_config = config
        proc.state["handlers"].append(handler)
        self.handlers.append(handler)
        self.checker.built(handler, config, proc.pid, self.sched.mono)

    def app(self, proc: Process, at_fork: list[Any] | None = None) -> Callable[[], None]:
        def body() -> None:
            for item in at_fork or ():
                item.check_fork()
            me = self.sched.current
            assert me is not None
            seq = 0
            while not self.stopping:
                queue: list[tuple[str, Any]] = proc.state["queue"]
                handlers: list[Any] = proc.state["handlers"]
                if queue:
                    self.act(proc, *queue.pop(0))
                elif not handlers:
                    self.build(proc, self.rng.choice(self.family.configs))
                else:
                    seq += 1
                    self.emit(me, seq, self.rng.choice(handlers))
            if proc.threads[0] is me or not any(
                t for t in proc.threads if not t.done and t is not me and t.name == "app"
            ):
                for handler in list(proc.state["handlers"]):
                    handler.close()
                proc.state["handlers"].clear()

        return body

    def emit(self, me: VThread, seq: int, handler: Any) -> None:
        sched, sim = self.sched, self.sim
        key = (me.tid, seq)
        text = f"w{me.tid}.{seq} {sim.wall():.6f} {PAD[: self.rng.randrange(len(PAD))]}"
        record = logging.makeLogRecord({"msg": text, "levelno": logging.INFO})
        record.sim_key = key
        emit = Emit(
            me.tid, seq, config=getattr(handler, "sim_config", None), handler=id(handler),
            mono=sched.mono,
        )  # fmt: skip
        self.emits[key] = emit
        self.in_emit[me.tid] = emit
        start = sim.wall()
        faults, fired = me.write_faults, len(me.fired)
        blocked, stopped = me.blocked_total, me.proc.stopped_total
        try:
            # Handler.handle, with the wait for the handler's own lock (logging's
            # serialization of one process's threads, not lockrotate's) left out of the wait.
            handler.acquire()
            blocked, stopped = me.blocked_total, me.proc.stopped_total
            # The handler's back-off as this record meets it (another thread's emit may
            # have failed a try while this one waited for the handler).
            tried = next_try(handler)
            emit.backoff = tried > sched.mono
            emit.met = sim.wall()
            if emit.backoff:
                emit.failed_wall = self.failed_wall.get(id(handler))
            try:
                handler.emit(record)
            finally:
                handler.release()
        except Killed:
            raise
        except Exception as exc:
            self.checker.fail(f"emit raised into the application: {exc!r}")
            raise
        finally:
            self.in_emit.pop(me.tid, None)
            emit.write_failed = me.write_faults > faults
            emit.fired = tuple(me.fired[fired:])
        # A try of its own failed in this emit (it may be ready again at once: a new period);
        # it failed by the emit's end, the time kept for it (lenient if the emit spanned a
        # boundary).
        emit.failed = next_try(handler) not in (0.0, tried)
        if emit.failed:
            self.failed_wall[id(handler)] = sim.wall()
        emit.backoff = emit.backoff or emit.failed or next_try(handler) > sched.mono
        emit.wall = (start, sim.wall())
        emit.returned = True
        emit.stopped = me.proc.stopped_total > stopped
        waited = (me.blocked_total - blocked) - (me.proc.stopped_total - stopped)
        self.checker.emitted(emit, waited)

    def act(self, proc: Process, what: str, arg: Any) -> None:
        handlers: list[Any] = proc.state["handlers"]
        if what == "build":
            self.build(proc, arg)
        elif what == "close" and handlers:
            handler = handlers.pop(arg % len(handlers))
            handler.close()
        elif what == "fork":
            self.fork(proc, python_hooks=arg)

    def fork(self, proc: Process, python_hooks: bool) -> None:
        """This thread forks: the child has a copy of the process's objects and one thread."""
        sim = self.sim
        # Python's at-fork hook waits for an open or close of a private descriptor.
        held = self.privates.of(proc)._mutex if python_hooks else nullcontext()
        with held:
            child = sim.new_process(proc)
            memo: dict[int, Any] = {id(self): self, id(self.rng): self.rng}
            with _forkable():
                child.state = copy.deepcopy(proc.state, memo)
        child.state["queue"] = []
        for handler in child.state["handlers"]:
            # The stdlib's own at-fork reinit of a handler's lock (not lockrotate's business).
            handler.lock = SimMutex(self.sched, reentrant=True)
        # What Python's at-fork hooks reset in a real child: the copies of the objects
        # lockrotate watches (a C fork skips this; then their pid checks do it).
        # In the order the copy met them (a WeakSet's order is its members' addresses').
        watched = {id(item) for item in list(_fork._LIVE)}
        copies = [copied for key, copied in memo.items() if key in watched]
        copies = self.privates.forked(child, python_hooks) + copies
        self.checker.forked(proc.pid, child.pid)
        self.sched.spawn(child, self.app(child, copies if python_hooks else []), "app")

    def new_process(self) -> None:
        proc = self.sim.new_process(None)
        proc.state = {"handlers": [], "queue": []}
        self.sched.spawn(proc, self.app(proc), "app")

    # Chaos ------------------------------------------------------------------------------
    def live(self) -> list[Process]:
        return [p for p in self.sim.procs.values() if not p.dead and p is not self.sim.outside]

    #: Chaos actions and their weights; a family may allow only some (``Family.kinds``).
    WEIGHTS: ClassVar[dict[str, int]] = {
        "fork": 12, "kill": 10, "stop": 8, "clock": 12, "fault": 20, "thread": 8,
        "process": 8, "close": 22,
    }  # fmt: skip

    def maybe_chaos(self) -> None:
        rng = random.Random(self.seed * 1_000_003 + self.turn)
        if rng.random() >= self.family.chaos or self.turn in self.disabled:
            return
        procs = self.live()
        if not procs:
            return
        kinds = [k for k in self.WEIGHTS if self.family.kinds is None or k in self.family.kinds]
        kind = rng.choices(kinds, [self.WEIGHTS[k] for k in kinds])[0]
        what = getattr(self, f"_chaos_{kind}")(rng, rng.choice(procs), len(procs))
        if what is None:
            return
        self.chaos.append(Chaos(self.turn, self.sched.steps, what))
        self.checker.chaos(self.sched.mono, kind, what)

    def _chaos_fork(self, rng: random.Random, proc: Process, procs: int) -> str | None:
        if procs >= self.MAX_PROCS:
            return None
        hooks = self.family.python_forks if self.family.python_forks is not None else (
            rng.random() < 0.5
        )  # fmt: skip
        proc.state["queue"].append(("fork", hooks))
        return f"fork {proc.pid} ({'Python' if hooks else 'C'} hooks)"

    def _chaos_kill(self, rng: random.Random, proc: Process, procs: int) -> str | None:
        if procs <= 1:
            return None
        self.sim.kill(proc)
        for thread in list(proc.threads):
            while not thread.done:
                thread.resume()
        return f"SIGKILL {proc.pid}"

    def _chaos_stop(self, rng: random.Random, proc: Process, procs: int) -> str | None:
        length = rng.choice((0.2, 1.2, 4.0)) * self.family.lock_timeout
        proc.stopped_until = self.sched.mono + length
        # Its trouble lasts until it runs again: a wait it was in ends only then.
        self.checker.chaos(proc.stopped_until, "stop", f"SIGCONT {proc.pid}")
        proc.stopped_total += length
        return f"SIGSTOP {proc.pid} for {length}s"

    def _chaos_clock(self, rng: random.Random, proc: Process, procs: int) -> str | None:
        back = self.back_jumps and rng.random() < 0.4
        jump = -rng.uniform(0.3, 3.0) if back else rng.uniform(0.3, 5.0)
        self.sim.clock_offset += jump
        return f"clock {jump:+.2f}s"

    def _chaos_fault(self, rng: random.Random, proc: Process, procs: int) -> str | None:
        now = self.sched.mono
        if rng.random() < 0.3:
            # A full disk: every write fails until space comes back (the first may land in
            # part, as a write that fills the disk does).
            ops = frozenset({"write", "pwrite", "open"})
            fault = Fault(ops, errno.ENOSPC, until=now + rng.uniform(0.1, 2.0),
                          short=rng.random() < 0.3)  # fmt: skip
        else:
            op = rng.choice(FAULTABLE)
            fault = Fault(frozenset({op}), rng.choice(ERRORS[op]), count=rng.randint(1, 3))
        self.sim.faults.append(fault)
        return f"fault {sorted(fault.ops)} {errno.errorcode[fault.code]} " + (
            f"until +{fault.until - now:.2f}s" if fault.until else f"x{fault.count}"
        )

    def _chaos_thread(self, rng: random.Random, proc: Process, procs: int) -> str | None:
        config = rng.choice(self.family.configs)
        proc.state["queue"].append(("build", config))
        apps = [t for t in proc.threads if t.name == "app" and not t.done]
        if len(apps) >= self.MAX_THREADS:
            return f"build {config} in {proc.pid}"
        self.sched.spawn(proc, self.app(proc), "app")
        return f"new thread in {proc.pid} building {config}"

    def _chaos_process(self, rng: random.Random, proc: Process, procs: int) -> str | None:
        if procs >= self.MAX_PROCS:
            return None
        self.new_process()
        return "new process"

    def _chaos_close(self, rng: random.Random, proc: Process, procs: int) -> str | None:
        proc.state["queue"].append(("close", rng.randrange(8)))
        return f"close a handler of {proc.pid}"

    # The run ----------------------------------------------------------------------------
    def go(self) -> Result:
        Driver.current = self  # type: ignore[assignment]
        started = time.perf_counter()
        sched, checker = self.sched, self.checker
        violation: Violation | None = None
        self.privates.install()
        try:
            for _ in range(2):
                self.new_process()
            while sched.steps < self.budget and (
                self.max_turns is None or self.turn < self.max_turns
            ):
                self.turn += 1
                self.maybe_chaos()
                thread = sched.pick()
                if thread is None:
                    self.new_process()
                    continue
                thread.resume()
                sched.mono += self.rng.expovariate(1.0 / self.family.tick)
                checker.after_step(self.turn)
                sched.prune()
            self.finish()
            self.settle()
            checker.at_end(self.emits)
        except Violation as exc:
            violation = exc
        except Exception as exc:  # a deadlock, the world refusing a call, a thread's error
            violation = Violation(f"{type(exc).__name__}: {exc}")
            violation.__cause__ = exc
        finally:
            self.teardown()
            self.privates.uninstall()
            Driver.current = None
        return Result(
            self.family.name,
            self.seed,
            sched.steps,
            self.turn,
            time.perf_counter() - started,
            len(self.emits),
            checker.rollovers,
            violation,
            self.chaos,
            dict(checker.limits),
            self.budget,
        )

    def finish(self) -> None:
        """Let every application thread finish its record and close its handlers."""
        self.stopping = True
        self.sim.faults.clear()
        sched = self.sched
        for proc in self.live():
            proc.stopped_until = 0.0
        while True:
            apps = [t for t in sched.threads if t.name == "app" and not t.done]
            if not apps:
                return
            thread = sched.pick()
            if thread is None:
                return
            thread.resume()
            sched.mono += self.rng.expovariate(1.0 / self.family.tick)
            self.checker.after_step(self.turn)
            sched.prune()

    def settle(self) -> None:
        """After the workload, a new process rolls the file over once with each
        configuration, with no fault, no stopped process and no other writer: retention must
        then leave at most ``backupCount`` rotated files (``Checker.settled``)."""
        proc = self.sim.new_process(None)
        proc.state = {"handlers": [], "queue": []}
        sched = self.sched

        def body() -> None:
            me = sched.current
            assert me is not None
            for seq, config in enumerate(dict.fromkeys(self.family.configs), start=10**6):
                self.build(proc, config)
                handler = proc.state["handlers"].pop()
                self.emit(me, seq, handler)  # an empty file does not roll over
                held = self.checker.held()
                handler.doRollover()
                self.checker.settled(config, held)
                handler.close()

        thread = sched.spawn(proc, body, "settle")
        while not thread.done:
            runnable = sched.pick()
            if runnable is None:
                break
            runnable.resume()
            sched.mono += self.rng.expovariate(1.0 / self.family.tick)
            self.checker.after_step(self.turn)
            sched.prune()

    def teardown(self) -> None:
        """Kill what is left (background threads), so every real thread ends."""
        for proc in self.live():
            self.sim.kill(proc)
        for thread in list(self.sched.threads):
            while not thread.done:
                try:
                    thread.resume()
                except BaseException:
                    break
        ours = {id(h) for h in self.handlers}
        logging._handlerList[:] = [  # type: ignore[attr-defined]
            ref
            for ref in logging._handlerList
            if id(ref()) not in ours  # type: ignore[attr-defined]
        ]
