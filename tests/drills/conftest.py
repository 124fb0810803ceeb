"""A real store (nx-27017) for the backup and restore tests; each test works in its own database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from stack.processes import store_part


@pytest.fixture(scope="session")
def mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoClient[Any]]:
    part = store_part(tmp_path_factory.mktemp("drills-store")).start()
    client: MongoClient[Any] = MongoClient(part.url, serverSelectionTimeoutMS=5000)
    yield client
    client.close()
    part.stop()


@pytest.fixture
def database(mongo: MongoClient[Any]) -> Iterator[str]:
    name = f"drill_{uuid.uuid4().hex[:8]}"
    yield name
    mongo.drop_database(name)


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    return tmp_path / "backups"
