"""Virtual processes and threads, one running at a time, switched by a seeded scheduler.

Each virtual thread is a real Python thread, but only the one holding the baton runs: it
hands the baton back to the scheduler (the test's main thread) at switch points, which are
the calls into the seam, and waits until the scheduler hands it back. So a run is a function
of its seed, whatever the host's own thread scheduling does.

A thread that must wait (a mutex, a condition, ``sleep``, a blocking ``flock``) is marked
blocked with a predicate and a virtual deadline; the scheduler runs it again only once the
predicate holds or the deadline has passed, and when no thread can run it moves the virtual
clock to the next deadline. So nothing ever waits for real, and a real deadlock is reported.

A killed process's threads unwind by raising :class:`Killed` at their switch point (and at
every later call into the seam), with the baton, one after the other.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


class Killed(BaseException):
    """This thread's process was killed (SIGKILL): unwind, doing nothing more in the world."""


class Deadlock(AssertionError):
    """Every thread waits, and no deadline will wake any of them."""


@dataclass(eq=False)
class Process:
    pid: int
    parent: int | None
    dead: bool = False
    stopped_until: float = 0.0
    stopped_total: float = 0.0
    #: Whatever the workload keeps per process (its handlers, its writers): what fork copies.
    state: dict[str, Any] = field(default_factory=dict)
    threads: list[VThread] = field(default_factory=list)
    #: Whether this process has asked for its pid since it was forked (the core's reset).
    asked_pid: bool = True

    def __deepcopy__(self, memo: dict[int, Any]) -> Process:
        return self  # the world's, not a forked process's memory


class VThread:
    """A virtual thread: a real thread that runs only while it holds the baton."""

    def __init__(self, sched: Scheduler, proc: Process, target: Callable[[], None], name: str):
        self.sched = sched
        self.proc = proc
        self.tid = sched.new_tid()
        self.name = name
        self.target = target
        self.done = False
        self.started = False
        self.waiting: Callable[[], bool] | None = None
        self.wake_at: float | None = None
        self.blocked_total = 0.0
        self.write_faults = 0  # injected failures of the calls that put a record in a file
        self.fired: list[str] = []  # every injected failure, as "op errno"
        self.error: BaseException | None = None
        self._go = threading.Event()
        self._real = threading.Thread(target=self._main, name=f"sim-{name}", daemon=True)

    def __deepcopy__(self, memo: dict[int, Any]) -> VThread:
        return self  # a child copies a reference to a thread of its parent, not the thread

    def _main(self) -> None:
        self._go.wait()
        self._go.clear()
        try:
            if not self.proc.dead:
                self.target()
        except Killed:
            pass
        except BaseException as exc:  # reported by the scheduler, in the main thread
            if not self.proc.dead:  # a killed thread's unwinding proves nothing
                self.error = exc
        finally:
            self.done = True
            self.sched._back.set()

    def resume(self) -> None:
        """Main thread: run this thread until it gives the baton back."""
        sched = self.sched
        sched.current = self
        if not self.started:
            self.started = True
            self._real.start()
        self._go.set()
        sched._back.wait()
        sched._back.clear()
        sched.current = None
        if self.done:
            self._real.join()
            if self.error is not None:
                error, self.error = self.error, None
                raise error

    def pause(self) -> None:
        """This thread: give the baton back and wait for it."""
        self.sched._back.set()
        self._go.wait()
        self._go.clear()
        if self.proc.dead:
            raise Killed

    def runnable(self, now: float) -> bool:
        if self.done or self.proc.stopped_until > now:
            return False
        if self.proc.dead:
            return True  # to unwind
        if self.waiting is None:
            return True
        return self.waiting() or (self.wake_at is not None and now >= self.wake_at)


class Scheduler:
    """The baton, the virtual clock, and the seeded choice of which thread runs next."""

    def __init__(self, rng: random.Random, switch_chance: float = 0.35) -> None:
        self.rng = rng
        self.switch_chance = switch_chance
        self.mono = 1000.0
        self.current: VThread | None = None
        self.threads: list[VThread] = []
        self.steps = 0
        self._tids = 0
        self._back = threading.Event()

    def __deepcopy__(self, memo: dict[int, Any]) -> Scheduler:
        return self

    def new_tid(self) -> int:
        self._tids += 1
        return 1000 + self._tids

    def spawn(self, proc: Process, target: Callable[[], None], name: str) -> VThread:
        thread = VThread(self, proc, target, name)
        proc.threads.append(thread)
        self.threads.append(thread)
        return thread

    # Called by virtual threads -----------------------------------------------------------
    def point(self) -> None:
        """A switch point: every call into the seam passes here."""
        thread = self.current
        if thread is None:
            return
        if thread.proc.dead:
            raise Killed
        self.steps += 1
        if self.rng.random() < self.switch_chance:
            thread.pause()

    def block(self, ready: Callable[[], bool], deadline: float | None) -> bool:
        """Wait until *ready* or the virtual *deadline*; return ready()."""
        thread = self.current
        assert thread is not None, "only a virtual thread can wait"
        if thread.proc.dead:
            raise Killed
        if ready():
            return True
        start = self.mono
        thread.waiting, thread.wake_at = ready, deadline
        try:
            thread.pause()
        finally:
            thread.waiting = thread.wake_at = None
            # Up to the deadline: how long the thread then waits to be scheduled is the
            # simulation's doing, not the code's.
            end = self.mono if deadline is None else min(self.mono, max(start, deadline))
            thread.blocked_total += end - start
        return ready()

    # Called by the main thread -----------------------------------------------------------
    def pick(self) -> VThread | None:
        """The next thread to run; moves the clock when every thread waits. None: none left."""
        while True:
            alive = [t for t in self.threads if not t.done]
            if not alive:
                return None
            now = self.mono
            ready = [t for t in alive if t.runnable(now)]
            if ready:
                return ready[self.rng.randrange(len(ready))]
            wakes = [
                t.proc.stopped_until if t.proc.stopped_until > now else t.wake_at
                for t in alive
                if t.proc.stopped_until > now or t.wake_at is not None
            ]
            if not wakes:
                names = ", ".join(f"{t.name}@{t.proc.pid}" for t in alive)
                raise Deadlock(f"every thread waits forever: {names}")
            self.mono = max(now, min(w for w in wakes if w is not None))

    def prune(self) -> None:
        self.threads = [t for t in self.threads if not t.done]


class SimMutex:
    """``threading.Lock`` for virtual threads (``RLock`` with *reentrant*)."""

    def __init__(self, sched: Scheduler, reentrant: bool = False) -> None:
        self.sched = sched
        self.reentrant = reentrant
        self.owner: int | None = None
        self.count = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        sched = self.sched
        sched.point()
        me = sched.current.tid if sched.current is not None else 0
        if self.reentrant and self.owner == me:
            self.count += 1
            return True
        if self.owner is not None:
            if not blocking:
                return False
            deadline = None if timeout is None or timeout < 0 else sched.mono + timeout
            if not sched.block(lambda: self.owner is None, deadline):
                return False
        self.owner = me
        self.count = 1
        return True

    def release(self) -> None:
        current = self.sched.current
        if current is not None and current.proc.dead:
            return  # unwinding after SIGKILL: this memory is gone anyway
        if self.owner is None:
            raise RuntimeError("release unlocked lock")
        self.count -= 1
        if self.count == 0:
            self.owner = None

    def locked(self) -> bool:
        return self.owner is not None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _at_fork_reinit(self) -> None:
        self.owner = None
        self.count = 0


class SimCondition:
    """``threading.Condition`` for virtual threads."""

    def __init__(self, sched: Scheduler, lock: SimMutex | None = None) -> None:
        self.sched = sched
        self.lock = lock if lock is not None else SimMutex(sched)
        self._waiters: list[list[bool]] = []

    def __enter__(self) -> bool:
        return self.lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self.lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        sched = self.sched
        token = [False]
        self._waiters.append(token)
        self.lock.release()
        try:
            deadline = None if timeout is None else sched.mono + max(0.0, timeout)
            sched.block(lambda: token[0], deadline)
        finally:
            if token in self._waiters:
                self._waiters.remove(token)
            self.lock.acquire()
        return token[0]

    def wait_for(self, predicate: Callable[[], bool], timeout: float | None = None) -> bool:
        deadline = None if timeout is None else self.sched.mono + timeout
        result = predicate()
        while not result:
            left = None
            if deadline is not None:
                left = deadline - self.sched.mono
                if left <= 0:
                    break
            self.wait(left)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        for token in self._waiters[:n]:
            token[0] = True
        del self._waiters[:n]

    def notify_all(self) -> None:
        self.notify(len(self._waiters))


class SimThreadHandle:
    """What ``start_thread`` returns: ``join`` waits in virtual time."""

    def __init__(self, thread: VThread) -> None:
        self.thread = thread

    def join(self, timeout: float | None = None) -> None:
        sched = self.thread.sched
        if sched.current is None or sched.current.proc is not self.thread.proc:
            return  # a thread of the parent does not exist in a forked child
        if sched.current is self.thread:
            raise RuntimeError("cannot join current thread")
        deadline = None if timeout is None else sched.mono + timeout
        sched.block(lambda: self.thread.done or self.thread.proc.dead, deadline)

    def is_alive(self) -> bool:
        current = self.thread.sched.current
        if current is not None and current.proc is not self.thread.proc:
            return False
        return not self.thread.done and not self.thread.proc.dead
