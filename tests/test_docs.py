"""Every code block of README.md and docs/ runs here, so the documentation cannot rot.

What a block's language (and the marker comment on the line before it) asks for:

- ``python``: run as a script in a fresh temporary folder (``examples/`` is linked in, so
  ``examples/logging.ini`` resolves); a block that is one dict literal is a dictConfig and is
  applied with ``logging.config.dictConfig``.
- ``ini``: applied with ``logging.config.fileConfig`` (``%(logdir)s`` is a temporary folder).
- ``json``: applied with ``logging.config.dictConfig``.
- ``bash``: must carry a marker. ``<!-- test: run -->`` runs it from the repository root with
  ``LOCKROTATE_LOG_DIR`` and ``TMPDIR`` set to a temporary folder, and ``git status`` must be
  the same after it; ``<!-- recipe: NAME -->`` is a server's command line that an integration
  test reads and runs (tests/integration/); ``<!-- test: no: WHY -->`` is not run, for the
  reason given (installing, or a command that needs a real system's files).
- ``text`` (outputs, rsyslog configs) and ``mermaid`` (diagrams) are not run; nor is any
  block marked ``<!-- test: no: -->``.

``--8<-- "path[:section]"`` lines (pymdownx.snippets) are replaced by the file's text first,
as MkDocs does, so a block that includes an example runs the example's own text.
"""

from __future__ import annotations

import ast
import json
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from _docs import ROOT, Block, bench_table, blocks, figures, pages, recipes

RUN_TIMEOUT = 240.0
LANGUAGES = {"python", "ini", "json", "bash", "text", "mermaid"}  # mermaid: a diagram
ALL = [block for page in pages() for block in blocks(page)]


def _runs(block: Block) -> bool:
    if block.marker and block.marker[0] == "test" and block.marker[1].startswith("no"):
        return False
    if block.lang == "bash":
        return block.marker == ("test", "run")
    return block.lang in {"python", "ini", "json"}


def _env(folder: Path) -> dict[str, str]:
    src = str(ROOT / "src")
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])),
        "LOCKROTATE_LOG_DIR": str(folder),
        "TMPDIR": str(folder),
        "COLUMNS": "100",
    }


def _python(code: str, folder: Path) -> subprocess.CompletedProcess[str]:
    (folder / "examples").symlink_to(ROOT / "examples")
    (folder / "block.py").write_text(code)  # a file, so that spawned children can import it
    return subprocess.run(
        [sys.executable, "block.py"],
        check=False,
        cwd=folder,
        env=_env(folder),
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )


_APPLY = """
import logging, logging.config, sys
sys.path.insert(0, "examples")  # dictConfig files name ext://checkable.TIMED
{load}
for ref in list(logging._handlerList):
    handler = ref()
    if handler is not None and handler.name:
        handler.handle(logging.makeLogRecord({{"msg": "configured", "levelno": 40}}))
logging.shutdown()
"""


def _git_status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _params() -> list[object]:
    """Shell blocks start real processes for seconds: they are ``slow``, like the servers."""
    return [
        pytest.param(b, id=b.id, marks=[pytest.mark.slow] if b.lang == "bash" else [])
        for b in ALL
        if _runs(b)
    ]


@pytest.mark.parametrize("block", _params())
def test_block_runs(block: Block, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    if block.lang == "bash":
        before = _git_status()
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block.text],
            check=False,
            cwd=ROOT,
            env=_env(folder),
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert _git_status() == before, "the commands left files in the repository"
        return
    if block.lang == "python":
        tree = ast.parse(block.text)
        # One dict literal, alone or assigned (LOGGING = {...}): a dictConfig.
        is_dict = len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr | ast.Assign)
        is_dict = is_dict and isinstance(getattr(tree.body[0], "value", None), ast.Dict)
        code = (
            _APPLY.format(load=f"logging.config.dictConfig({ast.unparse(tree.body[0].value)})")
            if is_dict
            else block.text
        )
    elif block.lang == "ini":
        (folder / "block.ini").write_text(block.text)
        load = (
            "logging.config.fileConfig('logs/block.ini', "
            f"defaults={{'logdir': {str(folder)!r}}}, disable_existing_loggers=False)"
        )
        code = _APPLY.format(load=load)
    else:
        load = f"logging.config.dictConfig(__import__('json').loads({block.text!r}))"
        code = _APPLY.format(load=load)
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "--- Logging error ---" not in result.stderr, result.stderr


def test_every_block_says_what_it_is() -> None:
    """A block of another language, or a shell block without a marker, would never run."""
    unknown = [b.id for b in ALL if b.lang not in LANGUAGES]
    unmarked = [b.id for b in ALL if b.lang == "bash" and b.marker is None]
    assert not unknown, f"use one of {sorted(LANGUAGES)}: {unknown}"
    assert not unmarked, f"mark these with <!-- test: run -->, recipe: or test: no: {unmarked}"


def test_every_recipe_is_run_by_an_integration_test() -> None:
    sources = "".join(p.read_text() for p in (ROOT / "tests" / "integration").glob("*.py"))
    for name in recipes(ALL):
        assert f'"{name}"' in sources, f"no integration test runs the recipe {name!r}"


def test_the_readme_is_a_front_page() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    commands = [b.text for b in blocks(ROOT / "README.md") if b.lang == "bash"]
    assert "lockrotate bench" in commands[0]
    (ci,) = re.findall(r"^\.venv/bin/python -m pytest.*$", (ROOT / ".ci" / "run").read_text(), re.M)
    assert commands[1].strip().endswith(ci), "the README's test command is not what CI runs"


def test_the_examples_need_nothing_from_the_bench() -> None:
    for path in (ROOT / "examples").rglob("*.py"):
        assert "lockrotate.bench" not in path.read_text(), path


def test_the_examples_checkable_line_is_the_verifiers() -> None:
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from checkable import checkable
    finally:
        sys.path.remove(str(ROOT / "examples"))
    from lockrotate.bench.verify import record_text

    for writer, seq, size in (("w", 0, 100), ("c12", 4567, 60), ("p0t1", 9, 300)):
        assert checkable(writer, seq, size) == record_text(writer, seq, size)


@pytest.mark.parametrize("kind", ["default", "strict"])
def test_the_bench_figures_are_rendered_from_their_files(kind: str) -> None:
    page = (ROOT / "docs" / "bench.md").read_text()
    documents = figures(kind)
    assert documents, f"no docs/figures/bench-{kind}-*.json"
    for path in documents:
        assert bench_table(json.loads(path.read_text())) in page, f"{path.name} differs"


def test_the_readme_figures_are_those_of_the_bench_files() -> None:
    readme = " ".join((ROOT / "README.md").read_text().split())
    for path in figures("default"):
        for row in json.loads(path.read_text())["rows"]:
            if row["contender"] == "lockrotate":
                ratio = f"{row['ratio']:.2f}x ({row['ratio_min']:.2f}-{row['ratio_max']:.2f})"
                assert ratio in readme, (path.name, ratio)
            if row["contender"] == "stdlib-rotating" and row["lost"]:
                assert f"{row['lost']:,}" in readme, (path.name, row["lost"])


def test_the_strict_mode_ratio_quoted_is_that_of_the_bench_files() -> None:
    ratios = []
    for path in [*figures("default"), *figures("strict")]:
        rows = json.loads(path.read_text())["rows"]
        rates = {(row["contender"], row["procs"]): row["records_per_s"] for row in rows}
        ratios += [
            rate / rates["concurrent-log-handler", procs]
            for (name, procs), rate in rates.items()
            if name == "lockrotate-strict"
        ]
    quoted = (
        f"{statistics.median(ratios):.2f}x the records/s of concurrent-log-handler",
        f"median of {len(ratios)} comparisons",
        f"range {min(ratios):.2f}x-{max(ratios):.2f}x",
    )
    readme = " ".join((ROOT / "README.md").read_text().split())
    for text in quoted:
        assert text in readme, text
