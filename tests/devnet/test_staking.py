"""Stake 2.0: freeze, unfreeze into a delayed queue, withdraw once the delay (2 s here) has passed."""

from __future__ import annotations

import time

import pytest
from tronpy import Tron
from tronpy.exceptions import ValidationError
from tronpy.keys import PrivateKey

from harness.waiting import wait_for
from tests.devnet.harness import UNFREEZE_DELAY, DevnetNode

TRX = 1_000_000
WAIT = {"timeout": 10, "interval": 0.05}


def addr(key: PrivateKey) -> str:
    return str(key.public_key.to_base58check_address())


def test_freeze_unfreeze_and_withdraw_after_the_delay(node: DevnetNode, client: Tron) -> None:
    owner = node.new_account(trx=20 * TRX)

    client.trx.freeze_balance(addr(owner), 10 * TRX, "ENERGY").build().sign(owner).broadcast().wait(**WAIT)
    account = client.get_account(addr(owner))
    assert account["balance"] == 10 * TRX
    assert {"type": "ENERGY", "amount": 10 * TRX} in account["frozenV2"]
    assert client.get_energy(addr(owner)) > 0

    unfreeze = (
        client.trx.unfreeze_balance(addr(owner), "ENERGY", unfreeze_balance=4 * TRX).build().sign(owner)
    )
    info = unfreeze.broadcast().wait(**WAIT)
    account = client.get_account(addr(owner))
    assert {"type": "ENERGY", "amount": 6 * TRX} in account["frozenV2"]
    [pending] = account["unfrozenV2"]
    assert pending == {
        "type": "ENERGY",
        "unfreeze_amount": 4 * TRX,
        "unfreeze_expire_time": info["blockTimeStamp"] + int(UNFREEZE_DELAY * 1000),
    }

    with pytest.raises(ValidationError, match="no unFreeze balance to withdraw"):
        client.trx.withdraw_stake_balance(addr(owner)).build().sign(owner).broadcast()

    wait_for(lambda: time.time() * 1000 > pending["unfreeze_expire_time"], 10.0, "the unfreeze delay")
    info = client.trx.withdraw_stake_balance(addr(owner)).build().sign(owner).broadcast().wait(**WAIT)

    assert info["withdraw_expire_amount"] == 4 * TRX
    account = client.get_account(addr(owner))
    assert account["balance"] == 14 * TRX
    assert "unfrozenV2" not in account


def test_invalid_stake_operations_are_refused(node: DevnetNode, client: Tron) -> None:
    owner = node.new_account(trx=5 * TRX)

    with pytest.raises(ValidationError, match="greater than or equal to 1 TRX"):
        client.trx.freeze_balance(addr(owner), TRX - 1, "BANDWIDTH").build().sign(owner).broadcast()
    with pytest.raises(ValidationError, match="less than or equal to accountBalance"):
        client.trx.freeze_balance(addr(owner), 6 * TRX, "BANDWIDTH").build().sign(owner).broadcast()
    with pytest.raises(ValidationError, match="no frozenBalance"):
        client.trx.unfreeze_balance(addr(owner), "BANDWIDTH", unfreeze_balance=TRX).build().sign(
            owner
        ).broadcast()

    client.trx.freeze_balance(addr(owner), 2 * TRX, "BANDWIDTH").build().sign(owner).broadcast().wait(**WAIT)
    assert client.get_account(addr(owner))["frozenV2"][0] == {"amount": 2 * TRX}
    with pytest.raises(ValidationError, match="Invalid unfreeze_balance"):
        client.trx.unfreeze_balance(addr(owner), "BANDWIDTH", unfreeze_balance=3 * TRX).build().sign(
            owner
        ).broadcast()
