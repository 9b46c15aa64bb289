"""The shared fixtures' own failure modes."""

from __future__ import annotations

import logging
import weakref

from conftest import close_handlers_since, handlers_now


class _Gone:
    """Something a weakref can point at, then lose."""


class _Counting(logging.Handler):
    closed = 0

    def close(self) -> None:
        type(self).closed += 1
        super().close()


def test_close_handlers_since_survives_a_dead_weakref() -> None:
    # logging drops a handler's weakref from _handlerList in a callback; until that runs, the
    # list may hold a dead one, which set(_handlerList) cannot hash (TypeError).
    target = _Gone()
    dead = weakref.ref(target)
    del target
    assert dead() is None
    before = handlers_now()
    made = [_Counting()]  # alive until the end: its weakref stays in the list
    logging._handlerList.append(dead)  # type: ignore[attr-defined]
    try:
        close_handlers_since(before)
    finally:
        logging._handlerList.remove(dead)  # type: ignore[attr-defined]
    assert _Counting.closed == len(made) == 1
