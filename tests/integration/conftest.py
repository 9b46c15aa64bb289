"""Fixtures for the integration tests: real tools, found or required, and a log folder."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def need_tool() -> Callable[[str], str]:
    """Return the path of a program; in CI (``CI`` set) a missing program fails the test."""

    def need(name: str) -> str:
        path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
        if path is None:
            message = f"{name} is not installed (apt-get install it)"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        return path

    return need


@pytest.fixture
def folder(tmp_path: Path) -> str:
    """An empty folder for the log files, apart from the test's own scratch files."""
    path = tmp_path / "logs"
    path.mkdir()
    return str(path)


@pytest.fixture
def scratch(tmp_path: Path) -> str:
    path = tmp_path / "scratch"
    path.mkdir()
    return str(path)
