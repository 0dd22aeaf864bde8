"""Fixtures for the gateway tests: stand-in services over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gateway_test_support import ServedApp, make_service, served


@pytest.fixture(scope="module")
def catalog() -> Iterator[ServedApp]:
    with served(make_service("catalog")) as app:
        yield app


@pytest.fixture(scope="module")
def progress() -> Iterator[ServedApp]:
    with served(make_service("progress")) as app:
        yield app
