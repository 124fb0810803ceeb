"""The TRON full node, through tronpy: balances, signing, broadcast, confirmation."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import aiohttp
from tronpy import AsyncTron, keys
from tronpy.abi import tron_abi
from tronpy.async_contract import AsyncContract
from tronpy.keys import PrivateKey
from tronpy.proto import transaction as transaction_proto
from tronpy.providers.async_http import AsyncHTTPProvider
from tronpy.version import VERSION as TRONPY_VERSION

from service import metrics

SignedTx = dict[str, Any]
FEE_LIMIT_SUN = 50_000_000  # ceiling a TRC20 call may burn for energy
BROADCAST = "wallet/broadcasttransaction"
TRC20_TRANSFER_SELECTOR = "a9059cbb"  # transfer(address,uint256)
DEFAULT_TX_LIFETIME_MS = 60_000  # tronpy's default expiration: signed now, valid for a minute
CHAIN_PARAMETERS_TTL_S = 600.0  # chain parameters change by committee proposal, at most each maintenance
# java-tron charges SUN_PER_ENERGY when getEnergyFee is 0 (VMActuator.getAccountEnergyLimitWithFixRatio).
SUN_PER_ENERGY = 100


class ChainUnavailable(Exception):
    """The full node cannot be reached or answers with a server error."""


class ChainTimeout(ChainUnavailable):
    """The full node did not answer in time."""


class NodeError(ChainUnavailable):
    """The node answered HTTP 200 with {"Error": ...}: java-tron's servlets report exceptions so
    (`Util.printErrorMsg`). It is an error, never a result."""


# java-tron's GrpcAPI.Return.response_code, as Wallet.broadcastTransaction answers them, by what
# each says about the transaction:
# - the node did not take it, for now (Wallet.broadcastTransaction refuses these before pushing):
TRANSIENT_CODES = frozenset(
    {"SERVER_BUSY", "NO_CONNECTION", "NOT_ENOUGH_EFFECTIVE_CONNECTION", "BLOCK_UNSOLIDIFIED"}
)
# - Manager.pushTransaction checks TaPoS and expiration BEFORE the duplicate check, so these also
#   answer a re-send of a transaction that is already in a block: they prove nothing by themselves.
STALE_CODES = frozenset({"TRANSACTION_EXPIRATION_ERROR", "TAPOS_ERROR"})
# - the node validated it and refused it: it never entered a pool, so it was never relayed.
REFUSED_CODES = frozenset(
    {
        "SIGERROR",
        "CONTRACT_VALIDATE_ERROR",
        "CONTRACT_EXE_ERROR",
        "BANDWITH_ERROR",
        "TOO_BIG_TRANSACTION_ERROR",
    }
)
# Anything else (OTHER_ERROR is java-tron's catch-all, thrown possibly after the push) is unknown.


@dataclass(frozen=True)
class Broadcast:
    """What one broadcast says: `accepted` (pooled, or a duplicate of one pooled or included),
    `transient` (not taken, try again), `stale` (expired or TaPoS: ask the chain), `refused`
    (validated and refused) or `unknown` (no usable answer: it may or may not have been taken)."""

    verdict: str
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return self.verdict == "accepted"


@dataclass(frozen=True)
class Outcome:
    """A transaction in a confirmed (solidified) block."""

    success: bool
    block_height: int
    fee: int
    reason: str = ""


class _MeteredProvider(AsyncHTTPProvider):
    """tronpy's provider, timed per node method, with transport errors and {"Error"} answers made
    explicit (the broadcast reads its own answers: there an error is an unknown outcome).

    Requests go through one aiohttp session with a keep-alive pool instead of tronpy's httpx client:
    the same POST with a JSON body, the same headers (tronpy's `make_request`), for about a third of
    the client-side CPU per call (httpx's request building, cookie jar and per-call connection checks
    were a fifth of a payout request's CPU). `timeout` bounds the whole call, as tight as httpx's
    per-phase one or tighter."""

    _session: aiohttp.ClientSession | None = None

    async def make_request(self, method: str, params: Any = None) -> dict:
        started = time.perf_counter()
        try:
            answer = await self._post(method, params or {})
        except TimeoutError as exc:
            raise ChainTimeout(f"full node timed out on {method}") from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise ChainUnavailable(f"full node unavailable on {method}: {exc}") from exc
        finally:
            metrics.NODE_REQUEST_DURATION.labels(method=method).observe(time.perf_counter() - started)
        if isinstance(answer, dict) and "Error" in answer and method != BROADCAST:
            raise NodeError(f"full node error on {method}: {str(answer['Error'])[:200]}")
        return answer

    async def _post(self, method: str, params: Any) -> Any:
        headers = {"User-Agent": f"Tronpy/{TRONPY_VERSION}", "Content-Type": "application/json"}
        if self.use_api_key:
            headers["Tron-Pro-Api-Key"] = self.random_api_key
        if self.jw_token is not None:
            headers["Authorization"] = f"Bearer {self.jw_token}"
        if self._session is None:  # made on the loop that uses it (aiohttp binds a session to one)
            # trust_env off: with it aiohttp looks up proxy variables and ~/.netrc in a thread on
            # every call (a third of the calls' CPU); the node is reached directly, no deployment here
            # sets a proxy.
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout), trust_env=False
            )
        url = urljoin(self.endpoint_uri, method)
        async with self._session.post(url, data=json.dumps(params), headers=headers) as resp:
            body = await resp.read()
            if self.use_api_key and resp.status == 403 and b"Exceed the user daily usage" in body:
                await self._handle_rate_limit(headers["Tron-Pro-Api-Key"])  # as tronpy does: next key
                return await self._post(method, params)
            resp.raise_for_status()
        return json.loads(body)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class Chain:
    def __init__(
        self,
        fullnode_url: str,
        usdt_contract: str,
        api_key: str | None = None,
        timeout: float = 10.0,
        network_name: str = "devnet",
        tx_lifetime_ms: int = DEFAULT_TX_LIFETIME_MS,
        operation_memo: bool = True,
    ):
        self.network_name = network_name
        self.tx_lifetime_ms = tx_lifetime_ms
        # Each transaction carries its operation's identity in raw_data.data (the memo), so a restore
        # can rebuild from the chain what the database lost; it costs getMemoFee per transaction.
        self.operation_memo = operation_memo
        self._parameters: tuple[float, dict[str, int]] | None = None  # (read at, chain parameters)
        self._genesis_id: str | None = None
        self._client = AsyncTron(provider=_MeteredProvider(fullnode_url, timeout=timeout, api_key=api_key))
        self._provider = self._client.provider
        self.usdt_contract = usdt_contract
        self._usdt: AsyncContract | None = None

    async def close(self) -> None:
        await self._provider.close()
        await self._client.close()

    async def _call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self._provider.make_request(method, {**(params or {}), "visible": True})

    # -- network ------------------------------------------------------------------------------
    async def node_info(self) -> dict[str, Any]:
        return await self._call("wallet/getnodeinfo")

    # getblock with `detail` false answers the header alone; getnowblock (and tronpy's
    # get_latest_solid_block_id's fallback) sends the whole block, hundreds of transactions on mainnet,
    # for a height, a time or an id (java-tron's GetBlockServlet).
    async def head_block(self) -> tuple[int, int]:
        """(height, block timestamp in ms) of the latest block."""
        return _header(await self._latest_header("wallet"))

    async def solid_block(self) -> tuple[int, int]:
        """(height, block timestamp in ms) of the latest solidified (irreversible) block."""
        return _header(await self._latest_header("walletsolidity"))

    async def _latest_header(self, view: str) -> dict[str, Any]:
        return await self._call(f"{view}/getblock", {"detail": False})

    async def genesis_block_id(self) -> str:
        """Block 0's id identifies the chain (mainnet, Nile, Shasta, a devnet)."""
        if self._genesis_id is None:
            block = await self._call("wallet/getblockbynum", {"num": 0})
            self._genesis_id = str(block.get("blockID", ""))
        return self._genesis_id

    async def chain_parameters(self) -> dict[str, int]:
        params = await self._call("wallet/getchainparameters")
        return {p["key"]: int(p.get("value", 0)) for p in params.get("chainParameter", [])}

    async def _cached_parameters(self) -> dict[str, int]:
        if self._parameters is None or time.monotonic() - self._parameters[0] > CHAIN_PARAMETERS_TTL_S:
            self._parameters = (time.monotonic(), await self.chain_parameters())
        return self._parameters[1]

    async def memo_fee(self) -> int:
        """SUN each transaction this service signs burns for its memo: getMemoFee (0 without memos)."""
        if not self.operation_memo:
            return 0
        return (await self._cached_parameters()).get("getMemoFee", 0)

    async def energy_fee(self) -> int:
        """SUN burned per energy unit a contract call uses beyond the caller's staked energy."""
        return (await self._cached_parameters()).get("getEnergyFee", 0) or SUN_PER_ENERGY

    async def staked_energy_left(self, address: str) -> int:
        """The energy the address's staked TRX still gives today, which its calls use before burning
        TRX (getaccountresource: EnergyLimit less EnergyUsed)."""
        resource = await self._call("wallet/getaccountresource", {"address": address})
        return max(int(resource.get("EnergyLimit", 0)) - int(resource.get("EnergyUsed", 0)), 0)

    async def usdt_transfer_energy(self, owner: str, to: str, amount: int) -> int:
        """The energy a USDT transfer from `owner` would use now, as the node runs it without sending
        it (triggerconstantcontract's energy_used: more to an address that never held USDT)."""
        parameter = tron_abi.encode_abi(["address", "uint256"], [keys.to_hex_address(to), amount]).hex()
        result = await self._trigger_constant("transfer(address,uint256)", owner, parameter)
        return int(result.get("energy_used", 0))

    # -- balances -----------------------------------------------------------------------------
    async def account(self, address: str) -> dict[str, Any]:
        """The raw account, {} for an address the chain has not seen."""
        return await self._call("wallet/getaccount", {"address": address})

    async def trx_account(self, address: str) -> tuple[bool, int]:
        """Whether the chain has seen the address (activated: it has held TRX) and its TRX balance, from
        one getaccount."""
        account = await self.account(address)
        return bool(account), int(account.get("balance", 0))

    async def trx_balance(self, address: str) -> int:
        return (await self.trx_account(address))[1]

    async def usdt_balance(self, address: str) -> int:
        return await self._constant("balanceOf(address)", ["address"], [address])

    async def usdt_allowance(self, owner: str, spender: str) -> int:
        return await self._constant("allowance(address,address)", ["address", "address"], [owner, spender])

    async def balance(self, address: str, currency: str) -> int:
        return await (self.usdt_balance(address) if currency == "USDT" else self.trx_balance(address))

    async def _constant(self, selector: str, types: list[str], args: list[str]) -> int:
        parameter = tron_abi.encode_abi(types, [keys.to_hex_address(a) for a in args]).hex()
        result = await self._trigger_constant(selector, args[0], parameter)
        values = result.get("constant_result") or []
        if not values:
            raise ChainUnavailable(f"full node gave no result for {selector}: {result}")
        return int(values[0] or "0", 16)

    async def _trigger_constant(self, selector: str, owner: str, parameter: str) -> dict[str, Any]:
        return await self._call(
            "wallet/triggerconstantcontract",
            {
                "owner_address": owner,
                "contract_address": self.usdt_contract,
                "function_selector": selector,
                "parameter": parameter,
            },
        )

    # -- signing ------------------------------------------------------------------------------
    async def sign_transfer(
        self, key: PrivateKey, to: str, amount: int, currency: str, memo: str = ""
    ) -> SignedTx:
        owner = key.public_key.to_base58check_address()
        if currency == "USDT":
            usdt = await self._usdt_contract()
            builder = (await usdt.functions.transfer(to, amount)).with_owner(owner).fee_limit(FEE_LIMIT_SUN)
        else:
            builder = self._client.trx.transfer(owner, to, amount)
        return await self._sign(builder, key, memo)

    async def sign_approve(self, key: PrivateKey, spender: str, amount: int, memo: str = "") -> SignedTx:
        owner = key.public_key.to_base58check_address()
        usdt = await self._usdt_contract()
        builder = (await usdt.functions.approve(spender, amount)).with_owner(owner).fee_limit(FEE_LIMIT_SUN)
        return await self._sign(builder, key, memo)

    async def sign_stake(self, key: PrivateKey, amount: int, resource: str, memo: str = "") -> SignedTx:
        owner = key.public_key.to_base58check_address()
        builder = self._client.trx.freeze_balance(owner, amount, resource)
        return await self._sign(builder, key, memo, offline=False)

    async def sign_unstake(self, key: PrivateKey, amount: int, resource: str, memo: str = "") -> SignedTx:
        owner = key.public_key.to_base58check_address()
        builder = self._client.trx.unfreeze_balance(owner, resource, unfreeze_balance=amount)
        return await self._sign(builder, key, memo, offline=False)

    async def sign_withdraw_unstaked(self, key: PrivateKey, memo: str = "") -> SignedTx:
        owner = key.public_key.to_base58check_address()
        return await self._sign(self._client.trx.withdraw_stake_balance(owner), key, memo, offline=False)

    async def _usdt_contract(self) -> AsyncContract:
        if self._usdt is None:
            self._usdt = await self._client.get_contract(self.usdt_contract)
        return self._usdt

    async def _sign(self, builder: Any, key: PrivateKey, memo: str, *, offline: bool = True) -> SignedTx:
        builder = builder.expiration(self.tx_lifetime_ms)
        if memo and self.operation_memo:
            builder = builder.memo(memo)
        if offline:
            # Built against the latest solid block with the txID computed here: no extra node round trip.
            ref_block_id = _block_id(await self._latest_header("walletsolidity"))
            txn = await builder.build(offline=True, ref_block_id=ref_block_id)
            txn.txid = _txid(txn.to_json()["raw_data"])
        else:
            txn = await builder.build()  # tronpy cannot encode Stake 2.0 itself; the node computes the id
        return dict(txn.sign(key).to_json())

    # -- broadcast and confirmation -----------------------------------------------------------
    async def broadcast(self, signed: SignedTx) -> Broadcast:
        """Send a signed transaction; never raises: a lost answer is an `unknown` verdict."""
        try:
            result = await self._provider.make_request(BROADCAST, signed)
        except ChainUnavailable as exc:
            return Broadcast("unknown", str(exc))
        if not isinstance(result, dict) or "Error" in result:
            return Broadcast("unknown", f"node error: {str(result)[:200]}")
        if result.get("result") is True:
            if result.get("txid", signed["txID"]) != signed["txID"]:
                return Broadcast("unknown", f"node answered for another transaction: {result.get('txid')}")
            return Broadcast("accepted")
        code = str(result.get("code", "UNKNOWN"))
        try:
            message = bytes.fromhex(str(result.get("message", ""))).decode()
        except ValueError:
            message = str(result.get("message", ""))
        reason = f"{code}: {message}".strip(": ")
        if code == "DUP_TRANSACTION_ERROR":
            return Broadcast("accepted", reason)
        for verdict, codes in (
            ("transient", TRANSIENT_CODES),
            ("stale", STALE_CODES),
            ("refused", REFUSED_CODES),
        ):
            if code in codes:
                return Broadcast(verdict, reason)
        return Broadcast("unknown", reason)

    async def outcome(self, txid: str) -> Outcome | None:
        """The transaction's result once its block is solidified; None until then. Only a receipt
        for this very txid with a block number counts."""
        info = await self._call("walletsolidity/gettransactioninfobyid", {"value": txid})
        if not _receipt_for(info, txid):
            return None
        receipt = info.get("receipt", {})
        result = receipt.get("result", "SUCCESS")  # TRX transfers carry no result field
        failed = result != "SUCCESS" or info.get("result") == "FAILED"
        reason = "" if not failed else _decode_reason(info) or f"contract result {result}"
        return Outcome(
            success=not failed,
            block_height=int(info["blockNumber"]),
            fee=int(info.get("fee", 0)),
            reason=reason,
        )

    async def included_in(self, txid: str) -> int | None:
        """The number of the block (solidified or not) holding the transaction; None if the node
        knows of no block with it (a node answers {} while it is only pooled)."""
        info = await self._call("wallet/gettransactioninfobyid", {"value": txid})
        return int(info["blockNumber"]) if _receipt_for(info, txid) else None

    async def settled_transfer(self, txid: str) -> tuple[str, int] | None:
        """(recipient, amount) a solidified transfer moved, TRX or TRC20 USDT; None if the solidified
        chain has no successful transaction with this id (or it is no transfer)."""
        outcome = await self.outcome(txid)
        if outcome is None or not outcome.success:
            return None
        tx = await self._call("walletsolidity/gettransactionbyid", {"value": txid})
        try:
            value = tx["raw_data"]["contract"][0]["parameter"]["value"]
        except (KeyError, IndexError, TypeError):
            return None
        data = str(value.get("data", ""))
        if data.startswith(TRC20_TRANSFER_SELECTOR):
            to_hex, amount = tron_abi.decode_abi(["address", "uint256"], bytes.fromhex(data[8:]))
            return str(keys.to_base58check_address(to_hex)), int(amount)
        if "to_address" in value:
            return str(keys.to_base58check_address(value["to_address"])), int(value.get("amount", 0))
        return None


def _txid(raw_data: dict[str, Any]) -> str:
    """sha256 of the protobuf raw_data, as java-tron computes it. tronpy's offline id leaves out
    raw_data.data (Transaction.raw field 10, the memo): a memo'd transaction signed over that id is
    refused with SIGERROR, so the memo is put into the encoding here."""
    raw = transaction_proto._raw_data_to_protobuf(raw_data)
    if raw_data.get("data"):
        raw.data = bytes.fromhex(raw_data["data"])
    return hashlib.sha256(raw.SerializeToString()).hexdigest()


def _header(block: dict[str, Any]) -> tuple[int, int]:
    try:
        header = block["block_header"]["raw_data"]
        return int(header.get("number", 0)), int(header["timestamp"])
    except (KeyError, TypeError, ValueError) as exc:
        raise NodeError(f"full node answered no block header: {str(block)[:200]}") from exc


def _block_id(block: dict[str, Any]) -> str:
    block_id = block.get("blockID")
    if not isinstance(block_id, str) or len(block_id) != 64:
        raise NodeError(f"full node answered no block id: {str(block)[:200]}")
    return block_id


def _receipt_for(info: dict[str, Any], txid: str) -> bool:
    return bool(info) and str(info.get("id", "")).lower() == txid.lower() and "blockNumber" in info


def _decode_reason(info: dict[str, Any]) -> str:
    raw = info.get("resMessage", "")
    try:
        return bytes.fromhex(raw).decode(errors="replace")
    except ValueError:
        return str(raw)
