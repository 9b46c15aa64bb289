"""Servers started and always stopped, an HTTP client that keeps count, and the verdict."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from _docs import ROOT, recipe
from lockrotate.bench.verify import Report, log_files, record_text, verify

EXAMPLES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
STARTUP_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 10.0


def check(
    name: str, folder: str, base: str, expected: Mapping[str, int], extra: Sequence[str] = ()
) -> Report:
    """Verify every regular file of the log and note the counts for the report.

    Symlinks are left out: a test that plants one must not have its target read as a log.
    Set ``LOCKROTATE_INTEGRATION_LOG`` to a path to collect one JSON line per scenario.
    """
    files = [path for path in log_files(folder, base) if not os.path.islink(path)]
    files += extra
    report = verify(files, expected)
    line = {
        "scenario": name,
        "expected": report.expected,
        "found": report.found,
        "lost": report.lost,
        "dup": report.duplicated,
        "torn": report.torn,
        "out_of_order": report.out_of_order,
        "unexpected": report.unexpected,
        "files": report.files,
    }
    out = os.environ.get("LOCKROTATE_INTEGRATION_LOG")
    if out:
        with open(out, "a") as f:
            f.write(json.dumps(line) + "\n")
    print(line)
    return report


@dataclass
class Server:
    """A server process in its own session, so that stopping it stops all its children."""

    proc: subprocess.Popen[bytes]
    stderr_path: str

    @classmethod
    def start(
        cls,
        argv: Sequence[str],
        stderr_path: str,
        pass_fds: Sequence[int] = (),
        stdout_path: str | None = None,
        **kw: object,
    ) -> Server:
        """Start *argv*; its stdout is a pipe to read from, or the file *stdout_path*."""
        with contextlib.ExitStack() as files:
            err = files.enter_context(open(stderr_path, "wb"))
            out = (
                subprocess.PIPE
                if stdout_path is None
                else files.enter_context(open(stdout_path, "wb"))
            )
            proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                pass_fds=pass_fds,
                **kw,  # type: ignore[call-overload]
            )
        return cls(proc, stderr_path)

    def read_line(self, timeout: float = STARTUP_TIMEOUT) -> str:
        """The next line the server prints on stdout, waiting at most *timeout* seconds."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"no output within {timeout} s; stderr: {self.stderr()}")
        return self.proc.stdout.readline().decode()

    def stderr(self) -> str:
        with open(self.stderr_path, errors="replace") as f:
            return f.read()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Signal the whole session, then kill what is left of it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(STOP_TIMEOUT)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(STOP_TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@contextlib.contextmanager
def serving(server: Server) -> Iterator[Server]:
    try:
        yield server
    finally:
        server.stop()


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def lines_in(path: str) -> int:
    with open(path, "rb") as f:
        return f.read().count(b"\n")


def wait_for_lines(path: str, want: int, quiet: float = 2.0, timeout: float = 30.0) -> int:
    """Wait until *path* has *want* lines, or stops growing for *quiet* seconds."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while True:
        count = lines_in(path) if os.path.exists(path) else 0
        now = time.monotonic()
        if count != last:
            last, since = count, now
        if count >= want or now - since >= quiet or now >= deadline:
            return count
        time.sleep(0.1)


def probe(base: str, out: str, timeout: float = 30.0) -> dict[str, int]:
    """Append one record to the log *base* and wait until the tool that follows it has put
    it in *out*: then the tool is watching before the test's writers start (a file rotated
    before a follower starts is not the follower's to miss). Returns the record's count, to
    add to the records expected in the log and in *out*."""
    with open(base, "a") as f:
        f.write(record_text("probe", 0) + "\n")
    assert wait_for_lines(out, 1, quiet=timeout, timeout=timeout) == 1, f"nothing reached {out}"
    return {"probe": 1}


def wait_healthy(port: int, server: Server, timeout: float = STARTUP_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            status, _ = get(port, "/health")
        except OSError:
            status = 0
        if status == 200:
            return
        if server.proc.poll() is not None or time.monotonic() >= deadline:
            raise RuntimeError(f"server not healthy; stderr:\n{server.stderr()}")
        time.sleep(0.05)


@dataclass
class Load:
    """What the clients sent: records the server acknowledged, and who served them."""

    expected: dict[str, int] = field(default_factory=dict)
    pids: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)


def hammer(port: int, clients: int, seconds: float, max_requests: int, size: int = 100) -> Load:
    """*clients* threads send requests for *seconds* (at most *max_requests* each).

    A writer's sequence numbers are only those the server answered 200: a request that
    failed ends that client, so every expected record is one the server said it logged.
    """
    load = Load()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        writer = f"c{index}"
        seq = 0
        pids: set[str] = set()
        try:
            while seq < max_requests and time.monotonic() < deadline:
                message = urllib.parse.quote(record_text(writer, seq, size))
                status, body = get(port, f"/log?msg={message}")
                if status != 200:
                    raise RuntimeError(f"{writer} {seq}: HTTP {status} {body[:200]!r}")
                pids.add(body.decode())
                seq += 1
        except Exception as exc:
            with lock:
                load.failures.append(f"{writer} {seq}: {exc!r}")
        with lock:
            load.expected[writer] = seq
            load.pids |= pids

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return load


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago, for servers that must bind it themselves."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def wait_port(port: int, server: Server, timeout: float = STARTUP_TIMEOUT) -> None:
    """Wait until something accepts connections on 127.0.0.1:*port*; fail if *server* died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            pass
        if server.proc.poll() is not None or time.monotonic() >= deadline:
            raise RuntimeError(f"nothing listens on {port}; stderr:\n{server.stderr()}")
        time.sleep(0.05)


def logging_errors(*texts: str) -> list[str]:
    """The stderr texts that report a ``logging`` handler error (a traceback in a handler)."""
    return [text for text in texts if "--- Logging error ---" in text]


def assert_all_logged(name: str, load: Load, stderr: str, folder: str) -> None:
    """Every request a server's workers answered left its record once, whole, in both the
    size- and the time-rotated log, over several rollovers, and no logging error."""
    assert not load.failures, load.failures
    assert len(load.pids) > 1, "every request went to one worker: the test proves nothing"
    for base in ("timed.log", "size.log"):
        report = check(f"{name} {base}", folder, base, load.expected)
        assert report.ok, report.examples
        assert report.files >= 4, "too few rollovers to prove anything"
    assert not logging_errors(stderr), stderr


def serve_recipe(
    name: str, folder: str, scratch: str, extra: Sequence[str] = ()
) -> tuple[Load, str]:
    """Run the docs' command line *name* (plus *extra* arguments) from the repository root,
    as ``_docs.recipe`` gives it (the log folder *folder*, a free port for 8000); send it
    load, stop it; return the load and its stderr."""
    port = free_port()
    argv, env = recipe(name, folder, port)
    server = Server.start(
        [*argv, *extra],
        os.path.join(scratch, "server.err"),
        stdout_path=os.path.join(scratch, "server.out"),
        cwd=ROOT,
        env=env,
    )
    with serving(server):
        wait_healthy(port, server)
        load = hammer(port, clients=4, seconds=3.5, max_requests=1500)
    return load, server.stderr()
