"""One devnet process shared by the devnet tests, driven by real tronpy clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tronpy import Tron
from tronpy.contract import Contract
from tronpy.providers import HTTPProvider

from tests.devnet.harness import BLOCK_INTERVAL, CONFIRMATIONS, UNFREEZE_DELAY, DevnetNode, launch, stop


@pytest.fixture(scope="session")
def node() -> Iterator[DevnetNode]:
    process, ready = launch(
        "--block-interval",
        str(BLOCK_INTERVAL),
        "--confirmations",
        str(CONFIRMATIONS),
        "--unfreeze-delay",
        str(UNFREEZE_DELAY),
    )
    devnet = DevnetNode(
        ready["url"], ready["treasury_address"], ready["usdt_contract_address"], BLOCK_INTERVAL, CONFIRMATIONS
    )
    yield devnet
    devnet.http.close()
    assert stop(process) == 0, "devnet did not stop cleanly on SIGTERM"


@pytest.fixture(scope="session")
def client(node: DevnetNode) -> Tron:
    return Tron(HTTPProvider(node.url))


@pytest.fixture(scope="session")
def usdt(client: Tron, node: DevnetNode) -> Contract:
    return client.get_contract(node.usdt_address)


@pytest.fixture(autouse=True)
def _conserved_and_fault_free(node: DevnetNode) -> Iterator[None]:
    """After every test: faults cleared, and no TRX or USDT created or destroyed (fees count as burned)."""
    yield
    node.set_fault("reset-faults", {})
    ledger = node.get("/control/ledger").json()
    assert ledger["conserved"], ledger
