"""The configuration examples build lockrotate handlers with their settings and log through them."""

from __future__ import annotations

import fcntl
import importlib.util
import logging
import logging.config
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import lockrotate

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def clean_logging() -> Iterator[None]:
    """Configuring replaces the root logger's handlers: put everything back afterwards."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    audit = logging.getLogger("myapp.audit")
    saved_audit = (audit.handlers[:], audit.level, audit.propagate, audit.disabled)
    yield
    for logger in (root, audit):
        for handler in logger.handlers[:]:
            if handler not in saved_handlers:
                logger.removeHandler(handler)
                handler.close()
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
    audit.handlers[:], audit.level, audit.propagate, audit.disabled = saved_audit


def load_dictconfig_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dictconfig_example", EXAMPLES / "dictconfig.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def handlers_by_file() -> dict[str, logging.Handler]:
    found = logging.getLogger().handlers + logging.getLogger("myapp.audit").handlers
    return {Path(h.baseFilename).name: h for h in found if hasattr(h, "baseFilename")}


def assert_lock_timeout(handler: logging.Handler, seconds: float) -> None:
    """With the lock taken elsewhere, a rollover gives up after *seconds*, not sooner."""
    assert isinstance(handler, lockrotate.RotatingFileHandler)
    fd = os.open(handler.lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        start = time.monotonic()
        with pytest.raises(lockrotate.LockTimeout) as caught:
            handler.doRollover()
        waited = time.monotonic() - start
    finally:
        os.close(fd)
    assert (caught.value.path, caught.value.timeout) == (handler.lock_file, seconds)
    assert waited >= seconds
    assert handler.stats.lock_timeouts == 1


def assert_rotates_under_flock(handler: logging.Handler) -> None:
    """The rollover holds an ``flock`` on the handler's lock file while it renames."""
    assert isinstance(handler, lockrotate.TimedRotatingFileHandler)
    held: list[bool] = []

    def rotator(source: str, dest: str) -> None:
        fd = os.open(handler.lock_file, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held.append(True)
        else:
            held.append(False)
        finally:
            os.close(fd)
        os.rename(source, dest)

    handler.rotator = rotator
    handler.doRollover()
    handler.rotator = None
    assert held == [True]


def check_configured(logdir: Path) -> None:
    """What both examples configure: size rotation for app.log, midnight for audit.log."""
    handlers = handlers_by_file()
    app, audit = handlers["app.log"], handlers["audit.log"]
    assert isinstance(app, lockrotate.RotatingFileHandler)
    assert (app.maxBytes, app.backupCount, app.encoding) == (10 * 1024 * 1024, 5, "utf-8")
    assert app.baseFilename == str(logdir / "app.log")
    assert isinstance(audit, lockrotate.TimedRotatingFileHandler)
    assert (audit.when, audit.interval, audit.backupCount) == ("MIDNIGHT", 86400, 30)
    assert (audit.maxBytes, audit.encoding) == (50 * 1024 * 1024, "utf-8")
    assert audit.baseFilename == str(logdir / "audit.log")

    logging.getLogger("myapp").info("hello from %s", "the app")
    logging.getLogger("myapp.audit").info("alice logged in")
    app.flush()
    app_lines = (logdir / "app.log").read_text("utf-8").splitlines()
    audit_lines = (logdir / "audit.log").read_text("utf-8").splitlines()
    assert len(app_lines) == 1 and app_lines[0].endswith("INFO myapp: hello from the app")
    assert len(audit_lines) == 1 and audit_lines[0].endswith("INFO myapp.audit: alice logged in")
    app.doRollover()
    assert (logdir / "app.log.1").read_text("utf-8").splitlines() == app_lines
    # The options that only show when they act: lock_timeout=2.0 for app.log, and the
    # flock backend for audit.log.
    assert_lock_timeout(app, 2.0)
    assert_rotates_under_flock(audit)
    rotated = sorted(logdir.glob("audit.log.*-*"))
    assert [p.read_text("utf-8").splitlines() for p in rotated] == [audit_lines]


def test_file_config(tmp_path: Path, clean_logging: None) -> None:
    logging.config.fileConfig(
        EXAMPLES / "logging.ini",
        defaults={"logdir": str(tmp_path)},
        disable_existing_loggers=False,
    )
    check_configured(tmp_path)


def test_dict_config(tmp_path: Path, clean_logging: None) -> None:
    logging.config.dictConfig(load_dictconfig_example().make_config(str(tmp_path)))
    check_configured(tmp_path)


def test_dict_config_rejects_a_bad_option(tmp_path: Path, clean_logging: None) -> None:
    config = load_dictconfig_example().make_config(str(tmp_path))
    config["handlers"]["app"]["lock"] = "nope"
    with pytest.raises(ValueError, match="handler 'app'") as caught:
        logging.config.dictConfig(config)
    cause = caught.value.__cause__
    assert isinstance(cause, ValueError)
    assert str(cause).startswith("lock must be one of")


def test_dictconfig_example_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "dictconfig.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.split() == [str(tmp_path / "app.log"), str(tmp_path / "audit.log")]
    app = (tmp_path / "app.log").read_text("utf-8").splitlines()
    audit = (tmp_path / "audit.log").read_text("utf-8").splitlines()
    assert [line.split(" ", 3)[-1] for line in app] == [
        "INFO myapp: started",
        "WARNING myapp: disk at 91%",
    ]
    assert [line.split(" ", 3)[-1] for line in audit] == ["INFO myapp.audit: user alice logged in"]


def test_compressed_example(tmp_path: Path, clean_logging: None) -> None:
    logging.config.fileConfig(
        EXAMPLES / "compressed.ini",
        defaults={"logdir": str(tmp_path)},
        disable_existing_loggers=False,
    )
    app = handlers_by_file()["app.log"]
    assert isinstance(app, lockrotate.TimedRotatingFileHandler)
    assert (app.when, app.maxBytes, app.compress) == ("H", 100 * 1024 * 1024, "gzip")
    assert (app.max_age, app.max_total_bytes) == (14 * 86400, 5 * 1024**3)
    logging.getLogger("myapp").info("hello")
    assert (tmp_path / "app.log").stat().st_mode & 0o777 == 0o640
