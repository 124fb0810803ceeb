"""Pods of the real service on the real backends (store, Redis, TRON devnet), run by the supervisor."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.waiting import wait_for
from stack.local import Backends
from tests.pods.harness import Pods, launch, stop


@pytest.fixture(scope="session")
def env_file(backends: Backends, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pods-env") / "service-env.json"
    path.write_text(json.dumps(backends.service_env()))
    return path


@pytest.fixture(scope="module")
def shared_pods(env_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pods]:
    pods = launch(tmp_path_factory.mktemp("pods"), env_file)
    yield pods
    assert stop(pods) == 0, pods.log_tail()


@pytest.fixture
def pods(shared_pods: Pods) -> Pods:
    """The shared supervisor, with every pod ready again after what the previous test did to it."""
    wait_for(shared_pods.all_ready, timeout=30, what=f"all pods ready again (log: {shared_pods.log_path})")
    return shared_pods
