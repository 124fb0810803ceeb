"""The `wallet/` and `walletsolidity/` endpoints tronpy (and a payment service) calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tronpy.keys import keccak256

from stack.devnet import energy, usdt, views
from stack.devnet.chain import Block, BroadcastError, Chain, decode_signed
from stack.devnet.faults import Faults
from stack.devnet.transaction_codec import (
    ACTIVE_PERMISSION_ID,
    OWNER_PERMISSION_ID,
    MalformedTransaction,
    UnsupportedContract,
    parse_raw_data,
    to_hex_address,
)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
ZERO_ADDRESS = "41" + "00" * 20  # tronpy's default caller for constant calls
SECONDS_PER_DAY = 86_400


# Wallet.broadcastTransaction's refusals before it looks at the transaction: no id is cached and
# nothing is pooled, so the same signed transaction may simply be sent again.
REFUSALS = {
    "BLOCK_UNSOLIDIFIED": "Block unsolidified.",
    "NOT_ENOUGH_EFFECTIVE_CONNECTION": "Effective connection:0 lt minEffectiveConnection:1",
    "SERVER_BUSY": "Server busy.",
}


class BadRequest(ValueError):
    """A request field is missing or malformed; answered as java-tron does, {"Error": ...}."""


class AnswerLost(Exception):
    """The node took the broadcast; the answer must never reach the client (lose_answer fault)."""

    def __init__(self, mode: str) -> None:
        super().__init__(mode)
        self.mode = mode


class WalletApi:
    def __init__(self, chain: Chain, faults: Faults, *, unfreeze_delay: float) -> None:
        self._chain = chain
        self._faults = faults
        self._unfreeze_delay = unfreeze_delay
        self.routes: dict[str, Handler] = {
            "/wallet/getnodeinfo": self.get_node_info,
            "/wallet/getnowblock": self.get_now_block,
            "/walletsolidity/getnowblock": self.get_solid_now_block,
            "/wallet/getblockbynum": self.get_block_by_num,
            "/walletsolidity/getblockbynum": self.get_solid_block_by_num,
            "/wallet/getblockbyid": self.get_block_by_id,
            "/wallet/getblock": self.get_block,
            "/walletsolidity/getblock": self.get_solid_block,
            "/wallet/getchainparameters": self.get_chain_parameters,
            "/wallet/getaccount": self.get_account,
            "/wallet/getaccountresource": self.get_account_resource,
            "/wallet/getaccountnet": self.get_account_net,
            "/wallet/getsignweight": self.get_sign_weight,
            "/wallet/broadcasttransaction": self.broadcast_transaction,
            "/wallet/gettransactionbyid": self.get_transaction_by_id,
            "/walletsolidity/gettransactionbyid": self.get_solid_transaction_by_id,
            "/wallet/gettransactioninfobyid": self.get_transaction_info_by_id,
            "/walletsolidity/gettransactioninfobyid": self.get_solid_transaction_info_by_id,
            "/wallet/getcontract": self.get_contract,
            "/wallet/getcontractinfo": self.get_contract_info,
            "/wallet/triggerconstantcontract": self.trigger_constant_contract,
            "/wallet/estimateenergy": self.estimate_energy,
        }

    def handle(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.routes[path](body)
        except BadRequest as exc:
            return {"Error": str(exc)}

    # -- node and blocks ----------------------------------------------------------------------

    def _lag_ms(self) -> int:
        lag = self._faults.params("lag")
        return int(lag["seconds"] * 1000) if lag is not None else 0

    def _head(self) -> int:
        """The head this node serves: the real one, or an older one while the lag fault is on."""
        return self._chain.visible_height(self._lag_ms())

    def _solid(self) -> int:
        # Like a real node's walletsolidity/ (the solidity node), `confirmations` behind its head.
        return self._chain.solid_below(self._head())

    def get_node_info(self, body: dict[str, Any]) -> dict[str, Any]:
        head = self._chain.block_at(self._head())
        solid = self._chain.block_at(self._chain.solid_below(head.number))
        return {
            "beginSyncNum": head.number,
            "block": f"Num:{head.number},ID:{head.block_id}",
            "solidityBlock": f"Num:{solid.number},ID:{solid.block_id}",
            "currentConnectCount": 0,
            "activeConnectCount": 0,
            "passiveConnectCount": 0,
            "totalFlow": 0,
            "peerInfoList": [],
            "configNodeInfo": {"codeVersion": "devnet", "p2pVersion": "devnet"},
            "machineInfo": {},
            "cheatWitnessInfoMap": {},
        }

    def get_now_block(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._block(self._chain.block_at(self._head()), body)

    def get_solid_now_block(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._block(self._chain.block_at(self._solid()), body)

    def get_block_by_num(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._block(self._chain.block(_int_arg(body, "num"), self._head()), body)

    def get_solid_block_by_num(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._block(self._chain.block(_int_arg(body, "num"), self._solid()), body)

    def get_block_by_id(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._block(self._chain.block_by_id(_hash_arg(body, "value"), self._head()), body)

    def get_block(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._block_req(body, self._head())

    def get_solid_block(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._block_req(body, self._solid())

    def _block_req(self, body: dict[str, Any], top: int) -> dict[str, Any]:
        """java-tron's GetBlockServlet: `id_or_num` a height (decimal string) or a block id, none for
        the latest; `detail` false (the default) answers the header alone, which is what a client
        that wants only the height, time or id should ask for: a full block carries every transaction."""
        id_or_num = body.get("id_or_num") or ""
        if not isinstance(id_or_num, str):
            raise BadRequest("id_or_num must be a string: a block height or a block id")
        if not id_or_num:
            block: Block | None = self._chain.block_at(top)
        elif id_or_num.isdecimal():
            block = self._chain.block(int(id_or_num), top)
        else:
            block = self._chain.block_by_id(_hash_arg(body, "id_or_num"), top)
        return self._block(block, body, detail=_flag(body, "detail"))

    def _block(self, block: Block | None, body: dict[str, Any], *, detail: bool = True) -> dict[str, Any]:
        if block is None:
            return {}
        txs = self._chain.block_transactions(block) if detail else []
        return views.block(block, txs, self._chain.treasury, _visible(body))

    def get_chain_parameters(self, body: dict[str, Any]) -> dict[str, Any]:
        params = {
            "getMaintenanceTimeInterval": 21_600_000,
            "getCreateAccountFee": 0,
            "getTransactionFee": 0,
            "getEnergyFee": self._chain.rules.energy_fee,
            "getMemoFee": self._chain.memo_fee,
            "getCreateNewAccountFeeInSystemContract": 0,
            "getTotalEnergyLimit": energy.TOTAL_ENERGY_LIMIT,
            "getAllowTvmTransferTrc10": 1,
            "getUnfreezeDelayDays": int(self._unfreeze_delay // SECONDS_PER_DAY),
        }
        return {"chainParameter": [{"key": k, "value": v} if v else {"key": k} for k, v in params.items()]}

    # -- accounts -----------------------------------------------------------------------------

    def get_account(self, body: dict[str, Any]) -> dict[str, Any]:
        addr = _address_arg(body, "address")
        if addr == self._chain.usdt_address:
            return views.contract_account(addr, self._chain.genesis_time, _visible(body))
        account = self._chain.account(addr)
        return views.account(account, _visible(body)) if account is not None else {}

    def get_account_resource(self, body: dict[str, Any]) -> dict[str, Any]:
        account = self._chain.account(_address_arg(body, "address"))
        return views.account_resource(account) if account is not None else {}

    def get_account_net(self, body: dict[str, Any]) -> dict[str, Any]:
        account = self._chain.account(_address_arg(body, "address"))
        return views.account_net(account) if account is not None else {}

    # -- transactions -------------------------------------------------------------------------

    def get_sign_weight(self, body: dict[str, Any]) -> dict[str, Any]:
        """How java-tron reports who may sign; tronpy takes the txID and permission from it."""
        visible = _visible(body)
        try:
            raw = parse_raw_data(body.get("raw_data"))
        except UnsupportedContract as exc:
            return {"result": {"code": "CONTRACT_VALIDATE_ERROR", "message": _hex(str(exc))}}
        except MalformedTransaction as exc:
            return {"result": {"code": "OTHER_ERROR", "message": _hex(str(exc))}}
        txid = raw.txid()
        transaction: dict[str, Any] = {
            "result": {"result": True},
            "txid": txid,
            "transaction": {
                "visible": visible,
                "txID": txid,
                "raw_data": raw.to_json(visible),
                "raw_data_hex": raw.encode().hex(),
            },
        }
        if self._chain.account(raw.owner) is None:
            # No permission for an unknown account: tronpy then signs without checking keys.
            message = _message("Account does not exist!", visible)
            return {"result": {"code": "PERMISSION_ERROR", "message": message}, "transaction": transaction}
        if raw.permission_id == OWNER_PERMISSION_ID:
            permission = views.owner_permission(raw.owner, visible)
        elif raw.permission_id == ACTIVE_PERMISSION_ID:
            permission = views.active_permission(raw.owner, visible)
        else:
            message = _message("permission isn't exit", visible)
            return {"result": {"code": "PERMISSION_ERROR", "message": message}, "transaction": transaction}
        out: dict[str, Any] = {"permission": permission, "transaction": transaction}
        approved = self._approvals(body)
        if approved:
            transaction["transaction"]["signature"] = body["signature"]
            out["approved_list"] = [views.address(s, visible) for s in approved]
        if raw.owner in approved:
            out["current_weight"] = 1
            out["result"] = {"code": "ENOUGH_PERMISSION"}
        else:
            out["result"] = {"code": "NOT_ENOUGH_PERMISSION"}
        return out

    @staticmethod
    def _approvals(body: dict[str, Any]) -> list[str]:
        if not body.get("signature"):
            return []
        try:
            signed = decode_signed(body)
        except BroadcastError:
            return []
        return [s for s in signed.signers if s is not None]

    def broadcast_transaction(self, body: dict[str, Any]) -> dict[str, Any]:
        # BroadcastServlet prints Wallet.broadcastTransaction's Return with JsonFormat, which leaves
        # out a false "result", then adds the txid; the message is hex of its UTF-8 text.
        refusal = self._faults.hits("refuse")
        if refusal is not None:
            code = refusal["code"]
            return _with_txid({"code": code, "message": _hex(REFUSALS[code])}, _txid_of(body))
        try:
            lag_ms = self._lag_ms()
            txid = self._chain.submit(body, self._chain.visible_height(lag_ms) if lag_ms else None)
        except BroadcastError as exc:
            return _with_txid({"code": exc.code, "message": _hex(exc.message)}, exc.txid)
        lost = self._faults.hits("lose_answer")
        if lost is not None:
            raise AnswerLost(lost["mode"])
        return {"result": True, "txid": txid}

    def get_transaction_by_id(self, body: dict[str, Any]) -> dict[str, Any]:
        record = self._chain.transaction(_hash_arg(body, "value"), self._head())
        return views.transaction(record, _visible(body)) if record is not None else {}

    def get_solid_transaction_by_id(self, body: dict[str, Any]) -> dict[str, Any]:
        record = self._chain.transaction(_hash_arg(body, "value"), self._solid())
        return views.transaction(record, _visible(body)) if record is not None else {}

    def get_transaction_info_by_id(self, body: dict[str, Any]) -> dict[str, Any]:
        record = self._chain.transaction(_hash_arg(body, "value"), self._head())
        return views.transaction_info(record, _visible(body)) if record is not None else {}

    def get_solid_transaction_info_by_id(self, body: dict[str, Any]) -> dict[str, Any]:
        record = self._chain.transaction(_hash_arg(body, "value"), self._solid())
        return views.transaction_info(record, _visible(body)) if record is not None else {}

    # -- the USDT contract --------------------------------------------------------------------

    def get_contract(self, body: dict[str, Any]) -> dict[str, Any]:
        if _address_arg(body, "value") != self._chain.usdt_address:
            return {}
        return self._smart_contract(_visible(body))

    def get_contract_info(self, body: dict[str, Any]) -> dict[str, Any]:
        if _address_arg(body, "value") != self._chain.usdt_address:
            return {}
        return {"smart_contract": self._smart_contract(_visible(body)), "contract_state": {}}

    def _smart_contract(self, visible: bool) -> dict[str, Any]:
        # No bytecode: the token runs natively (see usdt.py), only its ABI is published.
        return {
            "origin_address": views.address(self._chain.treasury, visible),
            "contract_address": views.address(self._chain.usdt_address, visible),
            "abi": {"entrys": usdt.ABI},
            "consume_user_resource_percent": 30,
            "name": "TetherToken",
            "origin_energy_limit": 10_000_000,
        }

    def trigger_constant_contract(self, body: dict[str, Any]) -> dict[str, Any]:
        result = self._constant_call(body)
        if result is None:
            return _no_contract(body)
        out: dict[str, Any] = {
            "result": {"result": True},
            "energy_used": result.energy_used,
            "constant_result": [result.output.hex()],
        }
        if result.reverted:
            # tronpy raises TvmError on result.message and decodes the revert reason.
            out["result"]["message"] = _message("REVERT opcode executed", _visible(body))
        return out

    def estimate_energy(self, body: dict[str, Any]) -> dict[str, Any]:
        result = self._constant_call(body)
        if result is None:
            return _no_contract(body)
        if result.reverted:
            return {
                "result": {
                    "code": "CONTRACT_EXE_ERROR",
                    "message": _message("REVERT opcode executed", _visible(body)),
                }
            }
        return {"result": {"result": True}, "energy_required": result.energy_used}

    def _constant_call(self, body: dict[str, Any]) -> usdt.CallResult | None:
        if _address_arg(body, "contract_address") != self._chain.usdt_address:
            return None
        caller = _address_arg(body, "owner_address") if body.get("owner_address") else ZERO_ADDRESS
        try:
            selector = body.get("function_selector")
            if selector:
                data = keccak256(str(selector).replace(" ", "").encode())[:4] + bytes.fromhex(
                    body.get("parameter") or ""
                )
            else:
                data = bytes.fromhex(body.get("data") or "")
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"parameter / data must be hex: {exc}") from exc
        return self._chain.usdt_call(caller, data)


def _no_contract(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "result": {
            "code": "CONTRACT_VALIDATE_ERROR",
            "message": _message("Smart contract is not exist.", _visible(body)),
        }
    }


def _with_txid(answer: dict[str, Any], txid: str) -> dict[str, Any]:
    return {**answer, "txid": txid} if txid else answer


def _txid_of(body: dict[str, Any]) -> str:
    try:
        return parse_raw_data(body.get("raw_data")).txid()
    except (MalformedTransaction, UnsupportedContract):
        return ""


def _flag(body: dict[str, Any], field: str) -> bool:
    return body.get(field) in (True, "true", "True")


def _visible(body: dict[str, Any]) -> bool:
    return _flag(body, "visible")


def _hex(text: str) -> str:
    return text.encode().hex()


def _message(text: str, visible: bool) -> str:
    # java-tron prints bytes fields as text when visible=true and as hex otherwise.
    return text if visible else _hex(text)


def _address_arg(body: dict[str, Any], field: str) -> str:
    try:
        return to_hex_address(body.get(field))
    except ValueError as exc:
        raise BadRequest(f"invalid {field}: {exc}") from exc


def _int_arg(body: dict[str, Any], field: str) -> int:
    value = body.get(field)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadRequest(f"{field} must be an integer")
    try:
        return int(value)
    except ValueError as exc:
        raise BadRequest(f"{field} must be an integer") from exc


def _hash_arg(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str) or len(value) != 64:
        raise BadRequest(f"{field} must be a 32-byte hex string")
    try:
        return bytes.fromhex(value).hex()
    except ValueError as exc:
        raise BadRequest(f"{field} must be a 32-byte hex string") from exc
