"""Lock backends: exclusion between processes, timeout, fork safety, no symlinks."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import os
import time
from pathlib import Path

import pytest

from conftest import run_in_child
from lockrotate import LockTimeout, LockUnusable
from lockrotate._locks import BACKENDS, make_lock
from lockrotate._system import System

SHORT = 0.05
ACQUIRED, TIMED_OUT = 0, 2


def try_once(path: str, backend: str) -> int:
    """In the current (child) process: a fresh lock object tries with a short timeout."""
    lock = make_lock(backend, path, SHORT)
    try:
        lock.acquire()
    except LockTimeout:
        return TIMED_OUT
    lock.release()
    lock.close()
    return ACQUIRED


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def lock_path(tmp_path: Path) -> str:
    return str(tmp_path / ".app.log.lock")


def test_excludes_a_second_process(backend: str, lock_path: str) -> None:
    lock = make_lock(backend, lock_path, SHORT)
    assert lock.acquire() == 0.0
    assert run_in_child(lambda: try_once(lock_path, backend)) == TIMED_OUT
    lock.release()
    assert run_in_child(lambda: try_once(lock_path, backend)) == ACQUIRED
    assert lock.acquire() == 0.0
    lock.release()
    lock.close()


@pytest.mark.parametrize("other", sorted(BACKENDS))
def test_backends_exclude_each_other(backend: str, other: str, lock_path: str) -> None:
    """All three take flock on the same file: mixing them in one deployment stays safe."""
    lock = make_lock(backend, lock_path, SHORT)
    lock.acquire()
    assert run_in_child(lambda: try_once(lock_path, other)) == TIMED_OUT
    lock.release()
    lock.close()


def test_times_out_with_lock_timeout(backend: str, lock_path: str) -> None:
    holder = os.open(lock_path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        lock = make_lock(backend, lock_path, SHORT)
        start = time.monotonic()
        with pytest.raises(LockTimeout) as caught:
            lock.acquire()
        assert time.monotonic() - start >= SHORT, "gave up before lock_timeout"
        assert isinstance(caught.value, TimeoutError)
        assert (caught.value.path, caught.value.timeout) == (lock_path, SHORT)
        assert lock_path in str(caught.value)
        lock.close()
    finally:
        os.close(holder)


def test_a_zero_timeout_tries_once(backend: str, lock_path: str) -> None:
    lock = make_lock(backend, lock_path, 0.0)
    lock.acquire()
    assert run_in_child(lambda: _zero_timeout_child(lock_path, backend)) == TIMED_OUT
    lock.release()
    lock.close()


def _zero_timeout_child(path: str, backend: str) -> int:
    try:
        make_lock(backend, path, 0.0).acquire()
    except LockTimeout:
        return TIMED_OUT
    return ACQUIRED


def test_inherited_lock_never_releases_the_parents_hold(backend: str, lock_path: str) -> None:
    lock = make_lock(backend, lock_path, SHORT)
    lock.acquire()

    def child_uses_the_inherited_object() -> int:
        try:
            lock.acquire()
        except LockTimeout:
            outcome = TIMED_OUT
        else:
            outcome = ACQUIRED
        lock.close()
        gc.collect()
        return outcome

    assert run_in_child(child_uses_the_inherited_object) == TIMED_OUT
    # The parent still holds it: a third process cannot have it.
    assert run_in_child(lambda: try_once(lock_path, backend)) == TIMED_OUT
    lock.release()
    assert run_in_child(child_uses_the_inherited_object) == ACQUIRED
    # And the object goes on working in the parent after its children used their copies.
    assert lock.acquire() == 0.0
    assert run_in_child(lambda: try_once(lock_path, backend)) == TIMED_OUT
    lock.release()
    lock.close()


def test_a_child_dropping_an_inherited_lock_keeps_the_parents_hold(
    backend: str, lock_path: str
) -> None:
    """The child never touches the object: it is simply garbage-collected there."""
    holder: list[object] = [make_lock(backend, lock_path, SHORT)]
    holder[0].acquire()  # type: ignore[attr-defined]

    def child_drops_it() -> int:
        holder.clear()
        gc.collect()
        return 0

    assert run_in_child(child_drops_it) == 0
    assert run_in_child(lambda: try_once(lock_path, backend)) == TIMED_OUT
    holder[0].release()  # type: ignore[attr-defined]
    assert run_in_child(lambda: try_once(lock_path, backend)) == ACQUIRED


def test_a_stray_release_in_the_child_keeps_the_parents_hold(backend: str, lock_path: str) -> None:
    """The child never acquired: its release() must not unlock the descriptor it shares."""
    lock = make_lock(backend, lock_path, SHORT)
    lock.acquire()

    def child_releases() -> int:
        with contextlib.suppress(Exception):
            lock.release()
        return 0

    assert run_in_child(child_releases) == 0
    assert run_in_child(lambda: try_once(lock_path, backend)) == TIMED_OUT
    lock.release()
    lock.close()


def test_a_lock_built_before_fork_works_in_the_child(backend: str, lock_path: str) -> None:
    lock = make_lock(backend, lock_path, SHORT)

    def child() -> int:
        lock.acquire()
        code = run_in_child(lambda: try_once(lock_path, backend))
        lock.release()
        lock.close()
        return code

    assert run_in_child(child) == TIMED_OUT
    assert lock.acquire() == 0.0
    lock.release()
    lock.close()


def test_refuses_a_symlink(backend: str, tmp_path: Path, lock_path: str) -> None:
    target = tmp_path / "precious"
    target.write_bytes(b"do not touch\n")
    os.symlink(target, lock_path)
    before = target.stat()
    lock = make_lock(backend, lock_path, SHORT)
    with pytest.raises(OSError) as caught:
        lock.acquire()
    assert caught.value.errno == errno.ELOOP
    assert target.read_bytes() == b"do not touch\n"
    after = target.stat()
    assert (after.st_mode, after.st_size, after.st_mtime_ns) == (
        before.st_mode,
        before.st_size,
        before.st_mtime_ns,
    )
    # Nothing else holds a lock on the target through the link.
    fd = os.open(target, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)


@pytest.mark.parametrize("name", ["fcntl", "", "FLOCK", None, 3])
def test_unknown_backend(name: object, lock_path: str) -> None:
    with pytest.raises(ValueError, match="lock"):
        make_lock(name, lock_path, SHORT)  # type: ignore[arg-type]


def test_release_and_reacquire_many_times(backend: str, lock_path: str) -> None:
    lock = make_lock(backend, lock_path, SHORT)
    for _ in range(50):
        lock.acquire()
        lock.release()
    lock.close()
    assert run_in_child(lambda: try_once(lock_path, backend)) == ACQUIRED


def test_an_abandoned_grant_never_drops_a_lock_the_owner_takes_after(lock_path: str) -> None:
    """The waiter thread gets the lock for a request its owner gave up, and lets go of it
    slowly (widened here): the owner's next acquire must not take it from under the thread
    and be left without it when the thread lets go."""
    import subprocess
    import sys
    import threading
    import time

    from lockrotate._locks import FlockLock
    from lockrotate._permissions import Permissions

    hold = (
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
        "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.readline()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", hold, lock_path],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdin is not None
    assert holder.stdout.readline().strip() == "held"
    lock = FlockLock(lock_path, 0.2, Permissions(), 0o660)
    real = FlockLock._release_fd

    def slow_release(fd: int) -> None:
        if threading.current_thread().name == "lockrotate-lock-waiter":
            time.sleep(0.3)
        real(lock, fd)

    lock._release_fd = slow_release  # type: ignore[method-assign]
    with pytest.raises(LockTimeout):
        lock.acquire()  # the request stays with the waiter thread
    holder.stdin.write("\n")
    holder.stdin.close()
    holder.wait()
    holder.stdout.close()
    time.sleep(0.1)  # the thread now holds the lock for nobody, and is letting go
    lock.acquire(time.monotonic() + 2)
    time.sleep(0.5)  # the thread's late unlock, if it could still touch our hold, is done
    assert run_in_child(lambda: try_once(lock_path, "flock")) == TIMED_OUT
    lock.release()
    lock.close()


def test_a_replaced_lock_file_stops_the_rollover(tmp_path: Path) -> None:
    """The lock file is removed and another process locks the new one: a process whose
    last check of the name is recent must not rotate under the old inode."""
    import logging

    import lockrotate

    base = str(tmp_path / "app.log")
    failures: list[BaseException | None] = []

    class Counting(lockrotate.RotatingFileHandler):
        def handleError(self, record: logging.LogRecord) -> None:
            import sys

            failures.append(sys.exc_info()[1])

    handler = Counting(base, maxBytes=10**6, backupCount=5)
    handler.emit(logging.makeLogRecord({"msg": "first"}))
    handler.doRollover()  # takes the lock and checks its name
    os.remove(handler.lock_file)
    other = make_lock("flock", handler.lock_file, SHORT)
    other.acquire()
    handler.emit(logging.makeLogRecord({"msg": "second"}))
    handler.maxBytes = 1  # the next record is due
    handler.emit(logging.makeLogRecord({"msg": "third"}))
    other.release()
    other.close()
    handler.close()
    assert not os.path.exists(base + ".2"), "rotated while another process held the lock"
    assert [type(f) for f in failures] == [lockrotate.LockTimeout] or any(
        "replaced" in str(f) for f in failures
    ), failures


def test_a_lock_file_that_cannot_be_looked_at_is_let_go(backend: str, lock_path: str) -> None:
    """Taking the lock ends with an ``lstat`` of its name (was it replaced?). When that fails
    (EACCES, EIO), acquire raises :class:`LockUnusable`, which callers handle like a timeout,
    and lets go at once: a plain ``OSError`` left the ``flock`` held, every other process
    blocked, and a strict-mode record dropped (simulator finding 10)."""

    class Failing(System):
        fail = False

        def lstat(self, path: str) -> os.stat_result:  # type: ignore[override]
            if self.fail:
                raise PermissionError(errno.EACCES, "Permission denied", path)
            return os.lstat(path)

    system = Failing()
    lock = make_lock(backend, lock_path, SHORT, system=system)
    system.fail = True
    with pytest.raises(LockUnusable) as raised:
        lock.acquire()
    assert raised.value.path == lock_path
    assert run_in_child(lambda: try_once(lock_path, backend)) == ACQUIRED
    system.fail = False
    assert lock.acquire() == 0.0
    lock.release()
    lock.close()
