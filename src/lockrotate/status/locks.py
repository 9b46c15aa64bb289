"""Who holds the lock and who waits: ``/proc/locks`` matched by the lock file's identity,
watched for up to ``--stuck-after`` seconds when it is held."""

from __future__ import annotations

import contextlib
import os
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._files import Identity
from .._naming import lock_path
from .report import Report, device_text

_SAMPLE = 0.02  # seconds between two looks at /proc/locks while the lock is held


@dataclass(frozen=True)
class LockLine:
    """One line of /proc/locks."""

    waiting: bool
    kind: str
    access: str
    pid: int
    device: tuple[int, int]
    inode: int


def parse_proc_locks(text: str) -> list[LockLine]:
    """``1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF`` (a holder) and
    ``1: -> FLOCK ...`` (blocked behind it); device numbers are hex, the inode decimal."""
    lines = []
    for raw in text.splitlines():
        fields = raw.split()
        waiting = len(fields) > 1 and fields[1] == "->"
        rest = fields[2:] if waiting else fields[1:]
        if len(rest) < 5:
            continue
        kind, _, access, pid, where = rest[:5]
        parts = where.split(":")
        try:
            device = (int(parts[0], 16), int(parts[1], 16))
            lines.append(LockLine(waiting, kind, access, int(pid), device, int(parts[2])))
        except (IndexError, ValueError):
            continue
    return lines


def _read_proc_locks() -> str | None:
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _has_open(pid: int, identity: Identity) -> bool | None:
    """Whether process *pid* has the file *identity* open (None: not allowed to look)."""
    folder = f"/proc/{pid}/fd"
    try:
        fds = os.listdir(folder)
    except PermissionError:
        return None
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            st = os.stat(os.path.join(folder, fd))
            if (st.st_dev, st.st_ino) == identity:
                return True
    return False


def lock_users(text: str, identity: Identity) -> tuple[list[LockLine], list[LockLine]]:
    """The holders and the waiters of the lock file *identity*. A line is matched by device
    and inode; failing that (btrfs subvolumes and overlays show another device there), by
    inode and a process that has the file open."""
    dev = (os.major(identity[0]), os.minor(identity[0]))
    lines = parse_proc_locks(text)
    mine = [line for line in lines if line.inode == identity[1] and line.device == dev]
    if not mine:
        mine = [
            line for line in lines if line.inode == identity[1] and _has_open(line.pid, identity)
        ]
    return [ln for ln in mine if not ln.waiting], [ln for ln in mine if ln.waiting]


_COMMAND_WIDTH = 160


def _argv(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    args = [os.fsdecode(arg) for arg in raw.split(b"\0") if arg]
    return args or None


def _command(argv: list[str] | None) -> str | None:
    """The command line on one line (a ``-c`` script's newlines shown as ``\\n``), cut to a
    readable width."""
    if argv is None:
        return None
    text = shlex.join(argv).replace("\n", "\\n")
    return text if len(text) <= _COMMAND_WIDTH else text[: _COMMAND_WIDTH - 3] + "..."


def _started(pid: int) -> float | None:
    """When process *pid* started (seconds since the epoch), from /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
        with open("/proc/stat", encoding="ascii") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime "))
        ticks = int(stat.rpartition(")")[2].split()[19])
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _process(line: LockLine) -> dict[str, Any]:
    argv = _argv(line.pid)
    return {
        "pid": line.pid,
        "command": _command(argv),
        "argv": argv,
        "started_at": _started(line.pid),
        "lock_type": line.kind,
    }


def read_lock(
    report: Report,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    options = report.options
    path = lock_path(options.path, options.lock_dir)
    lock: dict[str, Any] = {"path": path, "exists": False, "holders": [], "waiters": []}
    report.lock = lock
    try:
        st = os.stat(path)
    except FileNotFoundError:
        where = "with this --lock-dir" if options.lock_dir else "without --lock-dir"
        report.note(
            "no_lock_file",
            f"no lock file at {path} {where} yet: a size-rotated log gets it at its first "
            "rollover, a timed one when a handler first opens it",
        )
        return
    identity = (st.st_dev, st.st_ino)
    lock.update(exists=True, device=device_text(st.st_dev), inode=st.st_ino)
    text = _read_proc_locks()
    lock["knowable"] = text is not None
    if text is None:
        report.note("no_proc_locks", "/proc/locks cannot be read: who holds the lock is unknown")
        return
    holders, waiters = lock_users(text, identity)
    lock["holders"] = [_process(line) for line in holders]
    lock["waiters"] = [_process(line) for line in waiters]
    lock["watched_seconds"] = 0.0
    lock["stuck"] = False
    if not holders:
        return
    # /proc/locks has no start time: watch whether the same process holds it throughout.
    first = {line.pid for line in holders}
    start = clock()
    deadline = start + options.stuck_after
    held = True
    while clock() < deadline:
        sleep(min(_SAMPLE, max(0.0, deadline - clock())))
        now_text = _read_proc_locks()
        if now_text is None or {line.pid for line in lock_users(now_text, identity)[0]} != first:
            held = False
            break
    watched = clock() - start
    lock["watched_seconds"] = round(watched, 3)
    if held:
        lock["stuck"] = True
        pids = ", ".join(str(pid) for pid in sorted(first))
        commands = "; ".join(str(p["command"]) for p in lock["holders"])
        report.problem(
            "stuck_lock",
            f"the lock {path} has been held by pid {pids} for at least {watched:.1f} s "
            f"(--stuck-after {options.stuck_after:g}): {commands}",
        )


def read_writers(report: Report) -> None:
    """Which processes still hold each plain rotated file: every writer holds the file it
    appends to with a shared ``flock``, and compression and retention wait for them."""
    plain = [row for row in report.files if row["state"] in ("plain", "waiting")]
    text = _read_proc_locks() if plain else None
    if text is None:
        return
    held = []
    for row in plain:
        try:
            st = os.stat(row["path"])
        except OSError:
            continue
        holders = [
            line
            for line in lock_users(text, (st.st_dev, st.st_ino))[0]
            if line.kind == "FLOCK" and line.access == "READ"
        ]
        if holders:
            row["held_by"] = [_process(line) for line in holders]
            held.append(row)
    if held:
        pids = sorted({p["pid"] for row in held for p in row["held_by"]})
        report.note(
            "held_by_writer",
            f"{len(held)} rotated file(s) still held by a writer that has not noticed the "
            f"rollover (pid {', '.join(map(str, pids))}): they are compressed or removed once "
            "it writes again or exits",
        )
