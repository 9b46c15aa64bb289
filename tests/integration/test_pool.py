"""``multiprocessing.Pool`` and ``ProcessPoolExecutor`` with spawn and fork."""

from __future__ import annotations

import importlib
import os

import pytest

from ._support import EXAMPLES, check

pytestmark = pytest.mark.slow

TASKS = 90
RECORDS = 40


@pytest.mark.parametrize("pool", ["pool", "executor"])
@pytest.mark.parametrize(
    ("start", "build"), [("spawn", "worker"), ("fork", "worker"), ("fork", "parent")]
)
def test_process_pools(
    pool: str, start: str, build: str, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Spawned workers find the example module through the sys.path the parent passes on.
    monkeypatch.syspath_prepend(EXAMPLES)
    example = importlib.import_module("pool")
    planned = {f"task{i}": RECORDS for i in range(TASKS)}
    done = example.run(os.path.join(folder, "app.log"), pool, start, build, 3, TASKS, RECORDS)

    assert done == planned, "a task did not finish, or logged a different count"
    report = check(f"{pool} start={start} build={build}", folder, "app.log", planned)
    assert report.ok, report.examples
    assert report.files >= 4, "too few rollovers to prove anything"
