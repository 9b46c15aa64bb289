"""uWSGI with 4 worker processes, with and without ``--lazy-apps``.

Without ``--lazy-apps`` the master imports the app (which configures logging) and forks the
workers, which inherit the handlers; with it, every worker imports the app and builds its
own handlers. uWSGI is built from pip (a C compiler and the Python headers). The command
line is the one docs/servers/uwsgi.md shows (``_docs.recipe``).
"""

from __future__ import annotations

import os
import sys

import pytest

from ._support import assert_all_logged, serve_recipe


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
    uwsgi_program()
    load, stderr = serve_recipe("uwsgi", folder, scratch, ["--lazy-apps"] if lazy else [])

    name = "lazy-apps" if lazy else "master imports"
    assert_all_logged(f"uwsgi --processes 4 ({name})", load, stderr, folder)
