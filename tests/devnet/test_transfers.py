"""Money moves exactly: faucet, TRX and USDT transfers, allowances, signed with real keys by tronpy."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from tronpy import AsyncTron, Tron
from tronpy.abi import tron_abi
from tronpy.contract import Contract
from tronpy.keys import PrivateKey
from tronpy.providers import AsyncHTTPProvider
from tronpy.tron import TransactionRet

from stack.devnet.config import MAINNET_ENERGY_FEE
from stack.devnet.usdt import (
    APPROVE_ENERGY,
    TRANSFER_ENERGY,
    TRANSFER_FROM_ENERGY,
    TRANSFER_TO_NEW_HOLDER_ENERGY,
)
from tests.devnet.harness import DevnetNode

FEE_LIMIT = 50_000_000
# What a TRC20 call burns from a caller without staked energy (stack/devnet/energy.py).
TO_HOLDER_FEE = TRANSFER_ENERGY * MAINNET_ENERGY_FEE
TO_NEW_HOLDER_FEE = TRANSFER_TO_NEW_HOLDER_ENERGY * MAINNET_ENERGY_FEE
WAIT = {"timeout": 10, "interval": 0.05}


def addr(key: PrivateKey) -> str:
    return str(key.public_key.to_base58check_address())


def test_faucet_funds_trx_and_usdt(node: DevnetNode, client: Tron, usdt: Contract) -> None:
    key = PrivateKey.random()
    treasury_trx = client.get_account(node.treasury_address)["balance"]

    node.fund(addr(key), 25_000_000, "TRX")
    node.fund(addr(key), 7_500_000, "USDT")

    assert client.get_account_balance(addr(key)) == Decimal("25")
    assert usdt.functions.balanceOf(addr(key)) == 7_500_000
    # The faucet's USDT is a TRC20 transfer from the treasury, which pays its energy like any caller.
    assert (
        client.get_account(node.treasury_address)["balance"] == treasury_trx - 25_000_000 - TO_NEW_HOLDER_FEE
    )
    assert (usdt.functions.decimals(), usdt.functions.symbol()) == (6, "USDT")


def test_faucet_usdt_alone_does_not_activate_the_account(
    node: DevnetNode, client: Tron, usdt: Contract
) -> None:
    key = node.new_account(usdt=1_000_000)

    assert client.provider.make_request("wallet/getaccount", {"address": addr(key), "visible": True}) == {}
    assert usdt.functions.balanceOf(addr(key)) == 1_000_000


def test_trx_transfer_confirms_and_moves_exact_amounts(node: DevnetNode, client: Tron) -> None:
    sender = node.new_account(trx=10_000_000)
    receiver = PrivateKey.random()

    info = (
        client.trx.transfer(addr(sender), addr(receiver), 1_234_567)
        .build()
        .sign(sender)
        .broadcast()
        .wait(**WAIT)
    )

    assert info["blockNumber"] > 0 and info["fee"] == 0
    assert "result" not in info["receipt"]  # java-tron gives system contracts no receipt.result
    assert client.get_account(addr(sender))["balance"] == 10_000_000 - 1_234_567
    assert client.get_account(addr(receiver))["balance"] == 1_234_567
    tx = client.get_transaction(info["id"])
    assert tx["ret"] == [{"contractRet": "SUCCESS"}]
    assert tx["raw_data"]["contract"][0]["parameter"]["value"]["to_address"] == addr(receiver)


def test_trc20_transfer_confirms_moves_exact_amounts_and_logs(
    node: DevnetNode, client: Tron, usdt: Contract
) -> None:
    sender = node.new_account(trx=5_000_000, usdt=5_000_000)
    receiver = PrivateKey.random()

    txn = (
        usdt.functions.transfer(addr(receiver), 1_750_000)
        .with_owner(addr(sender))
        .fee_limit(FEE_LIMIT)
        .build()
    )
    ret = txn.sign(sender).broadcast()

    assert ret.result(**WAIT) is True
    info = client.get_transaction_info(ret.txid)
    assert info["receipt"]["result"] == "SUCCESS"
    # No staked energy: all of it burned in TRX, 100 SUN a unit, the more for a first-time holder.
    assert info["receipt"]["energy_usage_total"] == TRANSFER_TO_NEW_HOLDER_ENERGY
    assert info["fee"] == info["receipt"]["energy_fee"] == TO_NEW_HOLDER_FEE
    assert client.get_account(addr(sender))["balance"] == 5_000_000 - TO_NEW_HOLDER_FEE
    assert list(usdt.events.Transfer.process_receipt(info)) == [
        {
            "args": {"from": addr(sender), "to": addr(receiver), "value": 1_750_000},
            "event": "Transfer",
            "address": node.usdt_address,
        }
    ]
    assert usdt.functions.balanceOf(addr(sender)) == 3_250_000
    assert usdt.functions.balanceOf(addr(receiver)) == 1_750_000


def test_approve_then_transfer_from_spends_the_allowance(node: DevnetNode, usdt: Contract) -> None:
    owner = node.new_account(trx=5_000_000, usdt=9_000_000)
    spender = node.new_account(trx=5_000_000)
    payee = PrivateKey.random()

    approve = usdt.functions.approve(addr(spender), 4_000_000).with_owner(addr(owner)).fee_limit(FEE_LIMIT)
    assert approve.build().sign(owner).broadcast().result(**WAIT) is True
    assert usdt.functions.allowance(addr(owner), addr(spender)) == 4_000_000

    pull = usdt.functions.transferFrom(addr(owner), addr(payee), 3_000_000).with_owner(addr(spender))
    assert pull.fee_limit(FEE_LIMIT).build().sign(spender).broadcast().result(**WAIT) is True

    assert usdt.functions.allowance(addr(owner), addr(spender)) == 1_000_000
    assert usdt.functions.balanceOf(addr(owner)) == 6_000_000
    assert usdt.functions.balanceOf(addr(payee)) == 3_000_000
    assert usdt.functions.balanceOf(addr(spender)) == 0
    assert node.post("/wallet/getaccount", {"address": addr(owner), "visible": True}).json()["balance"] == (
        5_000_000 - APPROVE_ENERGY * MAINNET_ENERGY_FEE
    )
    assert node.post("/wallet/getaccount", {"address": addr(spender), "visible": True}).json()["balance"] == (
        5_000_000 - TRANSFER_FROM_ENERGY * MAINNET_ENERGY_FEE
    )


def test_offline_built_transaction_hashes_like_tronpy(node: DevnetNode, client: Tron) -> None:
    """tronpy computes the txID itself here, so an accepted broadcast proves both encodings agree."""
    sender = node.new_account(trx=3_000_000)
    receiver = PrivateKey.random()
    ref_block_id = client.get_latest_solid_block_id()

    txn = client.trx.transfer(addr(sender), addr(receiver), 1_000_000).build(
        offline=True, ref_block_id=ref_block_id
    )
    ret = client.broadcast(txn.sign(sender))

    assert ret == {"result": True, "txid": txn.txid}
    TransactionRet(ret, client=client).wait(**WAIT)
    assert client.get_account(addr(receiver))["balance"] == 1_000_000


def test_memo_is_part_of_the_signed_transaction(node: DevnetNode, client: Tron) -> None:
    sender = node.new_account(trx=2_000_000)

    txn = client.trx.transfer(addr(sender), node.treasury_address, 1_000_000).memo("order-42").build()
    info = txn.sign(sender).broadcast().wait(**WAIT)

    assert client.get_transaction(info["id"])["raw_data"]["data"] == b"order-42".hex()


async def test_async_client_many_concurrent_transfers(node: DevnetNode) -> None:
    senders = node.new_accounts(8, trx=5_000_000, usdt=2_000_000)
    receiver = PrivateKey.random()

    async with AsyncTron(AsyncHTTPProvider(node.url)) as client:
        contract = await client.get_contract(node.usdt_address)

        async def pay(key: PrivateKey) -> None:
            trx = await client.trx.transfer(addr(key), addr(receiver), 1_000_000).build()
            trc20 = (
                await (await contract.functions.transfer(addr(receiver), 500_000))
                .with_owner(addr(key))
                .fee_limit(FEE_LIMIT)
                .build()
            )
            sent = [await trx.sign(key).broadcast(), await trc20.sign(key).broadcast()]
            for ret in sent:
                await ret.wait(**WAIT)
            return int((await client.get_transaction_info(sent[1].txid))["fee"])

        fees = await asyncio.gather(*(pay(key) for key in senders))

        assert await client.get_account_balance(addr(receiver)) == Decimal(len(senders))
        assert await contract.functions.balanceOf(addr(receiver)) == 500_000 * len(senders)
        # The receiver is a new holder for whichever transfer comes first in its block, then a holder.
        assert sorted(fees) == [TO_HOLDER_FEE] * (len(senders) - 1) + [TO_NEW_HOLDER_FEE]
        for key, fee in zip(senders, fees, strict=True):
            assert (await client.get_account(addr(key)))["balance"] == 4_000_000 - fee
            assert await contract.functions.balanceOf(addr(key)) == 1_500_000


def test_contract_metadata_and_energy_estimates(node: DevnetNode, client: Tron) -> None:
    holder = node.new_account(trx=1_000_000, usdt=1_000_000)
    parameter = tron_abi.encode_abi(["address", "uint256"], [node.treasury_address, 1]).hex()

    info = client.get_contract_info(node.usdt_address)
    assert info["smart_contract"]["contract_address"] == node.usdt_address
    assert (
        client.get_estimated_energy(addr(holder), node.usdt_address, "transfer(address,uint256)", parameter)
        > 0
    )
    assert client.get_contract_info(node.treasury_address) == {}  # no contract there, as on java-tron


def test_account_resources_and_chain_parameters(node: DevnetNode, client: Tron) -> None:
    holder = node.new_account(trx=1_000_000)

    assert client.get_bandwidth(addr(holder)) == 600  # the free daily allowance
    assert client.get_account_resource(addr(holder))["freeNetLimit"] == 600
    parameters = {p["key"]: p.get("value", 0) for p in client.get_chain_parameters()}
    assert parameters["getTransactionFee"] == 0 and parameters["getEnergyFee"] == MAINNET_ENERGY_FEE
