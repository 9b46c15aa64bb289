"""Django's ``LOGGING`` setting, loaded by ``django.setup()`` in several processes at once.

Each process runs the command line docs/servers/django.md shows (``_docs.recipe``), with
its own writer name."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from _docs import ROOT, recipe

from ._support import check, logging_errors

PROCS = 4
RUN_TIMEOUT = 120.0


@pytest.mark.slow
def test_django_logging_setting_in_several_processes(folder: str, scratch: str) -> None:
    argv, env = recipe("django", folder)
    assert argv[-2:] == ["--writer", "p0"], argv
    procs = []
    try:
        for index in range(PROCS):
            mine = [*argv[:-1], f"p{index}", "--seconds", "3"]
            err = open(os.path.join(scratch, f"p{index}.err"), "wb")  # noqa: SIM115
            procs.append(
                subprocess.Popen(mine, stdout=subprocess.PIPE, stderr=err, env=env, cwd=ROOT)
            )
            err.close()
        outputs = [proc.communicate(timeout=RUN_TIMEOUT)[0] for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    stderrs = []
    for index in range(PROCS):
        with open(os.path.join(scratch, f"p{index}.err"), errors="replace") as f:
            stderrs.append(f.read())
    assert [proc.returncode for proc in procs] == [0] * PROCS, stderrs
    expected: dict[str, int] = {}
    for output in outputs:
        expected.update(json.loads(output))
    assert len(expected) == PROCS * 2
    for base in ("timed.log", "size.log"):
        report = check(f"django LOGGING, {PROCS} processes, {base}", folder, base, expected)
        assert report.ok, report.examples
        assert report.files >= 4, "too few rollovers to prove anything"
    assert not logging_errors(*stderrs), stderrs
