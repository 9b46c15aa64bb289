"""Counters a handler keeps about its own process."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

_SAMPLES = 4096


@dataclass(slots=True, repr=False)
class HandlerStats:
    """What this process's handler did since it was built (or since this process forked).

    The write path only adds to ``records`` and ``bytes``; the rest changes when the lock is
    taken (at a rollover, by the compressor, and for every record in strict mode).

    Attributes:
        records: records this process wrote through the handler.
        bytes: bytes those records took, encoded, newline included.
        rollovers: rollovers this process performed (it renamed the base file).
        adopted: rollovers another process had already performed when this one came to do
            it: this process only reopened the new base file.
        lock_acquisitions: times this process took the rollover lock.
        lock_timeouts: times it gave up waiting after ``lock_timeout``.
        lock_wait_total: seconds spent waiting for the lock, in all.
        lock_wait_max: the longest single wait, in seconds.
        lock_held_max: the longest single hold, in seconds.
        lock_waits: the latest 4096 waits (seconds), for percentiles.
        lock_holds: the latest 4096 holds (seconds).
        rollover_holds: the latest 4096 holds in which this process rotated a file.

    ``repr()`` shows the counters and a count of the samples, not the samples themselves
    (three deques of up to 4096 floats): ``print(handler.stats)`` stays one line.
    """

    records: int = 0
    bytes: int = 0
    rollovers: int = 0
    adopted: int = 0
    lock_acquisitions: int = 0
    lock_timeouts: int = 0
    lock_wait_total: float = 0.0
    lock_wait_max: float = 0.0
    lock_held_max: float = 0.0
    lock_waits: deque[float] = field(default_factory=lambda: deque(maxlen=_SAMPLES))
    lock_holds: deque[float] = field(default_factory=lambda: deque(maxlen=_SAMPLES))
    rollover_holds: deque[float] = field(default_factory=lambda: deque(maxlen=_SAMPLES))

    _mutex: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def __repr__(self) -> str:
        counters = ", ".join(
            f"{name}={getattr(self, name)!r}"
            for name in (
                "records",
                "bytes",
                "rollovers",
                "adopted",
                "lock_acquisitions",
                "lock_timeouts",
            )
        )
        return (
            f"HandlerStats({counters}, lock_wait_max={self.lock_wait_max:.6f}, "
            f"lock_held_max={self.lock_held_max:.6f}, samples={len(self.lock_holds)})"
        )

    def timed_out(self) -> None:
        with self._mutex:
            self.lock_timeouts += 1

    def record_lock(self, waited: float, held: float, rotated: bool) -> None:
        """One hold of the lock, by an emitting thread or the compressor thread: called with
        the handler's lock mutex held, which keeps the two apart."""
        self.lock_acquisitions += 1
        self.lock_wait_total += waited
        self.lock_wait_max = max(self.lock_wait_max, waited)
        self.lock_held_max = max(self.lock_held_max, held)
        self.lock_waits.append(waited)
        self.lock_holds.append(held)
        if rotated:
            self.rollover_holds.append(held)

    def as_dict(self) -> dict[str, object]:
        """Plain values, for logging them or writing them as JSON."""
        return {
            "records": self.records,
            "bytes": self.bytes,
            "rollovers": self.rollovers,
            "adopted": self.adopted,
            "lock_acquisitions": self.lock_acquisitions,
            "lock_timeouts": self.lock_timeouts,
            "lock_wait_total": self.lock_wait_total,
            "lock_wait_max": self.lock_wait_max,
            "lock_held_max": self.lock_held_max,
            "lock_waits": list(self.lock_waits),
            "lock_holds": list(self.lock_holds),
            "rollover_holds": list(self.rollover_holds),
        }
