"""Energy: a TRC20 call is paid from the caller's staked energy first, the rest burned in TRX, and a
caller who cannot pay for it runs out of energy in its block (stack/devnet/energy.py)."""

from __future__ import annotations

from tronpy import Tron
from tronpy.contract import Contract
from tronpy.keys import PrivateKey

from stack.devnet.config import MAINNET_ENERGY_FEE
from stack.devnet.energy import TOTAL_ENERGY_LIMIT, TOTAL_ENERGY_WEIGHT
from stack.devnet.usdt import TRANSFER_ENERGY, TRANSFER_TO_NEW_HOLDER_ENERGY
from tests.devnet.harness import DevnetNode

TRX = 1_000_000
FEE_LIMIT = 50 * TRX
WAIT = {"timeout": 10, "interval": 0.05}


def addr(key: PrivateKey) -> str:
    return str(key.public_key.to_base58check_address())


def transfer(usdt: Contract, sender: PrivateKey, to: str, amount: int) -> dict:
    txn = usdt.functions.transfer(to, amount).with_owner(addr(sender)).fee_limit(FEE_LIMIT).build()
    return dict(txn.sign(sender).broadcast().wait(**WAIT))


def test_a_call_its_caller_cannot_pay_for_runs_out_of_energy_and_burns_all_it_had(
    node: DevnetNode, client: Tron, usdt: Contract
) -> None:
    """The production failure of a USDT wallet short of TRX: the node takes the transaction, and its
    block runs it out of energy, burning every SUN the wallet held (java-tron's energy limit is what
    the caller can pay), moving no token."""
    sender, receiver = node.new_account(trx=1 * TRX, usdt=5 * TRX), PrivateKey.random()
    assert TRANSFER_TO_NEW_HOLDER_ENERGY * MAINNET_ENERGY_FEE > 1 * TRX

    info = transfer(usdt, sender, addr(receiver), 1 * TRX)

    assert (info["result"], info["receipt"]["result"]) == ("FAILED", "OUT_OF_ENERGY")
    assert info["receipt"]["energy_usage_total"] == 1 * TRX // MAINNET_ENERGY_FEE
    assert info["fee"] == info["receipt"]["energy_fee"] == 1 * TRX
    assert "balance" not in client.get_account(addr(sender))  # nothing left
    assert usdt.functions.balanceOf(addr(sender)) == 5 * TRX
    assert usdt.functions.balanceOf(addr(receiver)) == 0


def test_staked_energy_pays_first_then_trx_is_burned_for_the_rest(
    node: DevnetNode, client: Tron, usdt: Contract
) -> None:
    owner = node.new_account(trx=2_010 * TRX, usdt=5 * TRX)
    client.trx.freeze_balance(addr(owner), 2_000 * TRX, "ENERGY").build().sign(owner).broadcast().wait(**WAIT)
    staked = 2_000 * TOTAL_ENERGY_LIMIT // TOTAL_ENERGY_WEIGHT  # 10 energy a day per staked TRX
    assert client.get_account_resource(addr(owner))["EnergyLimit"] == staked < TRANSFER_TO_NEW_HOLDER_ENERGY

    first = transfer(usdt, owner, addr(PrivateKey.random()), 1 * TRX)

    assert first["receipt"]["result"] == "SUCCESS"
    assert first["receipt"]["energy_usage"] == staked  # all the staked energy, then TRX for the rest
    assert first["fee"] == (TRANSFER_TO_NEW_HOLDER_ENERGY - staked) * MAINNET_ENERGY_FEE
    assert client.get_account(addr(owner))["balance"] == 10 * TRX - first["fee"]
    used = client.get_account_resource(addr(owner))["EnergyUsed"]
    assert staked - 10 <= used <= staked  # recovering over 24 hours: a few units in these seconds

    second = transfer(usdt, owner, node.treasury_address, 1 * TRX)  # the treasury holds USDT already

    assert second["receipt"]["result"] == "SUCCESS"
    assert second["receipt"].get("energy_usage", 0) <= 10  # what recovered since the first
    assert second["fee"] == (TRANSFER_ENERGY - second["receipt"].get("energy_usage", 0)) * MAINNET_ENERGY_FEE
