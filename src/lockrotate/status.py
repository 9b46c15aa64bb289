"""``lockrotate status PATH``: what a shared log is doing, for the person on call.

Everything a handler knows about a log is on disk or in the kernel, so a separate process can
show it without taking part: status reads only. It never takes the lock and never opens a
file for writing (the lock file is only stat'ed; the period file is read once).

1. The folder is listed once, and each name is parsed with the core's own inventory
   (:meth:`lockrotate._archive.Inventory.scan`) under every scheme the log may use:
   numbered names, and dated names for ``--when`` (without it: the S, M, H and D label
   formats), each plain or compressed with any extension lockrotate writes.
2. Whatever starts with the log's name (or its hidden stem) and no scheme claims is "outside
   the scheme": lockrotate never touches it, so a person must.
3. ``/proc/locks`` tells who holds the lock file and who is blocked on it. It carries no start
   time, so when the lock is held status watches it (every 20 ms) for up to ``--stuck-after``
   seconds: held by the same process at every look means stuck. A free lock costs no wait.
4. The period file's entry says which file (device, inode) holds which period.

Exit status: 0 healthy, 1 something needs a person, 2 the command could not run as asked.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._archive import Entry, FileInfo, Inventory, Scheme, State, repair
from ._cli import Parser, positive, seconds, when
from ._compress import EXTENSIONS
from ._files import Identity
from ._naming import NumberedScheme, TimedScheme, hidden_stem, lock_stem, scratch_is_ours
from ._policy import PERIOD_WIDTH, parse_entry
from ._schedule import TimeSchedule, make_schedule

EXIT_OK, EXIT_ATTENTION, EXIT_USAGE = 0, 1, 2
SCHEMA = 1
DEFAULT_STUCK_AFTER = 10.0
# A base file may pass maxBytes by what the writers append before they notice the rollover
# (each re-checks at least every check_interval); twice the limit means rollovers stopped.
OVERSIZE_FACTOR = 2
_SAMPLE = 0.02
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)

STATE_TEXT = {
    "plain": "plain",
    "compressed": "compressed",
    "waiting": "waiting to be compressed",
    "interrupted": "plain and compressed: compression interrupted (next rollover tidies)",
    "side-by-side": "plain and compressed with different mtimes (left alone)",
    "scratch": "hidden scratch file, in use",
    "stray": "hidden scratch file, stray",
}


# Arguments --------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="lockrotate status",
        description=(
            "Show a log's files, lock and period without touching them (read only). "
            "Exit status: 0 healthy, 1 something needs a person, 2 bad usage."
        ),
    )
    parser.add_argument("path", help="the log's base file, as given to the handler")
    parser.add_argument("--lock-dir", help="the handler's lock_dir, if it has one")
    parser.add_argument(
        "--when",
        type=when,
        help="the timed log's when: only its label format makes dated names (default: the "
        "S, M, H and D formats); numbered names always count",
    )
    parser.add_argument("--utc", action="store_true", help="dated names are in UTC")
    parser.add_argument(
        "--max-bytes",
        type=positive,
        help=f"the handler's maxBytes: a base file over {OVERSIZE_FACTOR}x needs a person",
    )
    parser.add_argument(
        "--stuck-after",
        type=seconds,
        default=DEFAULT_STUCK_AFTER,
        help="a lock held by one process this long is stuck; status watches a held lock "
        "for up to this long (default %(default)g s)",
    )
    parser.add_argument("--json", action="store_true", help="a JSON document on stdout")
    parser.add_argument("--plain", action="store_true", help="plain text even on a terminal")
    return parser


@dataclass(frozen=True)
class Options:
    path: str
    lock_dir: str | None = None
    when: str | None = None
    utc: bool = False
    max_bytes: int | None = None
    stuck_after: float = DEFAULT_STUCK_AFTER


# Reading the folder -----------------------------------------------------------------------


def schemes(options: Options) -> list[tuple[str, Scheme]]:
    """Every naming scheme the log may use, by name: numbered, then dated."""
    keys = [options.when] if options.when else ["S", "M", "H", "D"]
    found: list[tuple[str, Scheme]] = [
        ("numbered", NumberedScheme(options.path, sys.maxsize, None))
    ]
    for key in keys:
        found.append(
            (key, TimedScheme(options.path, make_schedule(key, 1, options.utc, None), None))
        )
    return found


@dataclass
class Report:
    """What status saw, as the JSON document's fields."""

    options: Options
    checked_at: float
    problems: list[dict[str, str]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)
    base: dict[str, Any] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    outside: list[dict[str, Any]] = field(default_factory=list)
    lock: dict[str, Any] = field(default_factory=dict)
    period: dict[str, Any] | None = None

    def problem(self, kind: str, message: str) -> None:
        self.problems.append({"kind": kind, "message": message})

    def note(self, kind: str, message: str) -> None:
        self.notes.append({"kind": kind, "message": message})

    @property
    def exit_code(self) -> int:
        return EXIT_ATTENTION if self.problems else EXIT_OK

    def document(self) -> dict[str, Any]:
        rotated = [row for row in self.files if row["state"] not in ("scratch", "stray")]
        return {
            "schema": SCHEMA,
            "path": self.options.path,
            "checked_at": self.checked_at,
            "healthy": not self.problems,
            "exit_status": self.exit_code,
            "problems": self.problems,
            "notes": self.notes,
            "base": self.base,
            "files": self.files,
            "outside_scheme": self.outside,
            "lock": self.lock,
            "period": self.period,
            "totals": {
                "rotated_files": len(rotated),
                "rotated_bytes": sum(row["size"] for row in rotated),
                "waiting": sum(row["state"] == "waiting" for row in rotated),
                "stray_scratch": sum(row["state"] == "stray" for row in self.files),
                "outside_scheme": len(self.outside),
            },
        }


def _info(info: FileInfo, state: str, scheme: str, now: float) -> dict[str, Any]:
    mtime = info.mtime_ns / 1e9
    return {
        "name": os.path.basename(info.path),
        "path": info.path,
        "size": info.size,
        "mtime": mtime,
        "age_seconds": round(now - mtime, 3),
        "state": state,
        "scheme": scheme,
    }


def _entry_rows(
    entry: Entry, scheme: str, compressing: bool, repaired: set[str], now: float
) -> list[dict[str, Any]]:
    # Copies in another compression format (a process configured with another ``compress``).
    others = [_info(info, "compressed", scheme, now) for info in entry.others]
    if entry.state is State.PLAIN:
        assert entry.plain is not None
        return [_info(entry.plain, "waiting" if compressing else "plain", scheme, now), *others]
    if entry.state is State.COMPRESSED:
        assert entry.packed is not None
        return [_info(entry.packed, "compressed", scheme, now), *others]
    assert entry.plain is not None and entry.packed is not None
    state = "interrupted" if entry.plain.path in repaired else "side-by-side"
    pair = [_info(entry.plain, state, scheme, now), _info(entry.packed, state, scheme, now)]
    return [*pair, *others]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def scan_folder(report: Report, names: list[str], now: float) -> set[str]:
    """Rotated files, scratch files and the names outside the scheme; returns the claimed
    names."""
    options = report.options
    folder, base_name = os.path.split(options.path)
    extensions = tuple(EXTENSIONS.values())
    found = [
        (key, scheme, Inventory.scan(options.path, scheme, extensions, names))
        for key, scheme in schemes(options)
    ]
    compressing = any(
        entry.state is not State.PLAIN for _, _, inventory in found for entry in inventory.entries
    )
    claimed: set[str] = set()
    for key, _, inventory in found:
        repaired = set(repair(inventory))
        # Newest first: numbered names by index, dated ones by label.
        for entry in reversed(inventory.entries):
            for row in _entry_rows(entry, key, compressing, repaired, now):
                report.files.append(row)
                claimed.add(row["name"])
    _gaps(report, found[0][2])
    _entry_notes(report)

    inventory = found[0][2]
    stale = set(inventory.stale_scratch(now))
    for item in inventory.scratch:
        info = FileInfo.of(item.path)
        if info is None:
            continue
        ours = scratch_is_ours(item.host)
        row = _info(info, "stray" if item.path in stale else "scratch", "scratch", now)
        row.update(pid=item.pid, host=item.host, this_host=ours)
        row["alive"] = _pid_alive(item.pid) if ours else None
        report.files.append(row)
        claimed.add(row["name"])
        if item.path in stale:
            whose = f"of pid {item.pid}, which is gone" if ours else "of another host, an hour old"
            report.problem(
                "stray_scratch",
                f"{item.path}: a scratch file {whose} (a compressed copy or a removal cut short: "
                "delete it; the next rollover would too)",
            )

    stem = hidden_stem(base_name)
    companions = {stem + ".lock", stem + ".period"} if options.lock_dir is None else set()
    for name in sorted(names):
        if name in claimed or name in companions:
            continue
        if not (name.startswith(base_name + ".") or name.startswith(stem + ".")):
            continue
        info = FileInfo.of(os.path.join(folder, name))
        if info is None:
            continue
        reason = _outside_reason(name, stem, options.lock_dir)
        row = _info(info, "outside", "none", now)
        row["reason"] = reason
        report.outside.append(row)
        report.problem("outside_scheme", f"{info.path}: {reason}")
    return claimed


def _outside_reason(name: str, stem: str, lock_dir: str | None) -> str:
    if lock_dir is not None and name in (stem + ".lock", stem + ".period"):
        return (
            "a lock or period file beside the log while its lock is in --lock-dir: "
            "do some processes use another lock?"
        )
    if any(name.endswith(extension * 2) for extension in EXTENSIONS.values()):
        return "compressed twice? no scheme of this log makes this name; lockrotate leaves it"
    if name.startswith(stem + "."):
        return "a hidden file that is neither this log's lock, period nor scratch file"
    return "named like this log's files, but no scheme of it makes this name; lockrotate leaves it"


def _gaps(report: Report, numbered: Inventory) -> None:
    present = sorted(int(entry.slot) for entry in numbered.entries)
    if not present:
        return
    have = set(present)
    missing = [i for i in range(1, present[-1]) if i not in have]
    if missing:
        names = ", ".join(f".{i}" for i in missing[:5]) + (" ..." if len(missing) > 5 else "")
        report.note(
            "gap",
            f"numbered backups have a gap ({names} missing): a rollover was cut short, or "
            "retention removed them; the next rollover closes the gap without losing a file",
        )


def _entry_notes(report: Report) -> None:
    waiting = [row for row in report.files if row["state"] == "waiting"]
    if waiting:
        report.note(
            "waiting",
            f"{len(waiting)} rotated file(s) waiting to be compressed (a file is compressed "
            "once nobody can still append to it; orphans are handed on at the next rollover)",
        )
    if any(row["state"] == "interrupted" for row in report.files):
        report.note(
            "interrupted",
            "a compression was cut short after its copy was finished: the next rollover "
            "removes the plain copy",
        )
    if any(row["state"] == "side-by-side" for row in report.files):
        report.note(
            "side_by_side",
            "a plain and a compressed file share a name but not an mtime: lockrotate did not "
            "make one from the other and leaves both to retention (often a process configured "
            "without compress, or with another format, rotates this log too)",
        )


# The base file ----------------------------------------------------------------------------


def read_base(report: Report, now: float) -> Identity | None:
    options = report.options
    try:
        st = os.stat(options.path)
    except FileNotFoundError:
        report.base = {"path": options.path, "exists": False}
        report.note("no_base", "no base file: the next record creates it")
        return None
    report.base = {
        "path": options.path,
        "exists": True,
        "size": st.st_size,
        "mtime": st.st_mtime,
        "age_seconds": round(now - st.st_mtime, 3),
        "device": _device(st.st_dev),
        "inode": st.st_ino,
    }
    limit = options.max_bytes
    if limit is not None and st.st_size > OVERSIZE_FACTOR * limit:
        report.problem(
            "oversize",
            f"{options.path} holds {st.st_size:,} bytes, over {OVERSIZE_FACTOR}x --max-bytes "
            f"{limit:,}: rollovers are not happening (lock stuck, rename refused, or maxBytes "
            "differs from what the handlers use)",
        )
    elif limit is not None and st.st_size > limit:
        report.note("over_max_bytes", "the base file is past --max-bytes: the next record rolls it")
    return st.st_dev, st.st_ino


def _device(dev: int) -> str:
    return f"{os.major(dev)}:{os.minor(dev)}"


# The lock ---------------------------------------------------------------------------------


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
    path = lock_stem(options.path, options.lock_dir) + ".lock"
    lock: dict[str, Any] = {"path": path, "exists": False, "holders": [], "waiters": []}
    report.lock = lock
    try:
        st = os.stat(path)
    except FileNotFoundError:
        where = "with this --lock-dir" if options.lock_dir else "without --lock-dir"
        report.note(
            "no_lock_file",
            f"no lock file at {path}: no handler has opened this log {where} yet",
        )
        return
    identity = (st.st_dev, st.st_ino)
    lock.update(exists=True, device=_device(st.st_dev), inode=st.st_ino)
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


# The period file --------------------------------------------------------------------------


def read_period(report: Report, base: Identity | None) -> None:
    options = report.options
    path = lock_stem(options.path, options.lock_dir) + ".period"
    try:
        fd = os.open(path, _READ)
    except FileNotFoundError:
        return
    except OSError as exc:
        report.period = {"path": path, "readable": False, "error": str(exc)}
        return
    try:
        raw = os.pread(fd, PERIOD_WIDTH, 0)
    finally:
        os.close(fd)
    entry = parse_entry(raw)
    if entry is None:
        report.period = {"path": path, "readable": False, "error": "not a period entry"}
        report.note("period_unreadable", f"{path} holds no period entry the handlers can read")
        return
    identity, start, signature = entry
    schedule = TimeSchedule.from_signature(signature)
    period: dict[str, Any] = {
        "path": path,
        "readable": True,
        "device": _device(identity[0]),
        "inode": identity[1],
        "period_start": start,
        "signature": signature,
        "matches_base": identity == base,
        "period_end": None if schedule is None else schedule.next_boundary(start),
    }
    report.period = period
    if base is not None and identity != base:
        report.note(
            "period_other_file",
            f"the period file names inode {identity[1]}, not the base file's {base[1]}: "
            "the next handler to use the base file dates it by its mtime and records it",
        )
    if schedule is not None and options.when and options.when != schedule.when:
        report.note(
            "period_when",
            f"the period file was written with when={schedule.when}, not --when {options.when}",
        )


# Running it -------------------------------------------------------------------------------


def inspect(options: Options, sleep: Callable[[float], None] = time.sleep) -> Report:
    """Everything status shows about the log at *options.path* (read only)."""
    now = time.time()
    report = Report(options, now)
    names = os.listdir(os.path.dirname(options.path))
    base = read_base(report, now)
    scan_folder(report, names, now)
    read_period(report, base)
    read_lock(report, sleep)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    path = os.path.abspath(args.path)
    prog = "lockrotate status"
    if not os.path.isdir(os.path.dirname(path)):
        print(f"{prog}: error: no folder {os.path.dirname(path)!r}", file=sys.stderr)
        return EXIT_USAGE
    if os.path.isdir(path):
        print(f"{prog}: error: {path!r} is a folder; give the log's base file", file=sys.stderr)
        return EXIT_USAGE
    if args.lock_dir is not None and not os.path.isdir(args.lock_dir):
        print(f"{prog}: error: no folder {args.lock_dir!r} (--lock-dir)", file=sys.stderr)
        return EXIT_USAGE
    options = Options(path, args.lock_dir, args.when, args.utc, args.max_bytes, args.stuck_after)
    try:
        report = inspect(options)
    except OSError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report.document(), indent=2))
    else:
        show(report, plain=args.plain)
    return report.exit_code


# Showing it -------------------------------------------------------------------------------


def _when_text(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(stamp).isoformat(sep=" ", timespec="seconds")


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def summary(report: Report) -> str:
    if not report.problems:
        return f"lockrotate status {report.options.path}: OK"
    kinds = ", ".join(dict.fromkeys(p["kind"].replace("_", " ") for p in report.problems))
    return (
        f"lockrotate status {report.options.path}: NEEDS ATTENTION "
        f"({len(report.problems)} problem(s): {kinds})"
    )


def _who(process: dict[str, Any]) -> str:
    started = process["started_at"]
    since = "" if started is None else f", running since {_when_text(started)}"
    return f"pid {process['pid']} ({process['command'] or 'command line unknown'}{since})"


def detail_lines(report: Report) -> list[tuple[str, str]]:
    """The base, lock and period facts, as (label, text) pairs."""
    base = report.base
    if base.get("exists"):
        text = (
            f"{base['size']:,} bytes, written {_age(base['age_seconds'])} ago, "
            f"inode {base['inode']} on {base['device']}"
        )
    else:
        text = "missing"
    lines = [("base file", f"{base['path']}: {text}")]
    lock = report.lock
    if not lock.get("exists"):
        lines.append(("lock", f"{lock['path']}: no lock file"))
    elif not lock.get("knowable"):
        lines.append(("lock", f"{lock['path']}: holder unknown (no /proc/locks)"))
    elif not lock["holders"]:
        lines.append(("lock", f"{lock['path']}: free"))
    else:
        state = "STUCK" if lock["stuck"] else "moving"
        for process in lock["holders"]:
            lines.append(("lock held by", _who(process)))
        lines.append(("lock", f"{lock['path']}: {state}, watched {lock['watched_seconds']:g} s"))
    for process in lock.get("waiters", []):
        lines.append(("lock waiter", _who(process)))
    period = report.period
    if period is not None and period.get("readable"):
        match = "matches the base file" if period["matches_base"] else "names ANOTHER file"
        lines.append(
            (
                "period",
                f"{_when_text(period['period_start'])} to {_when_text(period['period_end'])} "
                f"({period['signature']}), inode {period['inode']}: {match}",
            )
        )
    elif period is not None:
        lines.append(("period", f"{period['path']}: {period['error']}"))
    return lines


def _file_cells(row: dict[str, Any]) -> list[str]:
    state = STATE_TEXT.get(row["state"], row.get("reason", row["state"]))
    if row["state"] in ("scratch", "stray"):
        state += f" (pid {row['pid']}{'' if row['this_host'] else ', another host'})"
    return [row["name"], f"{row['size']:,}", _when_text(row["mtime"]), state]


def plain_text(report: Report) -> str:
    out = [summary(report)]
    out += [f"  problem: {p['message']}" for p in report.problems]
    out += [f"  note: {n['message']}" for n in report.notes]
    out.append("")
    width = max(len(label) for label, _ in detail_lines(report))
    out += [f"{label.ljust(width)}  {text}" for label, text in detail_lines(report)]
    rows = [_file_cells(row) for row in report.files]
    rows += [[*_file_cells(row)[:3], "OUTSIDE THE SCHEME"] for row in report.outside]
    out.append("")
    if not rows:
        out.append("no rotated files")
        return "\n".join(out)
    table = [["name", "bytes", "modified", "state"], *rows]
    widths = [max(len(line[i]) for line in table) for i in range(3)]
    for line in table:
        cells = [line[0].ljust(widths[0]), line[1].rjust(widths[1]), line[2].ljust(widths[2])]
        out.append("  ".join([*cells, line[3]]))
    return "\n".join(out)


_STYLE = {
    "waiting": "yellow",
    "interrupted": "yellow",
    "side-by-side": "yellow",
    "scratch": "dim",
    "stray": "bold red",
}


def show(report: Report, plain: bool) -> None:
    """A rich table on a terminal (when rich is installed), plain text otherwise."""
    console = None
    if not plain and sys.stdout.isatty():
        try:
            from rich.console import Console

            console = Console()
        except ImportError:
            console = None
    if console is None:
        print(plain_text(report))
        return
    from rich.table import Table

    console.print(summary(report), style="bold red" if report.problems else "bold green")
    for p in report.problems:
        console.print(f"  problem: {p['message']}", style="red", highlight=False, soft_wrap=True)
    for n in report.notes:
        console.print(f"  note: {n['message']}", style="yellow", highlight=False, soft_wrap=True)
    facts = Table(show_header=False, box=None)
    facts.add_column(style="bold")
    facts.add_column()
    for label, text in detail_lines(report):
        facts.add_row(label, text)
    console.print(facts)
    files = Table(title="rotated files", title_justify="left")
    for header, justify in (("name", "left"), ("bytes", "right"), ("modified", "left")):
        files.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    files.add_column("state")
    for row in report.files:
        files.add_row(*_file_cells(row), style=_STYLE.get(row["state"]))
    for row in report.outside:
        files.add_row(*_file_cells(row)[:3], "OUTSIDE THE SCHEME", style="bold red")
    console.print(files)
