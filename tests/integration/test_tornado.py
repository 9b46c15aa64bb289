"""Tornado's ``fork_processes``: children share one log and roll it over together.

The command line is the one docs/servers/tornado.md shows (``_docs.recipe``), with the
test's own handler options added."""

from __future__ import annotations

import os

import pytest

from _docs import ROOT, recipe

from ._support import Server, check, free_port, hammer, serving, wait_healthy

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("build", "kind"), [("after", "timed"), ("before", "timed"), ("after", "size")]
)
def test_tornado_fork_processes(build: str, kind: str, folder: str, scratch: str) -> None:
    port = free_port()
    argv, env = recipe("tornado", folder, port)
    argv += ["--build", build, "--kind", kind, "--log", os.path.join(folder, "app.log")]
    argv += ["--max-bytes", "8000"]
    err = os.path.join(scratch, "server.err")
    with serving(Server.start(argv, err, cwd=ROOT, env=env)) as server:
        assert f"port {port}" in server.read_line()
        wait_healthy(port, server)
        load = hammer(port, clients=4, seconds=3.5, max_requests=1500)
        stderr = server.stderr()

    assert not load.failures, load.failures
    assert len(load.pids) > 1, "every request went to one child: the test proves nothing"
    report = check(f"tornado build={build} kind={kind}", folder, "app.log", load.expected)
    assert report.ok, report.examples
    assert report.files >= 4, "too few rollovers to prove anything"
    assert "--- Logging error ---" not in stderr, stderr
