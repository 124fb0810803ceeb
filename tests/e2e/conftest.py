from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.chain import ChainScanner
from harness.clients.devnet import Devnet
from stack.local import Backends
from tests.support.ledger import audit


@pytest.fixture(scope="session")
def scanner(devnet: Devnet) -> ChainScanner:
    return ChainScanner(devnet)


@pytest.fixture(autouse=True)
def money_is_conserved(backends: Backends, devnet: Devnet, scanner: ChainScanner) -> Iterator[None]:
    """After every end-to-end test: faults cleared, then the ledger and the chain must agree."""
    yield
    devnet.reset()
    audit(backends.store.url, "lucid_tron_payment", devnet, scanner)  # and every test database beside it
