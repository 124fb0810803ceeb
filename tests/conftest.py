"""Real parts for the tests: store (nx-27017), Redis and the TRON devnet as processes, and the service."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.clients.api import Api
from harness.clients.devnet import Devnet
from stack.local import Backends, start_backends
from stack.processes import Part

BLOCK_INTERVAL = 0.2
CONFIRMATIONS = 2
# Fast workers and short leases so crash recovery is seen within a test's time.
FAST_SERVICE = {"WORKER_POLL_SECONDS": "0.1", "WORKER_LEASE_SECONDS": "3", "BALANCE_CACHE_SECONDS": "0.2"}


@pytest.fixture(scope="session")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    run_dir: Path = tmp_path_factory.mktemp("stack")
    started = start_backends(
        run_dir,
        block_interval=BLOCK_INTERVAL,
        confirmations=CONFIRMATIONS,
        devnet_args=["--unfreeze-delay", "1"],
    )
    yield started
    started.stop()


@pytest.fixture(scope="session")
def service(backends: Backends) -> Part:
    return backends.start_replica("svc-0", **FAST_SERVICE)


@pytest.fixture(scope="session")
def devnet(backends: Backends) -> Devnet:
    return Devnet(backends.devnet.url)


@pytest.fixture
def api_as(backends: Backends, service: Part) -> Callable[..., Api]:
    secret = backends.service_env()["JWT_SECRET"]

    def make(*roles: str, sub: str | None = None, base_url: str | None = None) -> Api:
        return Api(base_url or service.url, secret, sub, roles or ("admin",))

    return make


@pytest.fixture
def api(api_as: Callable[..., Api]) -> Api:
    return api_as("admin")
