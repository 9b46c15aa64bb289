"""Windows: one clear refusal at construction, never an error from deep inside.

lockrotate is not correct without ``flock`` and atomic ``O_APPEND`` (docs/platforms.md), so
on a system without ``fcntl`` the package imports, and each handler refuses at construction
with one error that says what to use instead. Windows itself is not available here: hiding
the POSIX-only modules (``fcntl``, ``pwd``, ``grp``) in a fresh interpreter simulates it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

WITHOUT_POSIX = """
import json, logging.config, os, sys, traceback
for name in ("fcntl", "pwd", "grp"):
    sys.modules[name] = None  # import raises ImportError, as on Windows
import lockrotate
from lockrotate import RotatingFileHandler, TimedRotatingFileHandler

folder = sys.argv[1]
results = {}
builders = {
    "size": lambda: RotatingFileHandler(os.path.join(folder, "a.log"), maxBytes=10, backupCount=1),
    "time": lambda: TimedRotatingFileHandler(os.path.join(folder, "b.log"), when="S"),
    "dictConfig": lambda: logging.config.dictConfig({
        "version": 1,
        "handlers": {"f": {"class": "lockrotate.RotatingFileHandler",
                           "filename": os.path.join(folder, "c.log")}},
    }),
}
for name, build in builders.items():
    try:
        build()
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        results[name] = [type(exc).__name__, str(exc), frames[-1].name,
                         repr(exc.__cause__ or exc.__context__)]
    else:
        results[name] = None
print(json.dumps({"results": results, "files": sorted(os.listdir(folder))}))
"""


@pytest.fixture(scope="module")
def without_posix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("nt")
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_POSIX, str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr  # the import itself did not fail
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("name", ["size", "time"])
def test_each_handler_refuses_at_construction(without_posix: dict[str, object], name: str) -> None:
    results = without_posix["results"]
    assert isinstance(results, dict)
    kind, message, frame, _ = results[name]
    assert kind == "NotImplementedError"
    assert frame == "require_posix"  # before any file, lock or thread is touched
    for hint in ("POSIX", "Windows", "QueueHandler", "QueueListener", "docs/platforms.md"):
        assert hint in message


def test_dictconfig_reports_the_same_error(without_posix: dict[str, object]) -> None:
    results = without_posix["results"]
    assert isinstance(results, dict)
    kind, message, _, cause = results["dictConfig"]
    assert (kind, message) == ("ValueError", "Unable to configure handler 'f'")
    assert cause.startswith("NotImplementedError(") and "Windows" in cause


def test_nothing_is_created(without_posix: dict[str, object]) -> None:
    assert without_posix["files"] == []


def test_on_posix_the_check_passes(tmp_path: Path) -> None:
    from lockrotate import RotatingFileHandler
    from lockrotate._system import POSIX

    assert POSIX
    RotatingFileHandler(tmp_path / "app.log").close()
