"""gunicorn sync workers with ``--log-config``: both handlers, with and without --preload."""

from __future__ import annotations

import os
import sys

import pytest

from ._support import EXAMPLES, assert_all_logged, serve_and_load

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("preload", [False, True], ids=["no-preload", "preload"])
def test_gunicorn_sync_workers(preload: bool, folder: str, scratch: str) -> None:
    # gunicorn takes the listening socket from us (fd://): bound to 127.0.0.1, any free port.
    argv = [
        sys.executable, "-m", "gunicorn", "--workers", "3", "--worker-class", "sync",
        "--bind", "fd://{fd}", "--log-config", os.path.join(EXAMPLES, "gunicorn_logging.ini"),
        "--timeout", "30", *(["--preload"] if preload else []), "gunicorn_app:app",
    ]  # fmt: skip
    load, stderr = serve_and_load(argv, folder, scratch)

    name = "preload" if preload else "no-preload"
    assert_all_logged(f"gunicorn {name}", load, stderr, folder)
