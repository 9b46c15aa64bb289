"""ASGI: uvicorn's own worker pool and gunicorn's UvicornWorker, serving a Starlette app.

uvicorn spawns each worker as a fresh interpreter that reads ``--log-config`` itself (ini
through ``fileConfig``, JSON through ``dictConfig``); gunicorn reads it once in the master and
forks. Either way every worker writes through its own lockrotate handler to the same files,
rolled over every second and every 20 kB (``timed.log``) or every 20 kB (``size.log``).
Each command line is the one docs/servers/ shows (``_docs.recipe``).
"""

from __future__ import annotations

import pytest

from ._support import assert_all_logged, serve_recipe


@pytest.mark.slow
@pytest.mark.parametrize("name", ["uvicorn-ini", "uvicorn-json"])
def test_uvicorn_workers(name: str, folder: str, scratch: str) -> None:
    load, stderr = serve_recipe(name, folder, scratch)
    assert_all_logged(f"{name}: uvicorn --workers 4", load, stderr, folder)


@pytest.mark.slow
@pytest.mark.parametrize("preload", [False, True], ids=["no-preload", "preload"])
def test_gunicorn_uvicorn_worker(preload: bool, folder: str, scratch: str) -> None:
    extra = ["--preload"] if preload else []
    load, stderr = serve_recipe("gunicorn-uvicorn", folder, scratch, extra)
    name = "preload" if preload else "no-preload"
    assert_all_logged(f"gunicorn UvicornWorker {name}", load, stderr, folder)
