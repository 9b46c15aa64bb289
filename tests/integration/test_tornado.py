"""Tornado's ``fork_processes``: children share one log and roll it over together."""

from __future__ import annotations

import os
import sys

import pytest

from ._support import Server, check, hammer, serving, wait_healthy

pytestmark = pytest.mark.slow

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "tornado_app.py")


@pytest.mark.parametrize(
    ("build", "kind"), [("after", "timed"), ("before", "timed"), ("after", "size")]
)
def test_tornado_fork_processes(build: str, kind: str, folder: str, scratch: str) -> None:
    argv = [
        sys.executable, EXAMPLE, "--procs", "3", "--build", build, "--kind", kind,
        "--log", os.path.join(folder, "app.log"), "--max-bytes", "8000",
    ]  # fmt: skip
    with serving(Server.start(argv, os.path.join(scratch, "server.err"))) as server:
        port = int(server.read_line().split()[1])
        wait_healthy(port, server)
        load = hammer(port, clients=4, seconds=3.5, max_requests=1500)
        stderr = server.stderr()

    assert not load.failures, load.failures
    assert len(load.pids) > 1, "every request went to one child: the test proves nothing"
    report = check(f"tornado build={build} kind={kind}", folder, "app.log", load.expected)
    assert report.ok, report.examples
    assert report.files >= 4, "too few rollovers to prove anything"
    assert "--- Logging error ---" not in stderr, stderr
