"""The simulator's options: ``--sim-seed N`` replays one seed (with its trace);
``SIM_STEPS`` sets the steps each configuration runs (the CI budget by default)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from conftest import NEW_YORK, local_zone


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
    with local_zone(NEW_YORK):
        yield
