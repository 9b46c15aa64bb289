"""The root command: the ``lockrotate`` script and ``python -m lockrotate`` are one function,
which hands ``status`` and ``bench`` their own arguments."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import lockrotate.__main__
from lockrotate import _cli

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lockrotate", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_script_and_module_share_one_main() -> None:
    with open(ROOT / "pyproject.toml", "rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    assert scripts == {"lockrotate": "lockrotate._cli:main"}
    assert lockrotate.__main__.main is _cli.main


@pytest.mark.parametrize("command", ["status", "bench"])
def test_each_command_gets_its_own_help(command: str) -> None:
    done = run(command, "--help")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: lockrotate {command} ")


def test_root_help_lists_the_commands() -> None:
    done = run("--help")
    assert done.returncode == 0
    assert all(f"  {name} " in done.stdout for name in _cli.COMMANDS)


@pytest.mark.parametrize("args", [[], ["nosuch"], ["--json"]])
def test_no_or_unknown_command_is_one_line_and_exit_2(args: list[str]) -> None:
    done = run(*args)
    assert done.returncode == _cli.EXIT_USAGE
    assert done.stderr.startswith("lockrotate: error: ") and done.stderr.count("\n") == 1


def test_status_runs_through_the_root(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("one line\n")
    assert _cli.main(["status", str(log), "--json"]) == 0
    done = run("status", str(log), "--json")
    assert done.returncode == 0, done.stderr
    assert '"schema"' in done.stdout


def test_the_handlers_never_import_the_bench(tmp_path: Path) -> None:
    """bench/ ships in the wheel for ``lockrotate bench``; logging never loads it."""
    code = (
        "import logging, sys, lockrotate\n"
        f"handler = lockrotate.TimedRotatingFileHandler({str(tmp_path / 'a.log')!r}, when='S')\n"
        "logging.getLogger('x').addHandler(handler)\n"
        "logging.getLogger('x').warning('one record')\n"
        "handler.doRollover()\n"
        "handler.close()\n"
        "print(sorted(m for m in sys.modules if m.startswith('lockrotate.bench')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
