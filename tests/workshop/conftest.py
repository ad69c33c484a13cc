"""The tier shares one cluster, created by the first test (test_workshop.py runs first, by file order) and
removed by `./shopbox.sh down`'s test, which therefore runs after every other workshop test."""

from __future__ import annotations

import pytest

LAST = "test_down_removes_every_container_and_network"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.name == LAST)  # stable: every other test keeps its place
