"""The one fork path: every object with per-process state resets through its pid check.

``os.register_at_fork`` runs :meth:`Forkable.check_fork` of every live object in a child
forked by Python. A child forked without Python's hooks (uWSGI forks in C; the simulator
forks virtual processes) reaches the same method at its next use, when the pid it finds
differs from the one it recorded. The check is idempotent: one reset per object per child.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol


class Forkable(Protocol):
    def check_fork(self) -> None:
        """If this process is not the one that recorded its pid, reset what was the parent's."""


_LIVE: weakref.WeakSet[Forkable] = weakref.WeakSet()


def watch(item: Forkable) -> None:
    """Reset *item* in every child forked through Python."""
    _LIVE.add(item)


def _after_fork_in_child() -> None:
    for item in list(_LIVE):
        item.check_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
