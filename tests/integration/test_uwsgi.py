"""uWSGI with 4 worker processes, with and without ``--lazy-apps``.

Without ``--lazy-apps`` the master imports the app (which configures logging) and forks the
workers, which inherit the handlers; with it, every worker imports the app and builds its
own handlers. uWSGI is built from pip (a C compiler and the Python headers).
"""

from __future__ import annotations

import os
import sys

import pytest

from ._support import (
    EXAMPLES,
    Server,
    assert_all_logged,
    free_port,
    hammer,
    serving,
    wait_healthy,
)


def uwsgi_program() -> str:
    """uWSGI from this environment's pip install; in CI its absence fails the test."""
    path = os.path.join(os.path.dirname(sys.executable), "uwsgi")
    if not os.path.exists(path):
        message = "uwsgi is not installed (pip install uwsgi: needs gcc and python3-dev)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("lazy", [False, True], ids=["master-imports", "lazy-apps"])
def test_uwsgi_processes(lazy: bool, folder: str, scratch: str) -> None:
    port = free_port()
    argv = [
        uwsgi_program(), "--ini", os.path.join(EXAMPLES, "uwsgi.ini"),
        "--http-socket", f"127.0.0.1:{port}", "--virtualenv", sys.prefix,
        *(["--lazy-apps"] if lazy else []),
    ]  # fmt: skip
    env = {**os.environ, "LOCKROTATE_LOG_DIR": folder}
    server = Server.start(
        argv,
        os.path.join(scratch, "uwsgi.err"),
        stdout_path=os.path.join(scratch, "uwsgi.out"),
        env=env,
    )
    with serving(server):
        wait_healthy(port, server)
        load = hammer(port, clients=4, seconds=3.5, max_requests=1500)
        stderr = server.stderr()

    name = "lazy-apps" if lazy else "master imports"
    assert_all_logged(f"uwsgi --processes 4 ({name})", load, stderr, folder)
