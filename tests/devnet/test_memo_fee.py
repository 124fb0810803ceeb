"""The memo fee as java-tron charges it once the MEMO_FEE proposal is active (Manager.consumeMemoFee):
a transaction whose raw_data.data is not empty burns getMemoFee SUN from its owner before the contract
runs; an owner who cannot pay it is refused (BANDWITH_ERROR); the burn shows in the transaction info's
`fee` and in the ledger's burned TRX. A devnet of its own, at mainnet's 1 TRX."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tronpy import Tron
from tronpy.keys import PrivateKey
from tronpy.providers import HTTPProvider

from stack.devnet.config import MAINNET_MEMO_FEE
from tests.devnet.harness import BLOCK_INTERVAL, CONFIRMATIONS, DevnetNode, launch, stop

WAIT = {"timeout": 10, "interval": 0.05}


@pytest.fixture(scope="module")
def charging() -> Iterator[DevnetNode]:
    process, ready = launch(
        *("--block-interval", str(BLOCK_INTERVAL), "--confirmations", str(CONFIRMATIONS)),
        *("--memo-fee", str(MAINNET_MEMO_FEE)),
    )
    node = DevnetNode(
        ready["url"], ready["treasury_address"], ready["usdt_contract_address"], BLOCK_INTERVAL, CONFIRMATIONS
    )
    yield node
    node.http.close()
    assert stop(process) == 0


def _address(key: PrivateKey) -> str:
    return str(key.public_key.to_base58check_address())


def _transfer(client: Tron, sender: PrivateKey, to: str, amount: int, memo: str | None) -> dict:
    builder = client.trx.transfer(_address(sender), to, amount)
    if memo is not None:
        builder = builder.memo(memo)
    return dict(builder.build().sign(sender).broadcast().wait(**WAIT))


def test_a_memo_burns_the_memo_fee_from_its_sender(charging: DevnetNode) -> None:
    client = Tron(HTTPProvider(charging.url))
    params = {p["key"]: p.get("value", 0) for p in client.get_chain_parameters()}
    assert params["getMemoFee"] == MAINNET_MEMO_FEE
    sender, receiver = charging.new_account(trx=10_000_000), PrivateKey.random()
    burned_before = charging.get("/control/ledger").json()["trx_burned"]

    tagged = _transfer(client, sender, _address(receiver), 2_000_000, "op:payout:1")
    plain = _transfer(client, sender, _address(receiver), 1_000_000, None)

    assert tagged["fee"] == MAINNET_MEMO_FEE and plain.get("fee", 0) == 0
    assert client.get_account(_address(receiver))["balance"] == 3_000_000  # the amount arrives whole
    assert client.get_account(_address(sender))["balance"] == 10_000_000 - 3_000_000 - MAINNET_MEMO_FEE
    ledger = charging.get("/control/ledger").json()
    assert ledger["trx_burned"] - burned_before >= MAINNET_MEMO_FEE and ledger["conserved"], ledger


def test_no_room_for_the_memo_fee_is_refused_and_changes_nothing(charging: DevnetNode) -> None:
    client = Tron(HTTPProvider(charging.url))
    sender, poor = charging.new_account(trx=3_000_000), charging.new_account(trx=500_000)
    receiver = _address(PrivateKey.random())
    burned_before = charging.get("/control/ledger").json()["trx_burned"]  # the faucet pays it too

    # the fee comes off first, so the transfer itself no longer fits (TransferActuator's check)
    whole = client.trx.transfer(_address(sender), receiver, 2_500_000).memo("op:payout:2").build()
    refused = client.provider.make_request("wallet/broadcasttransaction", whole.sign(sender).to_json())
    tiny = client.trx.transfer(_address(poor), receiver, 1).memo("op:payout:3").build().sign(poor)
    unpaid = client.provider.make_request("wallet/broadcasttransaction", tiny.to_json())

    assert refused["code"] == "CONTRACT_VALIDATE_ERROR", refused
    assert unpaid["code"] == "BANDWITH_ERROR", unpaid
    assert bytes.fromhex(unpaid["message"]).decode() == "Account resource insufficient error."
    charging.wait_blocks(2)
    assert client.get_account(_address(sender))["balance"] == 3_000_000
    assert client.get_account(_address(poor))["balance"] == 500_000
    assert charging.get("/control/ledger").json()["trx_burned"] == burned_before
