"""Reading the folder: the base file, every rotated file by the core's own inventory, names
outside the scheme, scratch files, and the period file."""

from __future__ import annotations

import os
import sys
from typing import Any

from .._archive import Entry, FileInfo, Inventory, Scheme, State, repair
from .._compress import EXTENSIONS
from .._files import READ, Identity
from .._ledger import PERIOD_WIDTH, parse_entry
from .._naming import (
    NumberedScheme,
    TimedScheme,
    companion_names,
    hidden_stem,
    period_path,
    scratch_is_ours,
)
from .._schedule import TimeSchedule, make_schedule
from .report import OVERSIZE_FACTOR, Options, Report, device_text


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
        row["alive"] = item.alive()
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
    companions = set(companion_names(base_name)) if options.lock_dir is None else set()
    for name in sorted(names):
        if name in claimed or name in companions:
            continue
        if not (name.startswith(base_name + ".") or name.startswith(stem + ".")):
            continue
        info = FileInfo.of(os.path.join(folder, name))
        if info is None:
            continue
        reason = _outside_reason(name, base_name, options.lock_dir)
        row = _info(info, "outside", "none", now)
        row["reason"] = reason
        report.outside.append(row)
        report.problem("outside_scheme", f"{info.path}: {reason}")
    return claimed


def _outside_reason(name: str, base_name: str, lock_dir: str | None) -> str:
    stem = hidden_stem(base_name)
    if lock_dir is not None and name in companion_names(base_name):
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
    present = sorted(entry.slot for entry in numbered.entries if isinstance(entry.slot, int))
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
        "device": device_text(st.st_dev),
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


def read_period(report: Report, base: Identity | None) -> None:
    options = report.options
    path = period_path(options.path, options.lock_dir)
    try:
        fd = os.open(path, READ)
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
        "device": device_text(identity[0]),
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
