"""``chmod`` and ``owner``: every file carries them from the moment it has its name."""

from __future__ import annotations

import grp
import logging
import os
import pwd
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import lockrotate
from conftest import run_in_child
from lockrotate.bench.verify import record_text
from lockrotate.bench.workload import logger_for

NOBODY = pwd.getpwnam("nobody")
NOGROUP = grp.getgrgid(NOBODY.pw_gid)


@pytest.fixture(autouse=True)
def umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def write(handler: logging.Handler, count: int) -> None:
    logger = logger_for(handler, f"test_permissions.{id(handler)}")
    for seq in range(count):
        logger.info(record_text("w", seq))


def wait_for(path: Path) -> None:
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)


def every_file(folder: Path) -> dict[str, os.stat_result]:
    return {name: os.lstat(folder / name) for name in sorted(os.listdir(folder))}


@pytest.mark.parametrize("mode", [0o640, 0o666, 0o600])
def test_chmod_on_every_file_whatever_the_umask(tmp_path: Path, mode: int) -> None:
    handler = lockrotate.TimedRotatingFileHandler(
        str(tmp_path / "app.log"),
        when="H",
        maxBytes=250,
        compress="gzip",
        check_interval=0,
        chmod=mode,
    )
    write(handler, 3)
    deadline = time.monotonic() + 30
    while not list(tmp_path.glob("*.gz")) and time.monotonic() < deadline:
        time.sleep(0.05)
    handler.close()
    files = every_file(tmp_path)
    assert {".app.log.lock", ".app.log.period", "app.log"} <= set(files)
    assert any(name.endswith(".gz") for name in files)
    for name, st in files.items():
        # Companion files keep the owner and group bits only: whoever opens the lock can hold it.
        wanted = mode & 0o770 if name.startswith(".") else mode
        assert stat.S_IMODE(st.st_mode) == wanted, name


def test_owner_on_every_file(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test gives files away, which needs root (CI runs as root)")
    handler = lockrotate.RotatingFileHandler(
        str(tmp_path / "app.log"),
        maxBytes=250,
        backupCount=3,
        compress="gzip",
        check_interval=0,
        owner=(NOBODY.pw_name, NOGROUP.gr_name),
    )
    write(handler, 3)
    wait_for(tmp_path / "app.log.1.gz")
    handler.close()
    files = every_file(tmp_path)
    assert {".app.log.lock", "app.log", "app.log.1.gz"} <= set(files)
    for name, st in files.items():
        assert (st.st_uid, st.st_gid) == (NOBODY.pw_uid, NOGROUP.gr_gid), name


def test_a_new_base_file_has_its_mode_before_it_has_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[int] = []
    real_link = os.link

    def link(src: str, dst: str) -> None:
        seen.append(stat.S_IMODE(os.stat(src).st_mode))
        real_link(src, dst)

    monkeypatch.setattr(os, "link", link)
    handler = lockrotate.RotatingFileHandler(
        str(tmp_path / "app.log"), maxBytes=250, backupCount=3, chmod=0o604
    )
    write(handler, 3)
    handler.close()
    # The first base file, the lock file (no bits for others), the base file after the rollover.
    assert seen == [0o604, 0o600, 0o604]
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".new")]


def test_without_options_files_are_made_as_file_handler_makes_them(tmp_path: Path) -> None:
    ours = lockrotate.RotatingFileHandler(str(tmp_path / "app.log"), maxBytes=250, backupCount=3)
    write(ours, 3)
    ours.close()
    theirs = logging.FileHandler(str(tmp_path / "std.log"))
    theirs.close()
    expected = stat.S_IMODE(os.stat(tmp_path / "std.log").st_mode)
    for name in ("app.log", "app.log.1"):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == expected, name
    # The lock file: the same, less every bit for others.
    assert stat.S_IMODE(os.stat(tmp_path / ".app.log.lock").st_mode) == expected & 0o770


def test_a_process_that_cannot_give_files_away_fails_at_construction(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test drops root in a child, which needs root (CI runs as root)")
    folder = tmp_path / "logs"
    folder.mkdir()
    os.chown(folder, NOBODY.pw_uid, NOGROUP.gr_gid)

    def child() -> int:
        os.setgid(NOGROUP.gr_gid)
        os.setuid(NOBODY.pw_uid)
        try:
            lockrotate.RotatingFileHandler(str(folder / "app.log"), owner=("root", "root"))
        except PermissionError as exc:
            return 0 if "owner" in str(exc) else 2
        return 1

    assert run_in_child(child) == 0
    assert os.listdir(folder) == []


def test_bad_chmod_and_owner_name_the_argument(tmp_path: Path) -> None:
    path = str(tmp_path / "app.log")
    with pytest.raises(ValueError, match="chmod"):
        lockrotate.RotatingFileHandler(path, chmod=0o17777)
    with pytest.raises(TypeError, match="chmod"):
        lockrotate.RotatingFileHandler(path, chmod="640")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="owner"):
        lockrotate.RotatingFileHandler(path, owner=("no-such-user-here", "root"))
    with pytest.raises(TypeError, match="owner"):
        lockrotate.RotatingFileHandler(path, owner="root")  # type: ignore[arg-type]
    assert os.listdir(tmp_path) == []
