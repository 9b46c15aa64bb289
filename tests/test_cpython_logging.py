"""CPython's own ``test_logging`` cases for the two rotating handlers, run against lockrotate.

A drop-in replacement must pass the tests the stdlib's handlers pass: each case of
``RotatingFileHandlerTest`` and ``TimedRotatingFileHandlerTest`` (the timed rollover
``computeRollover`` and ``getFilesToDelete`` tests included), and ``HandlerTest`` cases that
build these handlers, run here with ``logging.handlers.RotatingFileHandler`` and
``TimedRotatingFileHandler`` replaced by lockrotate's classes. Debian ships these tests apart,
as ``libpython3.X-testsuite`` (``.ci/run`` installs it); in CI a missing suite fails.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import logging.handlers
import os
import re
import sys
import tempfile
import textwrap
import unittest
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import lockrotate
from conftest import local_zone

SUITE = "test.test_logging"
# Every case of these classes runs; a case the stdlib adds later runs too.
WHOLE_CLASSES = ("RotatingFileHandlerTest", "TimedRotatingFileHandlerTest")
# Cases of other classes that build one of the two handlers: Python 3.13 renamed
# ``test_path_objects`` to ``test_pathlike_objects``; exactly one of them must exist.
PATH_CASES = ("test_path_objects", "test_pathlike_objects")
# Cases that must exist, so that a renamed class or an import of the wrong module cannot
# make this file pass by running nothing.
REQUIRED = (
    ("RotatingFileHandlerTest", "test_should_rollover"),
    ("RotatingFileHandlerTest", "test_should_not_rollover"),
    ("RotatingFileHandlerTest", "test_rotator"),
    ("TimedRotatingFileHandlerTest", "test_should_not_rollover"),
    ("TimedRotatingFileHandlerTest", "test_rollover"),
    ("TimedRotatingFileHandlerTest", "test_compute_files_to_delete"),
    ("TimedRotatingFileHandlerTest", "test_compute_rollover_MIDNIGHT"),
    ("TimedRotatingFileHandlerTest", "test_compute_rollover_weekly_attime"),
)

EMPTY_FILE_REASON = (
    "documented difference: maxBytes=1 on an empty file rolls over in this Python's handler "
    "but not in lockrotate's, as in CPython 3.13 (gh-116263): an empty file is never rotated"
)


def _load_suite() -> ModuleType | None:
    try:
        return importlib.import_module(SUITE)
    except ImportError:
        return None


STDLIB_TESTS = _load_suite()


def _stdlib_rolls_empty_file() -> bool:
    """Whether this interpreter's own handler rolls an empty file over at ``maxBytes=1``
    (the behaviour gh-116263 removed, which its ``test_should_rollover`` then expects)."""
    with tempfile.TemporaryDirectory() as folder:
        handler = logging.handlers.RotatingFileHandler(
            os.path.join(folder, "empty.log"), maxBytes=1, encoding="utf-8"
        )
        try:
            return bool(handler.shouldRollover(logging.makeLogRecord({"msg": "x"})))
        finally:
            handler.close()


ONCE_A_DAY_REASON = (
    "documented difference: a whole-day period (midnight, W0-W6) rolls once per calendar "
    "day; where its rollover time happens twice (the repeated hour of a fall-back day), "
    "Python 3.13's handler rolls at both. Every other check of this case passes: "
    "test_repeated_hour_is_the_only_difference"
)
# 3.13's daylight-saving cases of computeRollover; the lines that expect a second rollover in
# the repeated hour end ``fold=1), DT(..., fold=1))``.
REPEATED_HOUR_CASES = ("test_compute_rollover_MIDNIGHT_local", "test_compute_rollover_W6_local")
REPEATED_HOUR_LINE = re.compile(r"^\s*test\(DT\(.*fold=1\), DT\(.*fold=1\)\)$", re.MULTILINE)


def _source_of(case: str) -> str | None:
    """The text of a ``TimedRotatingFileHandlerTest`` case in this interpreter's suite."""
    if STDLIB_TESTS is None or STDLIB_TESTS.__file__ is None:
        return None
    with open(STDLIB_TESTS.__file__, encoding="utf-8") as f:
        text = f.read()
    m = re.search(rf"^    def {case}\(self\):\n(?:(?:        .*)?\n)+", text, re.MULTILINE)
    return None if m is None else m[0]


def _rolls_twice_in_repeated_hour(case: str) -> bool:
    source = _source_of(case)
    return source is not None and REPEATED_HOUR_LINE.search(source) is not None


# (class, case) -> (reason, exception type) of a documented, expected failure.
EXPECTED_FAILURES: dict[tuple[str, str], tuple[str, type[BaseException]]] = {}
if _stdlib_rolls_empty_file():
    EXPECTED_FAILURES["RotatingFileHandlerTest", "test_should_rollover"] = (
        EMPTY_FILE_REASON,
        AssertionError,
    )
for _case in REPEATED_HOUR_CASES:
    if _rolls_twice_in_repeated_hour(_case):
        EXPECTED_FAILURES["TimedRotatingFileHandlerTest", _case] = (
            ONCE_A_DAY_REASON,
            AssertionError,
        )


def _case_ids() -> list[tuple[str, str]]:
    if STDLIB_TESTS is None:
        return []
    loader = unittest.TestLoader()
    cases = [
        (name, method)
        for name in WHOLE_CLASSES
        for method in loader.getTestCaseNames(getattr(STDLIB_TESTS, name))
    ]
    return cases + [
        ("HandlerTest", name) for name in PATH_CASES if hasattr(STDLIB_TESTS.HandlerTest, name)
    ]


CASES = _case_ids()


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = []
        if case in EXPECTED_FAILURES:
            reason, raises = EXPECTED_FAILURES[case]
            marks.append(pytest.mark.xfail(strict=True, reason=reason, raises=raises))
        params.append(pytest.param(*case, id=".".join(case), marks=marks))
    return params


def test_stdlib_suite_is_importable() -> None:
    """Without the suite nothing below runs: in CI that is a failure, elsewhere a skip."""
    if STDLIB_TESTS is None:
        message = (
            f"{SUITE} is not importable: install the interpreter's test suite (Debian: "
            f"apt-get install libpython{sys.version_info[0]}.{sys.version_info[1]}-testsuite; "
            "a pyenv build has it)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    paths = [case for case in CASES if case[0] == "HandlerTest"]
    assert len(paths) == 1, f"expected one of HandlerTest.{PATH_CASES}, found {paths}"
    missing = [case for case in REQUIRED if case not in CASES]
    assert not missing, f"{SUITE} has no such cases: {missing}"
    unknown = [case for case in EXPECTED_FAILURES if case not in CASES]
    assert not unknown, f"expected failures name cases that do not exist: {unknown}"


def _counting(init: Callable[..., None], constructed: list[str]) -> Callable[..., None]:
    def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        constructed.append(type(self).__name__)
        init(self, *args, **kwargs)

    return counted


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """Put lockrotate's classes where the stdlib tests look for theirs, and record each
    construction, so a case that never reached lockrotate cannot pass.

    The tests' temporary files (and lockrotate's lock and period files beside them) go to
    *tmp_path*: the stdlib tests remove only the files they know about.
    """
    constructed: list[str] = []
    for name in ("RotatingFileHandler", "TimedRotatingFileHandler"):
        cls = getattr(lockrotate, name)
        monkeypatch.setattr(cls, "__init__", _counting(cls.__init__, constructed))
        monkeypatch.setattr(logging.handlers, name, cls)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    yield constructed
    # The stdlib's tearDown puts back its copy of logging's handler list, references to
    # handlers collected since included: drop those, which later tests could not hash.
    with logging._lock:  # type: ignore[attr-defined]
        logging._handlerList[:] = [  # type: ignore[attr-defined]
            ref for ref in logging._handlerList if ref() is not None  # type: ignore[attr-defined]
        ]


@contextlib.contextmanager
def bare_root_logger() -> Iterator[None]:
    """The stdlib cases require a root logger without handlers; pytest's log capture adds
    its own: set them aside for the case."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        yield
    finally:
        root.handlers[:] = saved


@pytest.mark.parametrize(("class_name", "method"), _params())
def test_stdlib_case(class_name: str, method: str, built: list[str]) -> None:
    """Run one stdlib case; its own assertion errors propagate, a skip is a failure.

    Only the case's body may raise ``AssertionError``: a failing ``setUp`` or ``tearDown``
    is reported as such, so it can never pass for an expected failure.
    """
    assert STDLIB_TESTS is not None
    case = getattr(STDLIB_TESTS, class_name)(method)
    test = getattr(case, method)
    for target in (case, test):
        if getattr(target, "__unittest_skip__", False):
            pytest.fail(f"the stdlib skips this case here: {target.__unittest_skip_why__}")
    with bare_root_logger():
        try:
            case.setUp()
        except Exception as exc:
            pytest.fail(f"setUp failed: {exc!r}")
        try:
            test()
        except unittest.SkipTest as skipped:
            pytest.fail(f"the stdlib skipped this case here: {skipped}")
        finally:
            try:
                case.tearDown()
                case.doCleanups()
            except Exception as exc:
                pytest.fail(f"tearDown failed: {exc!r}")
    assert built, "the case built no lockrotate handler: the substitution did not take effect"


@pytest.mark.parametrize("case", REPEATED_HOUR_CASES)
def test_repeated_hour_is_the_only_difference(case: str, built: list[str]) -> None:
    """The expected failures above hide nothing else: each case, with only its lines that
    expect a second rollover in the repeated hour taken out, passes whole."""
    if not _rolls_twice_in_repeated_hour(case):
        pytest.skip(f"this Python's {case} expects no second rollover in the repeated hour")
    source = _source_of(case)
    assert source is not None and STDLIB_TESTS is not None
    trimmed, dropped = REPEATED_HOUR_LINE.subn("        pass", source)
    assert dropped == 2, f"expected two lines of a second rollover, found {dropped}"
    namespace = dict(vars(STDLIB_TESTS))
    exec(compile(textwrap.dedent(trimmed), STDLIB_TESTS.__file__ or SUITE, "exec"), namespace)
    stdlib_case = STDLIB_TESTS.TimedRotatingFileHandlerTest(case)
    with bare_root_logger(), local_zone("EST+05EDT,M3.2.0,M11.1.0"):
        stdlib_case.setUp()
        try:
            namespace[case](stdlib_case)
        finally:
            stdlib_case.tearDown()
            stdlib_case.doCleanups()
    assert built


