"""The simulated world on its own: the POSIX semantics the protocol relies on, the flock
model, and the scheduler's waits, so that a violation the simulator reports is lockrotate's
and not the world's."""

from __future__ import annotations

import errno
import fcntl
import os
import random

import pytest

from .sched import Deadlock, Scheduler
from .system import Fault, SimSystem

APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT


def sim() -> SimSystem:
    system = SimSystem(Scheduler(random.Random(1)))
    system.world.mkdir("/logs")
    return system


def test_rename_replaces_atomically_and_link_refuses() -> None:
    s = sim()
    for name, data in (("a", b"A"), ("b", b"B")):
        fd = s.open(f"/logs/{name}", APPEND)
        s.write(fd, data)
        s.close(fd)
    s.rename("/logs/a", "/logs/b")
    assert s.listdir("/logs") == ["b"]
    assert s.world.read_path("/logs/b") == b"A"
    fd = s.open("/logs/c", APPEND)
    s.close(fd)
    with pytest.raises(FileExistsError):
        s.link("/logs/c", "/logs/b")
    s.link("/logs/c", "/logs/d")
    assert s.stat("/logs/c").st_ino == s.stat("/logs/d").st_ino
    assert s.stat("/logs/d").st_nlink == 2


def test_unlinked_open_file_and_append_whole() -> None:
    s = sim()
    one = s.open("/logs/f", APPEND)
    two = s.open("/logs/f", APPEND)
    s.write(one, b"first\n")
    s.write(two, b"second\n")
    s.unlink("/logs/f")
    s.write(one, b"third\n")
    assert s.fstat(one).st_size == len(b"first\nsecond\nthird\n")
    assert s.fstat(one).st_nlink == 0
    with pytest.raises(FileNotFoundError):
        s.stat("/logs/f")


def test_excl_nofollow_symlink_name_max() -> None:
    s = sim()
    s.world.symlink("/logs/target", "/logs/link")
    with pytest.raises(OSError) as loop:
        s.open("/logs/link", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW)
    assert loop.value.errno == errno.ELOOP
    with pytest.raises(FileExistsError):
        s.open("/logs/link", os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    fd = s.open("/logs/target", APPEND)
    s.write(fd, b"x")
    assert s.stat("/logs/link").st_size == 1
    assert s.lstat("/logs/link").st_ino != s.stat("/logs/link").st_ino
    with pytest.raises(OSError) as long:
        s.open("/logs/" + "n" * 256, APPEND)
    assert long.value.errno == errno.ENAMETOOLONG
    s.world.mkdir("/logs/dir")
    with pytest.raises(IsADirectoryError):
        s.open("/logs/dir", os.O_RDWR)


def test_flock_belongs_to_the_open_file_description() -> None:
    s = sim()
    world = s.world
    parent = s.outside
    fd = s.open("/logs/.lock", os.O_RDWR | os.O_CREAT)
    s.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    child = s.new_process(parent)  # fork: the child shares the description, and the lock
    other = world.open(child.pid, "/logs/.lock", os.O_RDWR, 0)
    assert not world.flock(child.pid, other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    assert world.flock(child.pid, fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the same description
    s.kill(s.procs[parent.pid])  # the holder dies; the child's copy keeps the lock
    assert not world.flock(child.pid, other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    world.close(child.pid, fd)  # the last descriptor of that description: the lock goes
    assert world.flock(child.pid, other, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_faults_fire_as_armed() -> None:
    s = sim()
    sched = s.sched
    proc = s.new_process(None)
    seen: list[int] = []

    def body() -> None:
        fd = s.open("/logs/f", APPEND)
        for _ in range(3):
            try:
                s.write(fd, b"abcd\n")
            except OSError as exc:
                seen.append(exc.errno or 0)
            else:
                seen.append(0)

    s.faults.append(Fault(frozenset({"write"}), errno.ENOSPC, count=1))
    sched.spawn(proc, body, "writer")
    while (thread := sched.pick()) is not None:
        thread.resume()
    assert seen == [errno.ENOSPC, 0, 0]


def test_waits_take_virtual_time_and_a_deadlock_is_reported() -> None:
    s = sim()
    sched = s.sched
    proc = s.new_process(None)
    mutex = s.mutex()
    cond = s.condition()
    log: list[str] = []

    def holder() -> None:
        with mutex:
            s.sleep(5.0)
            log.append(f"holder done at {s.monotonic() - start:.1f}")

    def waiter() -> None:
        got = mutex.acquire(timeout=1.0)
        log.append(f"waiter got={got} at {s.monotonic() - start:.1f}")
        with cond:
            woke = cond.wait(timeout=2.0)
        log.append(f"cond woke={woke} at {s.monotonic() - start:.1f}")

    start = sched.mono
    sched.spawn(proc, holder, "holder")
    sched.spawn(proc, waiter, "waiter")
    while (thread := sched.pick()) is not None:
        thread.resume()
    # The waiter may run first and take the mutex; either way time only moves by waits.
    assert sorted(log) in (
        ["cond woke=False at 3.0", "holder done at 5.0", "waiter got=False at 1.0"],
        ["cond woke=False at 2.0", "holder done at 5.0", "waiter got=True at 0.0"],
    )

    def forever() -> None:
        with cond:
            cond.wait()

    sched.spawn(proc, forever, "forever")
    with pytest.raises(Deadlock):
        while (thread := sched.pick()) is not None:
            thread.resume()
