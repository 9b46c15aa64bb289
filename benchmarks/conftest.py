"""Collect the ``bench_*.py`` micro-benchmarks, which the test run never sees.

Run them with ``pytest benchmarks`` (``testpaths`` keeps them out of a plain ``pytest``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

try:
    import pytest_benchmark  # noqa: F401
except ImportError:
    raise pytest.UsageError(
        "the micro-benchmarks need pytest-benchmark: pip install pytest-benchmark"
    ) from None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        module: pytest.Module = pytest.Module.from_parent(parent, path=file_path)
        return module
    return None
