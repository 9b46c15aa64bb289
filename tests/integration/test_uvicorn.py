"""ASGI: uvicorn's own worker pool and gunicorn's UvicornWorker, serving a Starlette app.

uvicorn spawns each worker as a fresh interpreter that reads ``--log-config`` itself (ini
through ``fileConfig``, JSON through ``dictConfig``); gunicorn reads it once in the master and
forks. Either way every worker writes through its own lockrotate handler to the same files,
rolled over every second and every 20 kB (``timed.log``) or every 20 kB (``size.log``).
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from ._support import EXAMPLES, assert_all_logged, serve_and_load


def json_config(folder: str, scratch: str) -> str:
    """The example's dictConfig with its file names moved into *folder*."""
    with open(os.path.join(EXAMPLES, "uvicorn_logging.json")) as f:
        config = json.load(f)
    for handler in config["handlers"].values():
        if "filename" in handler:
            handler["filename"] = os.path.join(folder, os.path.basename(handler["filename"]))
    path = os.path.join(scratch, "logging.json")
    with open(path, "w") as f:
        json.dump(config, f)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("config", ["ini", "json"])
def test_uvicorn_workers(config: str, folder: str, scratch: str) -> None:
    log_config = (
        os.path.join(EXAMPLES, "uvicorn_logging.ini")
        if config == "ini"
        else json_config(folder, scratch)
    )
    argv = [
        sys.executable, "-m", "uvicorn", "--workers", "4", "--fd", "{fd}",
        "--log-config", log_config, "--no-access-log", "--app-dir", EXAMPLES, "asgi_app:app",
    ]  # fmt: skip
    load, stderr = serve_and_load(argv, folder, scratch)
    assert_all_logged(f"uvicorn --workers 4 ({config})", load, stderr, folder)


@pytest.mark.slow
@pytest.mark.parametrize("preload", [False, True], ids=["no-preload", "preload"])
def test_gunicorn_uvicorn_worker(preload: bool, folder: str, scratch: str) -> None:
    argv = [
        sys.executable, "-m", "gunicorn", "--workers", "4", "-k", "uvicorn.workers.UvicornWorker",
        "--bind", "fd://{fd}", "--log-config", os.path.join(EXAMPLES, "uvicorn_logging.ini"),
        "--timeout", "30", *(["--preload"] if preload else []), "asgi_app:app",
    ]  # fmt: skip
    load, stderr = serve_and_load(argv, folder, scratch)
    name = "preload" if preload else "no-preload"
    assert_all_logged(f"gunicorn UvicornWorker {name}", load, stderr, folder)
