"""The Pythons besides CI's own (``.ci/run`` runs the whole suite on 3.11): on 3.12 and 3.13,
the quick tests, the multi-process tests and CPython's own handler tests of that version.

nox rather than tox: a session is a Python function, so "the test extra but not uWSGI",
"the CPython suite first, on its own, so its counts show" and the CI check that a version's
interpreter exists are plain code, not ini substitutions. ``.ci/run`` puts each pyenv
interpreter it finds on ``PATH`` and names the sessions to run: a missing version is skipped
there, with a line saying so.

    nox -s tests-3.13        # one version
    nox -s tests             # every version found on PATH
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nox

VERSIONS = ["3.12", "3.13"]
nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = True

_EXTRAS = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))["project"][
    "optional-dependencies"
]


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower()


# The test extra less uWSGI (a C build; only tests/integration, on 3.11, runs it) and the
# tools CI runs once, on 3.11 (ruff, mypy, build, twine, nox, the docs site). The other
# servers, loguru and structlog stay: the docs' code blocks (tests/test_docs.py) import them.
_ELSEWHERE = {"uwsgi", "ruff", "mypy", "build", "twine", "nox", "mkdocs-material", "mkdocstrings"}
QUICK_DEPENDENCIES = [r for r in _EXTRAS["test"] if _name(r) not in _ELSEWHERE]
PYTEST = ["python", "-m", "pytest", "-p", "no:cacheprovider"]


@nox.session(python=VERSIONS)
def tests(session: nox.Session) -> None:
    """This version's CPython handler tests, then every quick test (the multi-process tests
    among them) outside tests/integration."""
    session.install("-e", ".", *QUICK_DEPENDENCIES)
    session.run("python", "-c", "import sys; print('Python', sys.version)")
    session.run(*PYTEST, "-q", "-rxXs", "tests/test_cpython_logging.py")
    session.run(
        *PYTEST, "-q", "-m", "not slow", "--ignore=tests/integration",
        "--ignore=tests/test_cpython_logging.py", *session.posargs,
    )
