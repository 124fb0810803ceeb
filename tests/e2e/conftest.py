from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.audit.run import audit
from harness.clients.devnet import Devnet
from harness.tokens import mint_token
from stack.local import Backends
from stack.processes import Part
from tests.support.ledger import LOOKBACK_MS, SETTLE_S, assert_clean, expected_kinds, window_start


@pytest.fixture(autouse=True)
def money_is_conserved(
    request: pytest.FixtureRequest, backends: Backends, service: Part, devnet: Devnet
) -> Iterator[None]:
    """After every end-to-end test: faults cleared, then the harness's audit of the test's window,
    through the admin API and the chain's account history, must find nothing."""
    since = window_start()
    yield
    devnet.reset()
    token = mint_token(backends.service_env()["JWT_SECRET"], "money-audit", ["admin"], ttl_s=600)
    report = audit(
        service.url,
        token,
        backends.devnet.url,
        backends.usdt_contract,
        since_ms=since,
        stuck_after_ms=0,  # after settling, anything unfinished is stuck
        lookback_ms=LOOKBACK_MS,
        settle_s=SETTLE_S,
    )
    assert_clean(report, expected_kinds(request.node))
