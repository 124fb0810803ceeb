"""tron_operations_blocked_on_fees against the real store and devnet: which queued operations count."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from harness.clients.devnet import Devnet
from service.config import parse_encryption_key
from service.ports import Ports
from service.ports.cache import Cache
from service.ports.chain import Chain
from service.ports.store import Store
from service.ports.vault import KeyVault
from service.routes.health import blocked_on_fees
from stack.local import LOCAL_SECRETS, Backends
from tests.e2e.test_payouts import new_address
from tests.integration.conftest import store_operation


@pytest.fixture
async def ports(backends: Backends, store: Store) -> AsyncIterator[Ports]:
    ports = Ports(
        store=store,
        cache=Cache(backends.redis.url),
        chain=Chain(backends.devnet.url, backends.usdt_contract),
        vault=KeyVault(parse_encryption_key(LOCAL_SECRETS["ENCRYPTION_KEY"])),
    )
    yield ports
    await ports.cache.close()
    await ports.chain.close()


async def _queued(store: Store, source: str, amount: int, currency: str, **fields: object) -> None:
    await store_operation(
        store,
        "payout",
        "u",
        from_address=source,
        to_address=new_address(),
        amount=amount,
        currency=currency,
        **fields,
    )


async def test_queued_moves_whose_wallet_lacks_trx_are_counted(ports: Ports, devnet: Devnet) -> None:
    rich, poor, empty = new_address(), new_address(), new_address()
    devnet.fund(rich, 10_000_000)
    devnet.fund(poor, 2_000_000)
    await _queued(ports.store, rich, 3_000_000, "TRX")  # covered
    await _queued(ports.store, rich, 3_000_000, "TRX")  # 6 of 10 TRX: still covered
    await _queued(ports.store, poor, 1_500_000, "TRX")
    await _queued(ports.store, poor, 1_000_000, "TRX")  # 2.5 of 2 TRX: both wait on TRX
    await _queued(ports.store, empty, 1_000_000, "USDT")  # no TRX at all for the TRC20 call's fees
    await _queued(ports.store, rich, 1_000_000, "USDT")  # TRX for fees: fine
    await _queued(ports.store, empty, 1_000_000, "TRX", status="completed")  # final: not waiting
    await _queued(ports.store, empty, 1_000_000, "TRX", stage="broadcast", status="processing")  # sent
    assert await blocked_on_fees(ports, "TRX") == 2
    assert await blocked_on_fees(ports, "USDT") == 1
