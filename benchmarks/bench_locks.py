"""One acquire + release of each lock backend, alone and against another process.

The rival process takes and drops the same lock in a tight loop, as writers in strict
mode or at a rollover storm do; the figure then includes the wait for it.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lockrotate._locks import BACKENDS, InterProcessLock, make_lock

TIMEOUT = 10.0


def _rival(backend: str, path: str, stop: Any, started: Any) -> None:
    lock = make_lock(backend, path, TIMEOUT, 0o644)
    started.set()
    while not stop.value:
        lock.acquire()
        lock.release()
    lock.close()


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def lock(backend: str, tmp_path: Path) -> Iterator[InterProcessLock]:
    made = make_lock(backend, str(tmp_path / ".app.log.lock"), TIMEOUT, 0o644)
    yield made
    made.close()


@pytest.fixture
def rival(backend: str, lock: InterProcessLock) -> Iterator[None]:
    ctx = multiprocessing.get_context("fork")
    stop, started = ctx.RawValue("b", 0), ctx.Event()
    proc = ctx.Process(target=_rival, args=(backend, lock.path, stop, started))
    proc.start()
    started.wait(TIMEOUT)
    yield
    stop.value = 1
    proc.join(TIMEOUT)
    assert proc.exitcode == 0


def _cycle(lock: InterProcessLock) -> None:
    lock.acquire()
    lock.release()


def test_uncontended(benchmark: Any, lock: InterProcessLock) -> None:
    benchmark.group = "lock acquire+release, uncontended"
    benchmark(_cycle, lock)


def test_contended(benchmark: Any, lock: InterProcessLock, rival: None) -> None:
    benchmark.group = f"lock acquire+release, one rival process ({os.cpu_count()} CPUs)"
    benchmark(_cycle, lock)
