"""The TRON full node, through tronpy: balances, signing, broadcast, confirmation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from tronpy import AsyncTron, keys
from tronpy.abi import tron_abi
from tronpy.async_contract import AsyncContract
from tronpy.keys import PrivateKey
from tronpy.providers.async_http import AsyncHTTPProvider

from service import metrics

SignedTx = dict[str, Any]
FEE_LIMIT_SUN = 50_000_000  # ceiling a TRC20 call may burn for energy


class ChainUnavailable(Exception):
    """The full node cannot be reached or answers with a server error."""


class ChainTimeout(ChainUnavailable):
    """The full node did not answer in time."""


@dataclass(frozen=True)
class Broadcast:
    accepted: bool  # in the node's pool now, or already there (a replay of the same signed tx)
    reason: str = ""  # why the node refused it, when not accepted


@dataclass(frozen=True)
class Outcome:
    """A transaction in a confirmed (solidified) block."""

    success: bool
    block_height: int
    fee: int
    reason: str = ""


class _MeteredProvider(AsyncHTTPProvider):
    """tronpy's provider, timed per node method, with transport errors made explicit."""

    async def make_request(self, method: str, params: Any = None) -> dict:
        started = time.perf_counter()
        try:
            return await super().make_request(method, params)
        except httpx.TimeoutException as exc:
            raise ChainTimeout(f"full node timed out on {method}") from exc
        except (httpx.TransportError, httpx.HTTPStatusError, ValueError) as exc:
            raise ChainUnavailable(f"full node unavailable on {method}: {exc}") from exc
        finally:
            metrics.NODE_REQUEST_DURATION.labels(method=method).observe(time.perf_counter() - started)


class Chain:
    def __init__(
        self,
        fullnode_url: str,
        usdt_contract: str,
        api_key: str | None = None,
        timeout: float = 10.0,
        network_name: str = "devnet",
    ):
        self.network_name = network_name
        self._genesis_id: str | None = None
        self._client = AsyncTron(provider=_MeteredProvider(fullnode_url, timeout=timeout, api_key=api_key))
        self._provider = self._client.provider
        self.usdt_contract = usdt_contract
        self._usdt: AsyncContract | None = None

    async def close(self) -> None:
        await self._client.close()

    async def _call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self._provider.make_request(method, {**(params or {}), "visible": True})

    # -- network ------------------------------------------------------------------------------
    async def node_info(self) -> dict[str, Any]:
        return await self._call("wallet/getnodeinfo")

    async def head_block(self) -> tuple[int, int]:
        """(height, block timestamp in ms) of the latest block."""
        block = await self._call("wallet/getnowblock")
        header = block["block_header"]["raw_data"]
        return int(header.get("number", 0)), int(header.get("timestamp", 0))

    async def genesis_block_id(self) -> str:
        """Block 0's id identifies the chain (mainnet, Nile, Shasta, a devnet)."""
        if self._genesis_id is None:
            block = await self._call("wallet/getblockbynum", {"num": 0})
            self._genesis_id = str(block.get("blockID", ""))
        return self._genesis_id

    async def chain_parameters(self) -> dict[str, int]:
        params = await self._call("wallet/getchainparameters")
        return {p["key"]: int(p.get("value", 0)) for p in params.get("chainParameter", [])}

    # -- balances -----------------------------------------------------------------------------
    async def account(self, address: str) -> dict[str, Any]:
        """The raw account, {} for an address the chain has not seen."""
        return await self._call("wallet/getaccount", {"address": address})

    async def trx_balance(self, address: str) -> int:
        return int((await self.account(address)).get("balance", 0))

    async def usdt_balance(self, address: str) -> int:
        return await self._constant("balanceOf(address)", ["address"], [address])

    async def usdt_allowance(self, owner: str, spender: str) -> int:
        return await self._constant("allowance(address,address)", ["address", "address"], [owner, spender])

    async def balance(self, address: str, currency: str) -> int:
        return await (self.usdt_balance(address) if currency == "USDT" else self.trx_balance(address))

    async def _constant(self, selector: str, types: list[str], args: list[str]) -> int:
        parameter = tron_abi.encode_abi(types, [keys.to_hex_address(a) for a in args]).hex()
        result = await self._call(
            "wallet/triggerconstantcontract",
            {
                "owner_address": args[0],
                "contract_address": self.usdt_contract,
                "function_selector": selector,
                "parameter": parameter,
            },
        )
        values = result.get("constant_result") or []
        if not values:
            raise ChainUnavailable(f"full node gave no result for {selector}: {result}")
        return int(values[0] or "0", 16)

    # -- signing ------------------------------------------------------------------------------
    async def sign_transfer(self, key: PrivateKey, to: str, amount: int, currency: str) -> SignedTx:
        owner = key.public_key.to_base58check_address()
        if currency == "USDT":
            usdt = await self._usdt_contract()
            builder = (await usdt.functions.transfer(to, amount)).with_owner(owner).fee_limit(FEE_LIMIT_SUN)
        else:
            builder = self._client.trx.transfer(owner, to, amount)
        return await self._sign(builder, key)

    async def sign_approve(self, key: PrivateKey, spender: str, amount: int) -> SignedTx:
        owner = key.public_key.to_base58check_address()
        usdt = await self._usdt_contract()
        builder = (await usdt.functions.approve(spender, amount)).with_owner(owner).fee_limit(FEE_LIMIT_SUN)
        return await self._sign(builder, key)

    async def sign_stake(self, key: PrivateKey, amount: int, resource: str) -> SignedTx:
        owner = key.public_key.to_base58check_address()
        return await self._sign(self._client.trx.freeze_balance(owner, amount, resource), key, offline=False)

    async def sign_unstake(self, key: PrivateKey, amount: int, resource: str) -> SignedTx:
        owner = key.public_key.to_base58check_address()
        return await self._sign(
            self._client.trx.unfreeze_balance(owner, resource, unfreeze_balance=amount), key, offline=False
        )

    async def sign_withdraw_unstaked(self, key: PrivateKey) -> SignedTx:
        owner = key.public_key.to_base58check_address()
        return await self._sign(self._client.trx.withdraw_stake_balance(owner), key, offline=False)

    async def _usdt_contract(self) -> AsyncContract:
        if self._usdt is None:
            self._usdt = await self._client.get_contract(self.usdt_contract)
        return self._usdt

    async def _sign(self, builder: Any, key: PrivateKey, *, offline: bool = True) -> SignedTx:
        if offline:
            # Built against the latest solid block with the txID computed here: no extra node round trip.
            ref_block_id = await self._client.get_latest_solid_block_id()
            txn = await builder.build(offline=True, ref_block_id=ref_block_id)
        else:
            txn = await builder.build()  # tronpy cannot encode Stake 2.0 itself; the node computes the id
        return dict(txn.sign(key).to_json())

    # -- broadcast and confirmation -----------------------------------------------------------
    async def broadcast(self, signed: SignedTx) -> Broadcast:
        result = await self._provider.make_request("wallet/broadcasttransaction", signed)
        if result.get("result") is True:
            return Broadcast(accepted=True)
        code = str(result.get("code", "UNKNOWN"))
        if code == "DUP_TRANSACTION_ERROR":
            return Broadcast(accepted=True)
        try:
            message = bytes.fromhex(str(result.get("message", ""))).decode()
        except ValueError:
            message = str(result.get("message", ""))
        return Broadcast(accepted=False, reason=f"{code}: {message}".strip(": "))

    async def outcome(self, txid: str) -> Outcome | None:
        """The transaction's result once its block is confirmed; None until then."""
        info = await self._call("walletsolidity/gettransactioninfobyid", {"value": txid})
        if not info:
            return None
        receipt = info.get("receipt", {})
        result = receipt.get("result", "SUCCESS")  # TRX transfers carry no result field
        failed = result != "SUCCESS" or info.get("result") == "FAILED"
        reason = "" if not failed else _decode_reason(info) or f"contract result {result}"
        return Outcome(
            success=not failed,
            block_height=int(info.get("blockNumber", 0)),
            fee=int(info.get("fee", 0)),
            reason=reason,
        )

    async def is_known(self, txid: str) -> bool:
        """Whether the transaction is in a block (a node answers {} while it is only pooled)."""
        return bool(await self._call("wallet/gettransactionbyid", {"value": txid}))


def _decode_reason(info: dict[str, Any]) -> str:
    raw = info.get("resMessage", "")
    try:
        return bytes.fromhex(raw).decode(errors="replace")
    except ValueError:
        return str(raw)
