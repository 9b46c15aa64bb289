"""A thread that blocks in the kernel for a lock, so a waiter wakes the moment it is free.

Without it a waiter could only poll. The owner (the thread that wants the lock) asks; the
waiter thread blocks on the owner's descriptor; the owner waits for the answer with a
timeout. Only one of the two may ever believe it holds the lock, so while a request is
pending the owner never tries the descriptor itself.

State of the request (``state``) and what each side does in it:

=========== ====================================== ===========================================
state       meaning                                next
=========== ====================================== ===========================================
IDLE        nobody is asking                       owner asks: ASKED
ASKED       the owner waits for the answer         thread gets the lock: GRANTED;
                                                   owner's deadline passes: ABANDONED
GRANTED     the lock is the owner's                owner takes it and goes back to IDLE
ABANDONED   the owner gave up                      thread gets the lock: it unlocks at once
                                                   (unless the owner asked again: ASKED)
=========== ====================================== ===========================================

``pending`` is True from the owner's request until the thread's blocking call returns.
Closing hands the descriptor to a pending thread, which closes it when its call returns.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from ._system import Condition, System, Thread


class State(enum.Enum):
    IDLE = "idle"
    ASKED = "asked"
    GRANTED = "granted"
    ABANDONED = "abandoned"


class Waiter:
    """One waiter thread per lock descriptor, started at the first wait."""

    def __init__(
        self,
        fd: int,
        block: Callable[[int], None],
        release: Callable[[int], None],
        system: System,
    ) -> None:
        self.fd = fd
        self._block = block
        self._release = release
        self._system = system
        self.state = State.IDLE
        self.pending = False
        self._closing = False
        self._cond: Condition = system.condition()
        self._thread: Thread | None = None

    def wait(self, deadline: float) -> bool:
        """Ask for the lock and wait until *deadline* (``monotonic``); True if granted.

        Raises ``RuntimeError`` if the thread cannot be started (at interpreter shutdown):
        the caller then polls instead.
        """
        system = self._system
        with self._cond:
            if not self.pending:
                if self._thread is None:
                    self._thread = system.start_thread(self._run, "lockrotate-lock-waiter")
                self.pending = True
                self._cond.notify_all()
            self.state = State.ASKED
            while self.state is not State.GRANTED:
                left = deadline - system.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            granted = self.state is State.GRANTED
            self.state = State.IDLE if granted else State.ABANDONED
            return granted

    def close(self) -> bool:
        """Stop; True if the descriptor is still ours to close (no request pending)."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            return not self.pending

    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self.pending or self._closing):
                    self._cond.wait()
                if not self.pending:
                    return
            try:
                self._block(self.fd)
                failed = False
            except OSError:
                failed = True
            with self._cond:
                if not failed and self.state is State.ASKED and not self._closing:
                    self.state = State.GRANTED
                    self.pending = False
                    self._cond.notify_all()
                    continue
                if not failed:
                    # Nobody wants it any more. Let go while still pending: until then the
                    # owner does not try the descriptor itself, which would find this lock on
                    # it and believe it its own.
                    self._release(self.fd)
                self.pending = False
                if self._closing:
                    self._system.close(self.fd)
                    return
