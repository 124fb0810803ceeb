"""The faucet: transfers signed with the treasury key and submitted like any broadcast."""

from __future__ import annotations

import itertools
import time
from typing import Any

from tronpy.abi import tron_abi
from tronpy.keys import PrivateKey, keccak256

from stack.devnet.chain import Chain
from stack.devnet.transaction_codec import TRANSFER, TRIGGER, parse_raw_data

FAUCET_FEE_LIMIT = 100_000_000
EXPIRATION_MS = 60_000
_TRANSFER_SELECTOR = keccak256(b"transfer(address,uint256)")[:4]


class Faucet:
    def __init__(self, chain: Chain, treasury_key: PrivateKey) -> None:
        self._chain = chain
        self._key = treasury_key
        self._serial = itertools.count(1)

    def send(self, to: str, amount: int, currency: str) -> str:
        """Pay `amount` base units of TRX or USDT to hex address `to`; returns the txid."""
        treasury, now = self._chain.treasury, int(time.time() * 1000)
        if currency == "TRX":
            contract_type = TRANSFER
            value: dict[str, Any] = {"owner_address": treasury, "to_address": to, "amount": amount}
        else:
            contract_type = TRIGGER
            call = _TRANSFER_SELECTOR + tron_abi.encode(["address", "uint256"], [to, amount])
            value = {
                "owner_address": treasury,
                "contract_address": self._chain.usdt_address,
                "data": call.hex(),
            }
        ref_block_id = self._chain.solid_block().block_id
        raw = {
            "contract": [
                {
                    "parameter": {
                        "value": value,
                        "type_url": f"type.googleapis.com/protocol.{contract_type}",
                    },
                    "type": contract_type,
                }
            ],
            "ref_block_bytes": ref_block_id[12:16],
            "ref_block_hash": ref_block_id[16:32],
            "expiration": now + EXPIRATION_MS,
            "timestamp": now,
            # A serial memo keeps two identical payouts in the same millisecond from sharing a txid.
            "data": f"devnet faucet #{next(self._serial)}".encode().hex(),
        }
        if contract_type == TRIGGER:
            raw["fee_limit"] = FAUCET_FEE_LIMIT
        txid = parse_raw_data(raw).txid()
        signature = self._key.sign_msg_hash(bytes.fromhex(txid)).hex()
        return self._chain.submit({"txID": txid, "raw_data": raw, "signature": [signature]})
