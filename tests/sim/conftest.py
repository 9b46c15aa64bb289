"""The simulator's options: ``--sim-seed N`` replays one seed (with its trace);
``SIM_STEPS`` sets the steps each configuration runs (the CI budget by default)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

# POSIX rules, so the tests need no tz database: New York with its daylight saving time.
NEW_YORK = "EST5EDT,M3.2.0,M11.1.0"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sim-seed",
        type=int,
        default=None,
        help="run the deterministic simulation with this one seed and print its trace",
    )


@pytest.fixture
def sim_seed(request: pytest.FixtureRequest) -> int | None:
    seed: int | None = request.config.getoption("--sim-seed")
    return seed


@pytest.fixture(autouse=True)
def new_york() -> Iterator[None]:
    """Local time is New York's in every simulated run: a time zone that is not UTC, so
    that handlers with and without ``utc`` write different labels."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = NEW_YORK
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()
