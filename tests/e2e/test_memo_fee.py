"""The service on a chain that charges mainnet's memo fee (backends of their own; energy is charged at
mainnet's price on every devnet): every transaction it signs carries its operation
(`op:<kind>:<id>`) as a memo, the fee is burned on chain, and the service counts it, and a USDT
transfer's energy beyond the wallet's staked energy, before it accepts a move (refused with what to
fix, nothing queued, when the fees do not fit) and reports it as a fee. Nothing is paid twice: a
retried key answers with the first payout."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from harness.audit.run import audit
from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.tokens import mint_token
from harness.traffic import new_address
from harness.waiting import wait_for
from stack.devnet.config import MAINNET_ENERGY_FEE, MAINNET_MEMO_FEE
from stack.devnet.usdt import TRANSFER_TO_NEW_HOLDER_ENERGY
from stack.local import Backends, start_backends
from stack.processes import Part
from tests.conftest import BLOCK_INTERVAL, CONFIRMATIONS, FAST_SERVICE
from tests.e2e.test_payouts import usdt_balance
from tests.support.at_once import at_once
from tests.support.ledger import LOOKBACK_MS, SETTLE_S, assert_clean, expected_kinds, window_start

# What a USDT transfer to a new holder burns from a wallet without staked energy: its memo and energy.
USDT_TRANSFER_FEES = MAINNET_MEMO_FEE + TRANSFER_TO_NEW_HOLDER_ENERGY * MAINNET_ENERGY_FEE


@pytest.fixture(scope="module")
def charging(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Backends, Part]]:
    run_dir: Path = tmp_path_factory.mktemp("memo-fee")
    backends = start_backends(
        run_dir, block_interval=BLOCK_INTERVAL, confirmations=CONFIRMATIONS,
        devnet_args=["--memo-fee", str(MAINNET_MEMO_FEE)],
    )  # fmt: skip
    try:
        yield backends, backends.start_replica("memo-0", **FAST_SERVICE)
    finally:
        backends.stop()


@pytest.fixture(autouse=True)
def money_is_conserved(request: pytest.FixtureRequest, charging: tuple[Backends, Part]) -> Iterator[None]:
    """This module's own backends get the e2e audit after each test (tests/e2e/conftest.py's, here)."""
    backends, service = charging
    since = window_start()
    yield
    token = mint_token(backends.service_env()["JWT_SECRET"], "money-audit", ["admin"], ttl_s=600)
    report = audit(
        service.url, token, backends.devnet.url, backends.usdt_contract, since_ms=since,
        stuck_after_ms=0, lookback_ms=LOOKBACK_MS, settle_s=SETTLE_S,
    )  # fmt: skip
    assert_clean(report, expected_kinds(request.node))


def test_a_payout_carries_its_operation_and_pays_the_memo_fee_once(charging: tuple[Backends, Part]) -> None:
    backends, service = charging
    api = Api(service.url, backends.service_env()["JWT_SECRET"], f"memo-{uuid.uuid4().hex[:8]}")
    devnet = Devnet(backends.devnet.url)
    wallet = api.wallet("TRX", "memo fee")
    devnet.fund(wallet["address"], 3_000_000)
    fees = api.get("/api/v1/tron/network/fees").json()
    assert fees["memo_fee"] == "1.000000"

    too_much = {"amount": "2.5", "currency": "TRX", "source_wallet_id": wallet["wallet_id"],
                "recipient_address": new_address()}  # fmt: skip
    refused = api.post("/api/v1/payouts/initiate", too_much, key=str(uuid.uuid4()))
    assert refused.status_code == 409, refused.text
    assert "1.000000 memo fee" in refused.json()["error"]["message"]
    assert refused.json()["error"]["details"]["required"] == "3.500000"

    body = {**too_much, "amount": "1"}
    key = str(uuid.uuid4())
    first = api.post("/api/v1/payouts/initiate", body, key=key)
    assert first.status_code == 202, first.text
    payout_id = first.json()["payout_id"]
    done = api.wait_status(f"/api/v1/payouts/{payout_id}", ("completed", "failed"), timeout=60)
    assert done["status"] == "completed", done
    retry = api.post("/api/v1/payouts/initiate", body, key=key)
    assert retry.json()["payout_id"] == payout_id and retry.headers.get("Idempotent-Replayed") == "true"

    tx = devnet.node("wallet/gettransactionbyid", {"value": done["tx_id"]})
    info = devnet.node("wallet/gettransactioninfobyid", {"value": done["tx_id"]})
    assert bytes.fromhex(tx["raw_data"]["data"]).decode() == f"op:payout:{payout_id}"
    assert info["fee"] == MAINNET_MEMO_FEE
    account = devnet.node("wallet/getaccount", {"address": wallet["address"], "visible": True})
    assert account["balance"] == 3_000_000 - 1_000_000 - MAINNET_MEMO_FEE  # paid once, fee once


def test_a_usdt_payout_needs_trx_for_its_fees(charging: tuple[Backends, Part]) -> None:
    backends, service = charging
    api = Api(service.url, backends.service_env()["JWT_SECRET"], f"memo-{uuid.uuid4().hex[:8]}")
    devnet = Devnet(backends.devnet.url)
    wallet = api.wallet("USDT", "no TRX yet")
    devnet.fund(wallet["address"], 5_000_000, "USDT")
    body = {"amount": "1", "currency": "USDT", "source_wallet_id": wallet["wallet_id"],
            "recipient_address": new_address()}  # fmt: skip

    never_held_trx = api.post("/api/v1/payouts/initiate", body, key=str(uuid.uuid4()))
    assert never_held_trx.status_code == 409, never_held_trx.text
    assert "never held TRX" in never_held_trx.json()["error"]["message"]

    devnet.fund(wallet["address"], MAINNET_MEMO_FEE // 2)
    short_of_the_fee = api.post("/api/v1/payouts/initiate", body, key=str(uuid.uuid4()))
    assert short_of_the_fee.status_code == 409, short_of_the_fee.text
    assert short_of_the_fee.json()["error"]["details"] == {
        "available": "0.500000", "required": "3.965000", "needs": "TRX for fees"  # memo 1 + energy 2.965
    }  # fmt: skip
    queued = [p for p in api.get("/api/v1/payouts/history?currency=USDT").json()["payouts"]
              if p.get("source_wallet_id") == wallet["wallet_id"]]  # fmt: skip
    assert queued == [], "a refused payout queues nothing"


def test_usdt_transfers_at_once_each_count_the_fees_the_others_will_burn(
    charging: tuple[Backends, Part],
) -> None:
    """A USDT wallet with 10 USDT and TRX for the fees of 3 transfers: 8 transfers of 1 USDT at once.
    Each transaction burns the memo fee and its energy from the wallet's TRX, so 3 are accepted and
    confirmed and 5 refused 409 with what to fix. Counting only the USDT the others promise, all 8 were
    accepted and the node refused 5 at broadcast (BANDWITH_ERROR: Account resource insufficient error);
    counting their memo fees but not their energy, all 8 too. Blocks wait while the 8 are checked, as
    the next block may be seconds away (3 s on mainnet): else a block that burns the first fees lowers
    the balance the later checks read, and they are refused whatever the service counts."""
    backends, service = charging
    api = Api(service.url, backends.service_env()["JWT_SECRET"], f"memo-{uuid.uuid4().hex[:8]}")
    devnet = Devnet(backends.devnet.url)
    wallet = api.wallet("USDT", "hot")
    devnet.fund(wallet["address"], 10_000_000, "USDT")
    devnet.fund(wallet["address"], 3 * USDT_TRANSFER_FEES)

    def send(to: str) -> httpx.Response:
        body = {"from_address": wallet["address"], "to_address": to, "amount": "1"}
        return api.post("/api/v1/usdt/transfer", body, key=str(uuid.uuid4()))

    recipients = [new_address() for _ in range(8)]
    devnet.set_fault("stall", 60)
    try:
        answers = dict(zip(recipients, at_once([partial(send, to) for to in recipients]), strict=True))
    finally:
        devnet.clear_fault("stall")
    accepted = {to: a.json()["transfer_id"] for to, a in answers.items() if a.status_code == 202}
    refused = [a.json()["error"] for a in answers.values() if a.status_code != 202]
    assert len(accepted) == 3, [a.text for a in answers.values()]
    assert all(e["code"] == "LUCID_ERR_1102" and e["details"]["needs"] == "TRX for fees" for e in refused), (
        refused
    )

    for to, transfer_id in accepted.items():
        done = api.wait_status(f"/api/v1/usdt/transfers/{transfer_id}", ("confirmed", "failed"), timeout=60)
        assert done["status"] == "confirmed", done
        assert usdt_balance(devnet, to) == 1_000_000
    history = api.get(f"/api/v1/usdt/transactions/{wallet['address']}").json()["transactions"]
    assert len(history) == 3, "a refused transfer leaves nothing behind"
    account = devnet.node("wallet/getaccount", {"address": wallet["address"], "visible": True})
    assert account.get("balance", 0) == 0 and usdt_balance(devnet, wallet["address"]) == 7_000_000


def test_a_usdt_transfer_its_staked_energy_pays_for_needs_trx_for_the_memo_fee_only(
    charging: tuple[Backends, Part],
) -> None:
    """A wallet that staked TRX for energy is asked for what the chain will burn, not more: the staked
    energy pays the transfer's energy, so TRX for the memo fee is enough, and that is all it burns."""
    backends, service = charging
    api = Api(service.url, backends.service_env()["JWT_SECRET"], f"memo-{uuid.uuid4().hex[:8]}")
    devnet = Devnet(backends.devnet.url)
    wallet = api.wallet("TRX", "staked for energy")
    address = wallet["address"]
    devnet.fund(address, 3_000_000_000 + 2 * MAINNET_MEMO_FEE)  # the stake, its memo fee, the transfer's
    devnet.fund(address, 5_000_000, "USDT")

    stake = {"wallet_address": address, "amount": "3000", "resource": "ENERGY"}  # 30,000 energy a day
    assert api.post("/api/v1/staking/stake", stake, key=str(uuid.uuid4())).status_code == 202
    wait_for(
        lambda: any(e["staked_at"] for e in api.get(f"/api/v1/staking/status/{address}").json()["entries"]),
        60, "the stake confirmed",
    )  # fmt: skip
    resource = devnet.node("wallet/getaccountresource", {"address": address, "visible": True})
    assert resource["EnergyLimit"] >= TRANSFER_TO_NEW_HOLDER_ENERGY

    body = {"from_address": address, "to_address": new_address(), "amount": "1"}
    sent = api.post("/api/v1/usdt/transfer", body, key=str(uuid.uuid4()))
    assert sent.status_code == 202, sent.text
    done = api.wait_status(
        f"/api/v1/usdt/transfers/{sent.json()['transfer_id']}", ("confirmed", "failed"), 60
    )
    assert done["status"] == "confirmed", done

    info = devnet.node("wallet/gettransactioninfobyid", {"value": done["tx_id"]})
    assert info["receipt"]["energy_usage"] == TRANSFER_TO_NEW_HOLDER_ENERGY  # all from the stake
    assert info["fee"] == MAINNET_MEMO_FEE
    account = devnet.node("wallet/getaccount", {"address": address, "visible": True})
    assert account.get("balance", 0) == 0 and usdt_balance(devnet, address) == 4_000_000
