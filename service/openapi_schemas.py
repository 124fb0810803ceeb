"""The named shapes of the OpenAPI document: every request body the routes read and every object they
return, field for field as the routes' `*_view` functions build them.

Response objects are closed (`additionalProperties: false`, every field required), so the fuzz test
catches any drift. Request bodies are closed too: the service refuses a field it does not know
(service/validation.py reads the allowed names from this document), so a typo in an optional field
cannot be silently dropped, and key material under any name is refused. The one open body is the
payment provider's webhook event: a provider that adds a field must not have confirmations refused.
"""

from __future__ import annotations

from typing import Any

from service import SERVICE_NAME
from service.operations import KINDS

Schema = dict[str, Any]

CURRENCIES = ["TRX", "USDT"]
OPERATION_KINDS = list(KINDS)
OPERATION_STATUSES = ["pending", "processing", "completed", "failed", "cancelled"]
CHAIN_STATUSES = ["pending", "submitted", "confirmed", "failed"]  # how transfers, approvals, stakes report
RESOURCES = ["ENERGY", "BANDWIDTH"]
PRIORITIES = ["low", "normal", "high"]
PERIODS = ["daily", "weekly", "monthly", "yearly", "all"]
# A real base58check address (all-zero payload), so examples get past the checksum into the handlers.
EXAMPLE_ADDRESS = "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb"
KEY_MATERIAL_NOTE = (
    "Fields not listed here are refused with 400 naming the field; so is a field whose name contains "
    "`private_key`, `secret_key`, `mnemonic` or `seed`: wallets are custodial, key material is never taken."
)
OPEN_BODY_NOTE = "Fields not listed here are kept as received: the signature covers the raw body."


# -- building blocks -------------------------------------------------------------------------------
def string(**extra: Any) -> Schema:
    return {"type": "string", **extra}


def integer(**extra: Any) -> Schema:
    return {"type": "integer", **extra}


def boolean(*only: bool) -> Schema:
    return {"type": "boolean", **({"enum": list(only)} if only else {})}


def enum(values: list[str], **extra: Any) -> Schema:
    return {"type": "string", "enum": list(values), **extra}


def nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


def array(items: Schema, **extra: Any) -> Schema:
    return {"type": "array", "items": items, **extra}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def uuid() -> Schema:
    return string(format="uuid")


def timestamp() -> Schema:
    return string(format="date-time")


def address() -> Schema:
    return string(
        pattern="^T[1-9A-HJ-NP-Za-km-z]{33}$",
        example=EXAMPLE_ADDRESS,
        description="TRON base58 address; one of this shape with a wrong checksum names no account: 404",
    )


def amount(*, signed: bool = False) -> Schema:
    """An amount as responses carry it: a decimal string with exactly 6 places."""
    return string(pattern=r"^-?\d+\.\d{6}$" if signed else r"^\d+\.\d{6}$", example="12.500000")


# What parse_amount (service/money.py) accepts, exactly: ASCII digits, at most 6 decimal places, more than
# zero, at most 10^12 whole units (MAX_AMOUNT is 10^18 base units); leading zeros are fine.
_WHOLE = "0*[1-9][0-9]{0,11}(\\.[0-9]{1,6})?"
# Below one: a nonzero digit within the 6 places (zeros, then a nonzero digit, then up to 6 in all).
_FRACTION = "0+\\.(" + "|".join(f"0{{0,{5 - n}}}[1-9][0-9]{{{n}}}" for n in range(6)) + ")"
AMOUNT_PATTERN = f"^({_WHOLE}|{_FRACTION})$"
AT_LEAST_ONE_PATTERN = f"^{_WHOLE}$"


def amount_input(condition: str = "greater than zero", *, at_least_one: bool = False) -> Schema:
    return string(
        pattern=AT_LEAST_ONE_PATTERN if at_least_one else AMOUNT_PATTERN,
        example="12.5",
        description=f"Decimal string with at most 6 decimal places, {condition} (a JSON number with "
        "those properties is taken too); anything else is rejected with 400.",
    )


def tx_id() -> Schema:
    return nullable(string(pattern="^[0-9a-f]{64}$", description="null until the transaction is signed"))


def closed(properties: dict[str, Schema], optional: tuple[str, ...] = ()) -> Schema:
    """A response object: exactly these fields, all present unless listed as optional."""
    required = [name for name in properties if name not in optional]
    return {"type": "object", "additionalProperties": False, "properties": properties, "required": required}


def request(
    properties: dict[str, Schema], required: list[str], *, open_: bool = False, **extra: Any
) -> Schema:
    body = {"type": "object", "properties": properties, "additionalProperties": open_}
    # OpenAPI 3.0 forbids an empty `required` list.
    note = OPEN_BODY_NOTE if open_ else KEY_MATERIAL_NOTE
    return {**body, **({"required": required} if required else {}), "description": note, **extra}


def page_of(field: str, item: str, **extra: Schema) -> Schema:
    return closed({**extra, field: array(ref(item)), "pagination": ref("Pagination")})


# -- the shapes, one route group at a time ---------------------------------------------------------
def _common() -> dict[str, Schema]:
    error = {
        "code": string(pattern=r"^LUCID_ERR_\d{4}$"),
        "message": string(),
        "details": {"type": "object", "additionalProperties": True},
        "request_id": string(),
        "timestamp": timestamp(),
        "service": enum([SERVICE_NAME]),
        "version": string(),
    }
    pagination = {
        "page": integer(minimum=1),
        "limit": integer(minimum=1, maximum=100),
        "total": integer(minimum=0),
        "pages": integer(minimum=0),
    }
    transaction = {
        "tx_id": tx_id(),
        "type": enum(["payout", "payment", "refund", "transfer", "approve", "stake", "unstake", "withdraw"]),
        "amount": amount(),
        "currency": enum(CURRENCIES),
        "from_address": address(),
        "to_address": nullable(address()),
        "status": enum(["pending", "confirmed", "failed"]),
        "timestamp": timestamp(),
        "block_height": nullable(integer(minimum=0)),
        "fee": nullable(amount()),
    }
    return {
        "Error": closed({"error": closed(error)}),
        "Pagination": closed(pagination),
        "Transaction": closed(transaction),
    }


def _health() -> dict[str, Schema]:
    component = closed({"status": enum(["up", "down"]), "error": string()}, optional=("error",))
    tron = {
        "status": enum(["up", "down"]),
        "network_status": enum(["healthy", "degraded", "down"]),
        "height": integer(minimum=0),
        "error": string(),
    }
    probe = {"status": enum(["ok", "unavailable"]), "version": string()}
    databases = {"database": ref("Component"), "redis": ref("Component")}
    payouts = closed(
        {"frozen": nullable(boolean()), "reason": nullable(string()), "error": string()},
        optional=("reason", "error"),
    )
    deep = {
        **probe,
        "status": enum(["ok", "degraded", "unavailable"]),
        "components": closed({**databases, "tron_network": closed(tron, ("error",))}),
        "payouts": payouts,
    }
    return {
        "Component": component,
        "Health": closed(deep),
        "Liveness": closed({"status": enum(["ok"]), "version": string()}),
        "Readiness": closed(
            {
                **probe,
                "components": closed({"database": ref("Component")}),
                "reason": string(description="set while draining"),
            },
            optional=("components", "reason"),
        ),
        "MetricsText": string(description="Prometheus text exposition format"),
        "OpenApiDocument": {"type": "object"},
    }


def _admin() -> dict[str, Schema]:
    entry = {
        "operation_id": uuid(),
        "kind": enum(OPERATION_KINDS),
        "status": enum([*OPERATION_STATUSES, "reserving"]),
        "amount": amount(),
        "currency": enum(CURRENCIES),
        "from_address": nullable(address()),
        "to_address": nullable(address()),
        "tx_id": tx_id(),
        "replaced_tx_ids": array(string(pattern="^[0-9a-f]{64}$")),
        "payment_id": nullable(uuid()),
        "block_height": nullable(integer(minimum=0)),
        "fee": nullable(amount()),
        "failure_reason": nullable(string()),
        "submitted_at": timestamp(),
        "completed_at": nullable(timestamp()),
    }
    wallet = {
        "wallet_id": uuid(),
        "user_id": string(),
        "address": address(),
        "currency": enum(CURRENCIES),
        "is_active": boolean(),
        "deleted": boolean(),
        "created_at": timestamp(),
    }
    freeze = {
        "frozen": boolean(),
        "reason": nullable(string()),
        "changed_at": nullable(timestamp()),
        "changed_by": nullable(string()),
    }
    return {
        "LedgerEntry": closed(entry),
        "Ledger": page_of("operations", "LedgerEntry"),
        "HeldWallet": closed(wallet),
        "HeldWallets": page_of("wallets", "HeldWallet"),
        "PayoutFreeze": closed(freeze),
        "PayoutFreezeRequest": request(
            {"frozen": boolean(), "reason": string(minLength=1, maxLength=512)}, ["frozen", "reason"]
        ),
    }


def _tron() -> dict[str, Schema]:
    return {
        "NetworkInfo": closed(
            {
                "network_name": string(),
                "network_id": string(),
                "chain_id": string(),
                "current_height": integer(minimum=0),
                "block_time": integer(minimum=1),
                "energy_price": integer(minimum=0, description="SUN per energy unit"),
                "bandwidth_price": integer(minimum=0, description="SUN per bandwidth byte"),
            }
        ),
        "NetworkStatus": closed(
            {
                "status": enum(["healthy", "degraded", "down"]),
                "current_height": integer(minimum=0),
                "last_block_time": nullable(timestamp()),
                "sync_lag_seconds": {"type": "number", "minimum": 0},
            }
        ),
        "NetworkHeight": closed({"height": integer(minimum=0), "timestamp": timestamp()}),
        "NetworkFees": closed(
            {
                name: amount()
                for name in (
                    "energy_price",
                    "bandwidth_price",
                    "transaction_fee",
                    "smart_contract_fee",
                    "memo_fee",
                )
            }
        ),
    }


def _wallets() -> dict[str, Schema]:
    name = string(minLength=1, maxLength=255)
    wallet = {
        "wallet_id": uuid(),
        "user_id": string(),
        "name": name,
        "address": address(),
        "currency": enum(CURRENCIES),
        "network": enum(["TRON"]),
        "balance": nullable({**amount(), "description": "read from the chain; null in listings and updates"}),
        "is_active": boolean(),
        "created_at": timestamp(),
        "updated_at": timestamp(),
    }
    balance = {
        "wallet_id": uuid(),
        "address": address(),
        "currency": enum(CURRENCIES),
        "balance": amount(),
        "last_updated": timestamp(),
    }
    return {
        "Wallet": closed(wallet),
        "WalletList": page_of("wallets", "Wallet"),
        "WalletBalance": closed(balance),
        "WalletTransactions": page_of("transactions", "Transaction"),
        "WalletCreate": request({"name": name, "currency": enum(CURRENCIES)}, ["name", "currency"]),
        "WalletUpdate": request({"name": name, "is_active": boolean()}, [], minProperties=1),
    }


def _usdt() -> dict[str, Schema]:
    transfer = {
        "transfer_id": uuid(),
        "tx_id": tx_id(),
        "status": enum(CHAIN_STATUSES),
        "amount": amount(),
        "from_address": address(),
        "to_address": address(),
        "memo": nullable(string()),
        "submitted_at": timestamp(),
        "confirmed_at": nullable(timestamp()),
        "failure_reason": nullable(string()),
    }
    approval = {
        "approval_id": uuid(),
        "tx_id": tx_id(),
        "status": enum(CHAIN_STATUSES),
        "owner_address": address(),
        "spender_address": address(),
        "amount": amount(),
        "submitted_at": timestamp(),
    }
    allowance = {
        "owner_address": address(),
        "spender_address": address(),
        "allowance": amount(),
        "last_updated": timestamp(),
    }
    transfer_request = {
        "from_address": address(),
        "to_address": address(),
        "amount": amount_input(),
        "memo": string(minLength=1, maxLength=512),
    }
    approval_request = {"owner_address": address(), "spender_address": address(), "amount": amount_input()}
    return {
        "UsdtTransfer": closed(transfer),
        "UsdtTransferRequest": request(transfer_request, ["from_address", "to_address", "amount"]),
        "UsdtBalance": closed({"address": address(), "balance": amount(), "last_updated": timestamp()}),
        "UsdtTransactions": page_of("transactions", "Transaction", address=address()),
        "UsdtApproval": closed(approval),
        "UsdtApprovalRequest": request(approval_request, list(approval_request)),
        "UsdtAllowance": closed(allowance),
    }


def _payouts() -> dict[str, Schema]:
    accepted = {
        "payout_id": uuid(),
        "status": enum(OPERATION_STATUSES),
        "amount": amount(),
        "currency": enum(CURRENCIES),
        "recipient_address": address(),
        "priority": enum(PRIORITIES),
        "estimated_completion": timestamp(),
        "submitted_at": timestamp(),
    }
    payout = {
        **accepted,
        "memo": nullable(string()),
        "source_wallet_id": uuid(),
        "batch_id": nullable(uuid()),
        "tx_id": tx_id(),
        "completed_at": nullable(timestamp()),
        "cancelled_at": nullable(timestamp()),
        "failure_reason": nullable(string()),
    }
    payout_request = {
        "recipient_address": address(),
        "amount": amount_input(),
        "currency": enum(CURRENCIES),
        "memo": string(minLength=1, maxLength=512),
        "priority": {**enum(PRIORITIES), "default": "normal"},
        "source_wallet_id": {**uuid(), "description": "one of your wallets, holding `currency`"},
    }
    batch = {
        "batch_id": uuid(),
        "batch_memo": nullable(string()),
        "payout_count": integer(minimum=1, maximum=100),
        "successful_count": integer(minimum=0),
        "failed_count": integer(minimum=0),
        "payout_ids": array(uuid()),
        "failures": array(closed({"index": integer(minimum=0), "code": string(), "message": string()})),
        "submitted_at": timestamp(),
    }
    batch_request = {
        "payouts": array(ref("PayoutRequest"), minItems=1, maxItems=100),
        "batch_memo": string(minLength=1, maxLength=512),
    }
    cancelled = {
        "payout_id": uuid(),
        "status": enum(["cancelled"]),
        "cancelled_at": timestamp(),
        "reason": nullable(string()),
    }
    return {
        "PayoutRequest": request(
            payout_request, ["recipient_address", "amount", "currency", "source_wallet_id"]
        ),
        "PayoutAccepted": closed(accepted),
        "Payout": closed(payout),
        "PayoutHistory": page_of("payouts", "Payout"),
        "PayoutBatchRequest": request(batch_request, ["payouts"]),
        "PayoutBatch": closed(batch),
        "PayoutCancelRequest": request(
            {"payout_id": uuid(), "reason": string(minLength=1, maxLength=512)}, ["payout_id"]
        ),
        "PayoutCancelled": closed(cancelled),
    }


def _staking() -> dict[str, Schema]:
    stake = {
        "stake_id": uuid(),
        "tx_id": tx_id(),
        "status": enum(CHAIN_STATUSES),
        "type": enum(["stake", "unstake", "withdraw"]),
        "amount": amount(),
        "resource": nullable({**enum(RESOURCES), "description": "null for a withdrawal"}),
        "wallet_address": address(),
        "submitted_at": timestamp(),
        "confirmed_at": nullable(timestamp()),
        "failure_reason": nullable(string()),
    }
    entry = {
        "entry_id": string(),
        "amount": amount(),
        "resource": enum([*RESOURCES, "TRON_POWER"]),
        "staked_at": nullable(timestamp()),
        "unlock_time": nullable(timestamp()),
        "is_unlocked": boolean(),
    }
    status = {
        "address": address(),
        "total_staked": amount(),
        "available_for_unstaking": amount(),
        "pending_withdrawal": amount(),
        "entries": array(closed(entry)),
    }
    rewards = {
        "address": address(),
        "period": enum(PERIODS),
        "total_rewards": amount(),
        "currency": enum(["TRX"]),
        "note": string(),
    }
    wallet = {"wallet_address": {**address(), "description": "one of your TRX wallets"}}
    move = ["wallet_address", "amount", "resource"]
    return {
        "Stake": closed(stake),
        "StakeRequest": request(
            {
                **wallet,
                "amount": amount_input("at least 1 TRX", at_least_one=True),
                "resource": enum(RESOURCES),
            },
            move,
        ),
        "UnstakeRequest": request({**wallet, "amount": amount_input(), "resource": enum(RESOURCES)}, move),
        "WithdrawRequest": request(wallet, ["wallet_address"]),
        "StakingStatus": closed(status),
        "StakingRewards": closed(rewards),
    }


def _payments() -> dict[str, Schema]:
    payment = {
        "payment_id": uuid(),
        "status": enum(OPERATION_STATUSES),
        "amount": amount(),
        "currency": enum(CURRENCIES),
        "recipient_address": address(),
        "source_wallet_id": uuid(),
        "description": nullable(string()),
        "tx_id": tx_id(),
        "submitted_at": timestamp(),
        "completed_at": nullable(timestamp()),
        "refunded_amount": amount(),
        "failure_reason": nullable(string()),
    }
    payment_request = {
        "amount": amount_input(),
        "currency": enum(CURRENCIES),
        "recipient_address": address(),
        "source_wallet_id": uuid(),
        "description": string(minLength=1, maxLength=1024),
        "callback_url": string(
            maxLength=2048,
            format="uri",
            pattern="^https?://[A-Za-z0-9.-]+(:[0-9]{1,4})?(/[!-~]*)?$",
            description="absolute http(s) URL without credentials, told of the final state by a POST "
            "signed with CALLBACK_SECRET and carrying an event_id; in production it must be https and "
            "resolve only to public addresses (400 otherwise)",
        ),
    }
    refund = {
        "refund_id": uuid(),
        "payment_id": uuid(),
        "status": enum(["pending", "processing", "completed", "failed"]),
        "amount": amount(),
        "currency": enum(CURRENCIES),
        "reason": string(),
        "tx_id": tx_id(),
        "submitted_at": timestamp(),
        "failure_reason": nullable(string()),
    }
    refund_request = {
        "payment_id": uuid(),
        "reason": string(minLength=1, maxLength=512),
        "amount": amount_input("at most what is left to refund; all of it when absent"),
    }
    webhook = {
        "event_type": string(minLength=1, maxLength=100),
        "payment_id": uuid(),
        "status": enum(OPERATION_STATUSES),
        **{name: string() for name in ("tx_id", "amount", "currency", "timestamp")},
    }
    return {
        "Payment": closed(payment),
        "PaymentRequest": request(
            payment_request, ["amount", "currency", "recipient_address", "source_wallet_id"]
        ),
        "Refund": closed(refund),
        "RefundRequest": request(refund_request, ["payment_id", "reason"]),
        "Reconciliation": _reconciliation(),
        "WebhookEvent": request(webhook, ["event_type", "payment_id", "status"], open_=True),
        "WebhookReceipt": closed({"received": boolean(True), "duplicate": boolean()}),
    }


def _reconciliation() -> Schema:
    bucket = closed({"count": integer(minimum=1), "net_amount": amount(signed=True)})
    row = {
        "transaction_id": uuid(),
        "type": enum(["payment", "refund"]),
        "amount": amount(),
        "currency": enum(CURRENCIES),
        "status": enum(OPERATION_STATUSES),
        "timestamp": timestamp(),
        "tx_hash": tx_id(),
        "chain": nullable(
            enum(["matches", "mismatch", "missing"], description="a completed row on the solidified chain")
        ),
    }
    totals = {
        "count": integer(minimum=0),
        "completed_payments": amount(),
        "completed_refunds": amount(),
        "net_settled": amount(signed=True),
        "by_status": {
            "type": "object",
            "additionalProperties": False,
            "properties": {status: bucket for status in OPERATION_STATUSES},
        },
    }
    return closed(
        {
            "date": string(format="date"),
            "currency": nullable(enum(CURRENCIES)),
            "status": nullable(enum(OPERATION_STATUSES)),
            "totals": closed(totals),
            "chain": closed(
                {"checked": integer(minimum=0), "mismatched": array(uuid())},
            ),
            "transactions": array(closed(row)),
            "pagination": ref("Pagination"),
        }
    )


def schemas() -> dict[str, Schema]:
    """components/schemas: every named shape."""
    return {
        **_common(),
        **_health(),
        **_tron(),
        **_wallets(),
        **_usdt(),
        **_payouts(),
        **_staking(),
        **_payments(),
        **_admin(),
    }
