"""How long after a rollover a writer can still append to the renamed file: the window a
log shipper must keep reading a rotated file for.

A shipper that follows ``app.log`` by name (rsyslog imfile, Fluent Bit, Filebeat, Vector)
sees the rollover as an inotify ``IN_MOVED_TO`` of the new name; a writer that passed its
rollover check just before the rename appends once more to the renamed file, which the
shipper sees as an ``IN_MODIFY`` of that name. This script watches the folder with
inotify exactly as a shipper does and, for every rotated file, measures the time from its
rename to its last write, for three kinds of rotation:

- ``size``: ``RotatingFileHandler(maxBytes=...)``;
- ``time``: ``TimedRotatingFileHandler(when="S")``;
- ``time+size``: ``TimedRotatingFileHandler(when="S", maxBytes=...)``;
- ``first``: the first rollover of a fresh log (``when="S"``), repeated on new folders;

each in the default mode and with ``lock_every_write=True`` (strict)::

    .venv/bin/python benchmarks/shipper_window.py [--procs 3] [--seconds 3] [--json out.json]

Linux only (inotify through ctypes).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import functools
import json
import logging
import multiprocessing
import os
import select
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import lockrotate
from lockrotate.bench.workload import Workload, run

IN_MODIFY, IN_MOVED_FROM, IN_MOVED_TO, IN_Q_OVERFLOW = 0x2, 0x40, 0x80, 0x4000
WATCHED = IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO
_EVENT = struct.Struct("iIII")


class Watcher(threading.Thread):
    """Reads the folder's inotify events as they come; notes when each name was moved to
    and when it was last modified."""

    def __init__(self, folder: str, base: str = "app.log") -> None:
        super().__init__(daemon=True)
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK)
        if self.fd < 0 or libc.inotify_add_watch(self.fd, folder.encode(), WATCHED) < 0:
            raise OSError(ctypes.get_errno(), "inotify")
        self.base = base
        # Each rename of the base file is one rotation; a rotated file keeps its rotation
        # through later renames (backup shifting: app.log.1 -> app.log.2).
        self.renamed_at: list[float] = []
        self.last_late: dict[int, float] = {}
        self.rotation_of: dict[str, int] = {}
        self.moving: dict[int, int | None] = {}
        self.overflow = False
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if not ready:
                continue
            data = os.read(self.fd, 1 << 20)
            now = time.monotonic()
            offset = 0
            while offset < len(data):
                _, mask, cookie, length = _EVENT.unpack_from(data, offset)
                name = data[offset + 16 : offset + 16 + length].rstrip(b"\0").decode()
                offset += 16 + length
                if mask & IN_Q_OVERFLOW:
                    self.overflow = True
                elif mask & IN_MOVED_FROM:
                    if name == self.base:
                        self.renamed_at.append(now)
                        self.moving[cookie] = len(self.renamed_at) - 1
                    else:
                        self.moving[cookie] = self.rotation_of.pop(name, None)
                elif mask & IN_MOVED_TO:
                    rotation = self.moving.pop(cookie, None)
                    if rotation is not None:
                        self.rotation_of[name] = rotation
                elif mask & IN_MODIFY and name in self.rotation_of:
                    # A write to a rotated file after its rename (events come in order).
                    self.last_late[self.rotation_of[name]] = now

    def stop(self) -> None:
        self.stopping.set()
        self.join()
        os.close(self.fd)

    def windows(self) -> list[float | None]:
        """Per rotated file, seconds from its rename to the last write into it after the
        rename (0.0: in the same read of the events), or None if nothing was written."""
        return [
            (self.last_late[i] - at) if i in self.last_late else None
            for i, at in enumerate(self.renamed_at)
        ]


def measure(factory: Callable[[str], logging.Handler], workload: Workload) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        logs = os.path.join(folder, "logs")
        os.mkdir(logs)
        watcher = Watcher(logs)
        watcher.start()
        try:
            result = run(workload, factory, logs, os.path.join(folder, "results"))
            time.sleep(0.2)
        finally:
            watcher.stop()
        assert not result.crashed and result.handler_errors == 0
        windows = watcher.windows()
        return {"windows": windows, "overflow": watcher.overflow, "records": result.records}


def summary(name: str, windows: list[float | None], overflow: bool) -> dict[str, Any]:
    late = sorted(w for w in windows if w is not None)
    line = {
        "kind": name,
        "rollovers": len(windows),
        "late_writes": len(late),
        "max_ms": round(max(late, default=0.0) * 1000, 3),
        "p99_ms": round(late[int(0.99 * (len(late) - 1))] * 1000, 3) if late else 0.0,
        "inotify_overflow": overflow,
    }
    print(
        f"{name:<14} rollovers {line['rollovers']:>5}  renamed files written after the "
        f"rename {line['late_writes']:>4}  longest {line['max_ms']:>9.3f} ms"
        + ("  (inotify queue overflowed)" if overflow else "")
    )
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--procs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--pace", type=float, default=0.0002, help="sleep after each record")
    parser.add_argument("--fresh", type=int, default=5, help="fresh logs for 'first'")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    workload = Workload(
        procs=args.procs, threads=1, seconds=args.seconds, pace=args.pace, start="fork"
    )
    lines = []
    for strict in (False, True):
        mode = "strict" if strict else "default"
        kinds: dict[str, Callable[[str], logging.Handler]] = {
            "size": functools.partial(
                lockrotate.RotatingFileHandler,
                maxBytes=20000,
                backupCount=100000,
                lock_every_write=strict,
            ),
            "time": functools.partial(
                lockrotate.TimedRotatingFileHandler, when="S", lock_every_write=strict
            ),
            "time+size": functools.partial(
                lockrotate.TimedRotatingFileHandler,
                when="S",
                maxBytes=20000,
                lock_every_write=strict,
            ),
        }
        for kind, factory in kinds.items():
            got = measure(factory, workload)
            lines.append(summary(f"{kind}/{mode}", got["windows"], got["overflow"]))
        first: list[float | None] = []
        overflow = False
        for _ in range(args.fresh):
            short = Workload(procs=args.procs, threads=1, seconds=1.5, pace=args.pace, start="fork")
            got = measure(kinds["time"], short)
            overflow |= got["overflow"]
            first += got["windows"][:1]
        lines.append(summary(f"first/{mode}", first, overflow))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(lines, f, indent=1)


if __name__ == "__main__":
    multiprocessing.set_start_method("fork")
    main()
