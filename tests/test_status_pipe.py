"""``lockrotate status`` into a pipe whose reader has gone (``| head -2``): no traceback."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

import lockrotate

SRC = str(Path(__file__).resolve().parent.parent / "src")


@pytest.mark.parametrize("form", ["--plain", "--json"])
def test_a_closed_pipe_ends_status_quietly(tmp_path: Path, form: str) -> None:
    path = str(tmp_path / "app.log")
    handler = lockrotate.RotatingFileHandler(path, maxBytes=200, backupCount=50)
    for seq in range(200):
        handler.emit(logging.makeLogRecord({"msg": f"record {seq} " + "x" * 60}))
    handler.close()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [SRC, os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "lockrotate", "status", path, form],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # the reader goes before status writes a byte
    _, err = proc.communicate(timeout=60)
    assert err.decode() == ""
    assert proc.returncode == 0  # healthy: a closed pipe is not "needs attention"


def test_the_note_says_when_the_lock_file_appears(tmp_path: Path) -> None:
    path = str(tmp_path / "app.log")
    handler = lockrotate.RotatingFileHandler(path, maxBytes=10_000, backupCount=2)
    handler.emit(logging.makeLogRecord({"msg": "one record, no rollover yet"}))
    handler.close()
    out = subprocess.run(
        [sys.executable, "-m", "lockrotate", "status", path, "--plain"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SRC},
        check=True,
    ).stdout
    assert "no handler has opened" not in out
    assert "at its first rollover" in out
