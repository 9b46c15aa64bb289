"""Shipped to a central collector: rsyslog imfile (inotify) -> RELP -> central rsyslog.

Both rsyslog instances run in the foreground with the example configs (paths and port
moved into the test's folders). Three processes write through lockrotate, which rolls the
file over every 50 kB (about 5 times a second here); in the middle of the run the
collector is stopped and started again.

With ``lock_every_write=True`` every record must reach the collector exactly once. In the
default mode a writer may append a record to a file just after another process renamed it
(it notices the rollover at its next record); imfile may already have read that file to its
end and let go, so such a record stays on disk but is never shipped. The default-mode test
shows exactly that: what the collector misses is only ever the tail of a rotated file.
"""

from __future__ import annotations

import functools
import glob
import os
import threading
import time
from collections.abc import Callable

import pytest

import lockrotate
from lockrotate.bench.verify import log_files, read_bytes
from lockrotate.bench.workload import Workload, run

from ._support import EXAMPLES, Server, check, free_port, probe, wait_for_lines, wait_port

WORKLOAD = Workload(procs=3, threads=1, seconds=5.0, pace=0.0005, start="fork")
MAX_BYTES = 50_000
OUTAGE_AT, OUTAGE = 1.5, 1.5


def config(name: str, scratch: str, replace: dict[str, str]) -> str:
    """The example config *name* with its paths and port replaced; its work folder made."""
    with open(os.path.join(EXAMPLES, "rsyslog", name)) as f:
        text = f.read()
    for old, new in replace.items():
        assert old in text, f"{old} is not in {name}"
        text = text.replace(old, new)
    path = os.path.join(scratch, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def ship(
    need_tool: Callable[[str], str], folder: str, scratch: str, strict: bool
) -> tuple[dict[str, int], str]:
    """Write while both rsyslogs run and the collector restarts; return the records written
    (writer: count) and the collector's output folder."""
    rsyslogd = need_tool("rsyslogd")
    if not glob.glob("/usr/lib/*/rsyslog/omrelp.so") + glob.glob("/usr/lib/rsyslog/omrelp.so"):
        need_tool("omrelp (apt-get install rsyslog-relp)")
    port = free_port()
    out = os.path.join(scratch, "central-out")
    for sub in ("edge", "central", "central-out"):
        os.mkdir(os.path.join(scratch, sub))
    edge_conf = config(
        "edge.conf",
        scratch,
        {
            "/var/spool/rsyslog-edge": os.path.join(scratch, "edge"),
            "/var/log/myapp/app.log": os.path.join(folder, "app.log"),
            "2514": str(port),
        },
    )
    central_conf = config(
        "central.conf",
        scratch,
        {
            "/var/spool/rsyslog-central": os.path.join(scratch, "central"),
            "/var/log/central/myapp.log": os.path.join(out, "myapp.log"),
            "2514": str(port),
        },
    )

    def start_central(round_: int) -> Server:
        argv = [rsyslogd, "-n", "-f", central_conf, "-i", os.path.join(scratch, "central.pid")]
        server = Server.start(
            argv,
            os.path.join(scratch, f"central{round_}.err"),
            stdout_path=os.path.join(scratch, f"central{round_}.out"),
        )
        wait_port(port, server)
        return server

    servers: list[Server] = []
    try:
        servers.append(start_central(0))
        edge_argv = [rsyslogd, "-n", "-f", edge_conf, "-i", os.path.join(scratch, "edge.pid")]
        edge = Server.start(
            edge_argv,
            os.path.join(scratch, "edge.err"),
            stdout_path=os.path.join(scratch, "edge.out"),
        )
        servers.append(edge)
        # One record through the whole chain: imfile watches and RELP is connected.
        probed = probe(os.path.join(folder, "app.log"), os.path.join(out, "myapp.log"))

        outage: list[float] = []

        def restart_central() -> None:
            time.sleep(OUTAGE_AT)
            outage.append(time.monotonic())
            servers[0].stop()
            time.sleep(OUTAGE)
            servers[0] = start_central(1)
            outage.append(time.monotonic())

        restarter = threading.Thread(target=restart_central)
        restarter.start()
        factory = functools.partial(
            lockrotate.RotatingFileHandler,
            maxBytes=MAX_BYTES,
            backupCount=100000,
            lock_every_write=strict,
        )
        result = run(WORKLOAD, factory, folder, os.path.join(scratch, "results"))
        restarter.join()
        expected = {**result.expected, **probed}
        wait_for_lines(os.path.join(out, "myapp.log"), sum(expected.values()), 5.0, 60.0)
    finally:
        for server in servers:
            server.stop()
    assert result.crashed == [] and result.handler_errors == 0
    assert len(outage) == 2 and outage[1] - outage[0] >= OUTAGE
    written = check("relp: files written", folder, "app.log", expected)
    assert written.ok, written.examples
    assert written.files >= 8, "too few rollovers to prove anything"
    return expected, out


@pytest.mark.slow
def test_relp_strict_exactly_once_across_collector_restart(
    need_tool: Callable[[str], str], folder: str, scratch: str
) -> None:
    expected, out = ship(need_tool, folder, scratch, strict=True)
    report = check("imfile -> RELP -> central, restarted, strict", out, "myapp.log", expected)
    assert report.ok, report.examples


@pytest.mark.slow
def test_relp_default_mode_misses_only_late_appends(
    need_tool: Callable[[str], str], folder: str, scratch: str
) -> None:
    expected, out = ship(need_tool, folder, scratch, strict=False)
    report = check("imfile -> RELP -> central, restarted, default", out, "myapp.log", expected)
    assert (report.torn, report.duplicated, report.out_of_order, report.unexpected) == (0, 0, 0, 0)
    assert report.found + report.lost == report.expected
    shipped = set(keys(read_bytes(os.path.join(out, "myapp.log"))))
    for path in log_files(folder, "app.log"):
        missed = [key not in shipped for key in keys(read_bytes(path))]
        # What was not shipped is a tail of a rotated file: never the current file, never
        # a record with a shipped record after it in the same file.
        tail = missed[missed.index(True) :] if True in missed else []
        assert all(tail), f"{path}: a record in the middle was not shipped"
        assert not (tail and path == os.path.join(folder, "app.log")), path
        print({"file": os.path.basename(path), "records": len(missed), "not shipped": len(tail)})


def keys(data: bytes) -> list[bytes]:
    """The ``writer seq`` of every line."""
    return [b" ".join(line.split(b" ", 2)[:2]) for line in data.split(b"\n") if line]
