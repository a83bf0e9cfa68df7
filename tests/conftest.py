"""Shared fixtures: a client over the real app, and a way to rebuild it with other limits."""

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app import examples
from app.config import get_settings
from app.main import create_app


@pytest.fixture
def client() -> TestClient:
    """A client of the app as configured by default."""
    return TestClient(create_app())


@pytest.fixture
def limited_client(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., TestClient]]:
    """Build a client of an app whose limits come from the given environment variables."""

    def build(**env: int) -> TestClient:
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()
        return TestClient(create_app())

    yield build
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def notebook() -> dict[str, Any]:
    """A fresh copy of the notebook's /train request (safe to modify)."""
    return copy.deepcopy(examples.TRAIN)
