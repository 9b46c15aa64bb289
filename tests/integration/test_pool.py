"""``multiprocessing.Pool`` and ``ProcessPoolExecutor`` with spawn and fork."""

from __future__ import annotations

import importlib
import os

import pytest

from ._support import check

EXAMPLES = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "examples"))


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
    expected = example.run(os.path.join(folder, "app.log"), pool, start, build, workers=3)

    assert len(expected) == 90
    report = check(f"{pool} start={start} build={build}", folder, "app.log", expected)
    assert report.ok, report.examples
    assert report.files >= 4, "too few rollovers to prove anything"
