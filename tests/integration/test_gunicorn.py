"""gunicorn sync workers with ``--log-config``: both handlers, with and without --preload.

The command line is the one docs/servers/gunicorn.md shows (``_docs.recipe``)."""

from __future__ import annotations

import pytest

from ._support import assert_all_logged, serve_recipe

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("preload", [False, True], ids=["no-preload", "preload"])
def test_gunicorn_sync_workers(preload: bool, folder: str, scratch: str) -> None:
    extra = ["--preload"] if preload else []
    load, stderr = serve_recipe("gunicorn", folder, scratch, extra)
    name = "preload" if preload else "no-preload"
    assert_all_logged(f"gunicorn {name}", load, stderr, folder)
