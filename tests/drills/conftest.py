"""A real store (nx-27017) for the backup and restore tests; each test works in its own database. And
the S3 test double (tests/drills/s3_double.py) with the variables aws-cli reads pointing at it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from stack.processes import store_part
from tests.drills.kube_stack import kube_api_over
from tests.drills.s3_double import S3Double, s3_double
from tests.harness.kube_api_double import KubeApiDouble


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


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Double]:
    with s3_double("lucid-backups") as (endpoint, store):
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "double")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "double-secret")
        yield store


@pytest.fixture
def kube_api(stack_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[KubeApiDouble]:
    """The Kubernetes API double over the test module's own local stack (its `stack_dir` fixture)."""
    with kube_api_over(stack_dir, monkeypatch, tmp_path) as double:
        yield double
