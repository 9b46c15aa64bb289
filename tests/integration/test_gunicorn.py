"""gunicorn sync workers with ``--log-config``: both handlers, with and without --preload."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from ._support import Server, assert_all_logged, hammer, serving, wait_healthy

pytestmark = pytest.mark.slow

EXAMPLES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "examples"))


@pytest.mark.parametrize("preload", [False, True], ids=["no-preload", "preload"])
def test_gunicorn_sync_workers(preload: bool, folder: str, scratch: str) -> None:
    # gunicorn takes the listening socket from us (fd://): bound to 127.0.0.1, any free port.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    port = listener.getsockname()[1]
    fd = listener.fileno()
    argv = [
        sys.executable, "-m", "gunicorn", "--workers", "3", "--worker-class", "sync",
        "--bind", f"fd://{fd}", "--log-config", os.path.join(EXAMPLES, "gunicorn_logging.ini"),
        "--timeout", "30", *(["--preload"] if preload else []), "gunicorn_app:app",
    ]  # fmt: skip
    env = {**os.environ, "LOCKROTATE_LOG_DIR": folder}
    try:
        server = Server.start(
            argv, os.path.join(scratch, "server.err"), pass_fds=[fd], cwd=EXAMPLES, env=env
        )
    finally:
        listener.close()
    with serving(server):
        wait_healthy(port, server)
        load = hammer(port, clients=4, seconds=3.5, max_requests=1500)
        stderr = server.stderr()

    name = "preload" if preload else "no-preload"
    assert_all_logged(f"gunicorn {name}", load, stderr, folder)
