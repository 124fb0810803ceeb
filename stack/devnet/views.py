"""Chain objects rendered as the java-tron HTTP API renders them.

Like java-tron's JSON printer, zero / empty fields are left out (a fresh account has no
"balance"), addresses are base58 when the request said visible=true and hex otherwise.
"""

from __future__ import annotations

import time
from typing import Any

from tronpy import keys

from stack.devnet import energy
from stack.devnet.chain import Block, TxRecord
from stack.devnet.ledger import Account
from stack.devnet.transaction_codec import ACTIVE_PERMISSION_ID, TRIGGER

# Static bandwidth figures: 1 staked TRX buys 1 bandwidth point, as on mainnet lately (energy: energy.py).
FREE_NET_LIMIT = 600
TOTAL_NET_LIMIT = 43_200_000_000
TOTAL_NET_WEIGHT = 43_200_000_000
WINDOW_SIZE = 28_800
ACTIVE_OPERATIONS = "7fff1fc0033e0300000000000000000000000000000000000000000000000000"
SIGNATURE_BYTES = 65
# TransactionInfo.resMessage as java-tron's Program / VM write it for each failed contractResult.
RESULT_MESSAGES = {
    "REVERT": "REVERT opcode executed",
    "OUT_OF_ENERGY": "Not enough energy for 'SSTORE' operation executing",
}


def address(hex_address: str, visible: bool) -> str:
    return str(keys.to_base58check_address(hex_address)) if visible else hex_address


def owner_permission(owner: str, visible: bool) -> dict[str, Any]:
    return {
        "permission_name": "owner",
        "threshold": 1,
        "keys": [{"address": address(owner, visible), "weight": 1}],
    }


def active_permission(owner: str, visible: bool) -> dict[str, Any]:
    return {
        "type": "Active",
        "id": ACTIVE_PERMISSION_ID,
        "permission_name": "active",
        "threshold": 1,
        "operations": ACTIVE_OPERATIONS,
        "keys": [{"address": address(owner, visible), "weight": 1}],
    }


def block(blk: Block, txs: list[TxRecord], witness: str, visible: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "blockID": blk.block_id,
        "block_header": {
            "raw_data": {
                "number": blk.number,
                "txTrieRoot": blk.tx_trie_root,
                "witness_address": address(witness, visible),
                "parentHash": blk.parent_id,
                "version": 30,
                "timestamp": blk.timestamp,
            },
        },
    }
    if txs:
        out["transactions"] = [transaction(tx, visible) for tx in txs]
    return out


def transaction(tx: TxRecord, visible: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if tx.execution is not None:
        out["ret"] = [{"contractRet": tx.execution.result}]
    out.update(
        signature=list(tx.signatures),
        txID=tx.txid,
        raw_data=tx.raw.to_json(visible),
        raw_data_hex=tx.raw_hex,
    )
    return out


def transaction_info(tx: TxRecord, visible: bool) -> dict[str, Any]:
    ex = tx.execution
    if ex is None:
        return {}
    net_usage = len(tx.raw_hex) // 2 + SIGNATURE_BYTES * len(tx.signatures)
    out: dict[str, Any] = {
        "id": tx.txid,
        "fee": ex.fee + ex.memo_fee,  # TransactionInfoCapsule: the receipt's energy fee + the memo fee
        "blockNumber": tx.block_number,
        "blockTimeStamp": tx.block_timestamp,
        "contractResult": [ex.output.hex()],
    }
    if tx.raw.contract_type != TRIGGER:
        # System contracts carry no receipt.result on java-tron, only the bandwidth used.
        out["receipt"] = {"net_usage": net_usage}
    else:
        out["contract_address"] = address(tx.raw.params["contract_address"], visible)
        out["receipt"] = {
            "energy_usage_total": ex.energy_used,
            "net_usage": net_usage,
            "result": ex.result,
        }
        if ex.energy_from_stake:
            out["receipt"]["energy_usage"] = ex.energy_from_stake
        if ex.fee:
            out["receipt"]["energy_fee"] = ex.fee
        if ex.logs:
            contract = tx.raw.params["contract_address"]
            # TVM log addresses are 20 bytes (no 41 prefix) unless rendered visible.
            log_address = address(contract, True) if visible else contract[2:]
            out["log"] = [
                {"address": log_address, "topics": list(log.topics), "data": log.data} for log in ex.logs
            ]
        if ex.reverted:
            out["result"] = "FAILED"
            out["resMessage"] = RESULT_MESSAGES[ex.result].encode().hex()
    if ex.withdraw_expire_amount:
        out["withdraw_expire_amount"] = ex.withdraw_expire_amount
    return out


def account(acct: Account, visible: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"address": address(acct.address, visible)}
    if acct.balance:
        out["balance"] = acct.balance
    out["create_time"] = acct.create_time
    out["net_window_size"] = WINDOW_SIZE
    out["account_resource"] = {"energy_window_size": WINDOW_SIZE}
    out["owner_permission"] = owner_permission(acct.address, visible)
    out["active_permission"] = [active_permission(acct.address, visible)]
    frozen_bandwidth = acct.frozen.get("BANDWIDTH", 0)
    frozen_energy = acct.frozen.get("ENERGY", 0)
    # java-tron always lists the three frozenV2 slots; BANDWIDTH is the enum default so has no "type".
    out["frozenV2"] = [
        {"amount": frozen_bandwidth} if frozen_bandwidth else {},
        {"type": "ENERGY", "amount": frozen_energy} if frozen_energy else {"type": "ENERGY"},
        {"type": "TRON_POWER"},
    ]
    if acct.unfreezing:
        out["unfrozenV2"] = [
            {
                **({"type": u.resource} if u.resource != "BANDWIDTH" else {}),
                "unfreeze_amount": u.amount,
                "unfreeze_expire_time": u.expire_time,
            }
            for u in acct.unfreezing
        ]
    return out


def contract_account(contract: str, create_time: int, visible: bool) -> dict[str, Any]:
    return {"address": address(contract, visible), "create_time": create_time, "type": "Contract"}


def account_resource(acct: Account) -> dict[str, Any]:
    out: dict[str, Any] = {
        "freeNetLimit": FREE_NET_LIMIT,
        "TotalNetLimit": TOTAL_NET_LIMIT,
        "TotalNetWeight": TOTAL_NET_WEIGHT,
        "TotalEnergyLimit": energy.TOTAL_ENERGY_LIMIT,
        "TotalEnergyWeight": energy.TOTAL_ENERGY_WEIGHT,
    }
    net_limit = acct.frozen.get("BANDWIDTH", 0) // 1_000_000 * TOTAL_NET_LIMIT // TOTAL_NET_WEIGHT
    energy_limit = energy.staked_limit(acct)
    energy_used = energy.used(acct, int(time.time() * 1000))
    tron_power = sum(acct.frozen.values()) // 1_000_000
    if net_limit:
        out["NetLimit"] = net_limit
    if energy_limit:
        out["EnergyLimit"] = energy_limit
    if energy_used:
        out["EnergyUsed"] = energy_used
    if tron_power:
        out["tronPowerLimit"] = tron_power
    return out


def account_net(acct: Account) -> dict[str, Any]:
    resource = account_resource(acct)
    keep = ("freeNetLimit", "NetLimit", "TotalNetLimit", "TotalNetWeight")
    return {k: v for k, v in resource.items() if k in keep}
