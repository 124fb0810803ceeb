"""MongoDB, through pymongo's async client: wallets, the operations ledger, idempotency records."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from service import metrics
from service.clock import now_ms
from service.ports import mongo_cancel_safety
from service.ports.batching import TurnBatch

Doc = dict[str, Any]
mongo_cancel_safety.install()

# Operation states every money move goes through; `final` ones never change again.
FINAL_STATES = ("completed", "failed", "cancelled")
_SETTLED_CACHE_MAX = 50_000


# Every call is bounded: a store that stops answering (paused, partitioned) fails the call within
# these, instead of hanging a request or the worker (and with it the shutdown) forever.
SERVER_SELECTION_TIMEOUT_MS = 3000
CONNECT_TIMEOUT_MS = 3000
SOCKET_TIMEOUT_MS = 10_000

# The queries the worker runs, each served by the index beside it (`prepare` creates them all).
PENDING_QUEUE = [("status", ASCENDING), ("priority_rank", ASCENDING), ("submitted_at", ASCENDING)]
EXPIRED_LEASES = [("status", ASCENDING), ("lease_until", ASCENDING)]
HELD_LEASES = [("lease_owner", ASCENDING), ("status", ASCENDING), ("next_check_at", ASCENDING)]
DUE_CALLBACKS = [("callback.state", ASCENDING), ("callback.next_at", ASCENDING)]
EXPIRED_CALLBACK_LEASES = [("callback.state", ASCENDING), ("callback.lease_until", ASCENDING)]
UNFINISHED_BY_KIND = [("status", ASCENDING), ("kind", ASCENDING), ("submitted_at", ASCENDING)]
OPEN_REFUND_HOLDS = [("hold", ASCENDING), ("status", ASCENDING), ("submitted_at", ASCENDING)]
WORKER_INDEXES = (
    PENDING_QUEUE,
    EXPIRED_LEASES,
    HELD_LEASES,
    DUE_CALLBACKS,
    UNFINISHED_BY_KIND,
    OPEN_REFUND_HOLDS,
)
OPERATIONS = "operations"  # the collection of the ledger
UNFINISHED = ("pending", "processing")
LEDGER_ORDER = [("submitted_at", ASCENDING), ("_id", ASCENDING)]
PAYOUT_FREEZE = "payout_freeze"
# A refund being reserved (service/refunds.py) already promises its amount out of the wallet.
PROMISED = (*UNFINISHED, "reserving")
STATUSES = (*FINAL_STATES, *PROMISED)
# The funds check sums what a wallet's open operations promise; served by this index, it reads only
# those, however many finished ones the wallet has (a payout wallet's history grows without end).
PROMISED_BY_SOURCE = [("from_address", ASCENDING), ("status", ASCENDING)]
# Indexes an earlier version made, each the prefix of one `prepare` makes now, which serves every query
# it did: kept, each would cost every insert and every change of an operation and serve nothing.
SUPERSEDED_INDEXES = (
    [("from_address", ASCENDING)],  # PROMISED_BY_SOURCE
    [("status", ASCENDING), ("kind", ASCENDING)],  # UNFINISHED_BY_KIND
)


def status_range(statuses: tuple[str, ...]) -> Doc:
    """The condition matching exactly `statuses`, as one range: `{"$in": [...]}` on a field is
    evaluated document by document in nx-27017 (as "any array element in", through SQLite's
    json_each), so it reads every operation an index leads it to (or all of them), while a range is
    answered from the index, as in MongoDB. Refused if another status falls inside the range."""
    low, high = min(statuses), max(statuses)
    inside = {status for status in STATUSES if low <= status <= high}
    if inside != set(statuses):
        raise ValueError(f"statuses {sorted(inside - set(statuses))} sort among {statuses}: not one range")
    return {"$gte": low, "$lte": high}


PROMISED_RANGE = status_range(PROMISED)
UNFINISHED_RANGE = status_range(UNFINISHED)


# The aggregations the funds check (each money move) and the metrics scrape (each scrape) run
# over the whole ledger; loadtests/history_benchmark.py measures them as the ledger grows.
def promised_pipeline(address: str) -> list[Doc]:
    """What an address's open operations promise, as one row with the address as its `_id` (none if
    there are none): their amounts summed, how many they are, the energy their contract calls were
    accepted with, their lowest and highest currency and whether all of them debit. Sums per currency
    would need a `$cond`, which costs nx-27017 a third more store CPU per aggregation (0.36 against
    0.27 ms; `tronops bench`, write 0.92x); an address whose open operations all debit one currency (a
    payout wallet's, nearly always) has its answer in this row, any other has its few open operations
    read (`Store.promised`)."""
    return [
        {"$match": {"from_address": address, "status": PROMISED_RANGE}},
        {
            "$group": {
                "_id": "$from_address",
                "amount": {"$sum": "$amount"},
                "transactions": {"$sum": 1},
                "energy": {"$sum": "$energy"},  # absent (0) on a move that calls no contract
                "lowest_currency": {"$min": "$currency"},
                "highest_currency": {"$max": "$currency"},
                "all_debit": {"$min": "$debits"},  # nx-27017 answers 0 or 1, MongoDB false or true
            }
        },
    ]


def promised_by_addresses_pipeline(addresses: list[str]) -> list[Doc]:
    """`promised_pipeline` for each of the (different) addresses, in one aggregation: each after the
    first joins by `$unionWith`, so each keeps its own equality match, which the index
    PROMISED_BY_SOURCE answers (`from_address: {$in: [...]}` would be one match, which nx-27017 answers
    by reading every operation, as "any array element in", where MongoDB would use the index)."""
    first, *others = addresses
    return [
        *promised_pipeline(first),
        *({"$unionWith": {"coll": OPERATIONS, "pipeline": promised_pipeline(other)}} for other in others),
    ]


def oldest_unfinished_pipeline() -> list[Doc]:
    return [
        {"$match": {"status": UNFINISHED_RANGE}},
        {"$group": {"_id": "$kind", "oldest": {"$min": "$submitted_at"}}},
    ]


def unsent_by_source_pipeline(currency: str, limit: int) -> list[Doc]:
    return [
        {"$match": {"status": UNFINISHED_RANGE, "stage": "queued", "currency": currency}},
        {"$group": {"_id": "$from_address", "count": {"$sum": 1}, "amount": {"$sum": "$amount"}}},
        {"$limit": limit},
    ]


DUPLICATE_KEY = 11000  # MongoDB's error code for an insert whose _id (or unique key) is taken
INDEX_NOT_FOUND = 27


@dataclass(frozen=True)
class Fees:
    """What the chain charges a transaction from one address, in TRX: the memo fee each transaction
    burns (getMemoFee), and the energy fee (getEnergyFee) per energy unit its contract calls use
    beyond what the address's staked energy still gives today."""

    memo: int
    per_energy: int
    staked_energy: int


@dataclass(frozen=True)
class Promised:
    """What an address's open operations promise out of it: the TRX and the USDT they debit, how many
    transactions they are and the energy their contract calls will use (as estimated when each was
    accepted). Each transaction burns the memo fee from the address's TRX whatever it moves (a USDT
    transfer, an approval or an unstake too), and each call's energy is paid from the address's
    staked energy first, then burned from its TRX: TRX is promised to all of them."""

    trx: int
    usdt: int
    transactions: int
    energy: int = 0

    def trx_with_fees(self, fees: Fees, *, more_transactions: int = 0, more_energy: int = 0) -> int:
        """The TRX these operations take from the address, with `more_transactions` using `more_energy`."""
        burned_energy = max(self.energy + more_energy - fees.staked_energy, 0)
        memo_fees = (self.transactions + more_transactions) * fees.memo
        return self.trx + memo_fees + burned_energy * fees.per_energy


NOTHING_PROMISED = Promised(0, 0, 0)


@dataclass(frozen=True)
class Candidate:
    """An operation a worker may claim: its id with the condition it was found under, which the claim
    repeats, and whether its previous worker's lease ran out (a takeover)."""

    condition: Doc
    abandoned: bool


class Store:
    def __init__(self, uri: str, database: str) -> None:
        self._client: AsyncMongoClient[Doc] = AsyncMongoClient(
            uri,
            serverSelectionTimeoutMS=SERVER_SELECTION_TIMEOUT_MS,
            connectTimeoutMS=CONNECT_TIMEOUT_MS,
            socketTimeoutMS=SOCKET_TIMEOUT_MS,
        )
        db = self._client[database]
        self.wallets = db["wallets"]
        self.operations = db[OPERATIONS]
        self.idempotency = db["idempotency_keys"]
        self.webhook_events = db["webhook_events"]
        self.settings = db["settings"]
        # A payout in a final state is never written again, so reads of it can skip the store.
        self._settled_payouts: dict[str, Doc] = {}
        # Each of a payout request's store calls shares one round trip with the same call of the other
        # requests in its event-loop turn (service/ports/batching.py); each write stays atomic per
        # document (unique _id), so a claim or an insert is won by exactly one caller, as alone.
        self._operations_by_id = TurnBatch(self._find_operations_by_id)
        self._wallets_by_id = TurnBatch(self._find_wallets_by_id)
        self._promised = TurnBatch(self._sum_promised)
        self._operation_inserts = TurnBatch(self._insert_operations)
        self._idempotency_claims = TurnBatch(self._insert_idempotency_records)
        self._idempotency_finishes = TurnBatch(self._finish_idempotency_keys)

    async def prepare(self) -> None:
        """Create the indexes every replica relies on (idempotent)."""
        await self.wallets.create_index([("address", ASCENDING)], unique=True)
        await self.wallets.create_index([("user_id", ASCENDING), ("created_at", DESCENDING)])
        for keys in WORKER_INDEXES:
            await self.operations.create_index(keys)
        await self.operations.create_index([("user_id", ASCENDING), ("kind", ASCENDING)])
        await self.operations.create_index([("tx_id", ASCENDING)])
        await self.operations.create_index(PROMISED_BY_SOURCE)
        await self.operations.create_index([("to_address", ASCENDING)])
        await self.operations.create_index(EXPIRED_CALLBACK_LEASES)
        # Not (submitted_at, _id): nx-27017 refuses every insert into a collection with `_id` in a
        # compound index ("JSON path error near '_id'"); the _id tie-break sorts the few equal times.
        await self.operations.create_index([("submitted_at", ASCENDING)])
        await self.wallets.create_index([("created_at", ASCENDING)])
        await self._drop_superseded_indexes()

    async def _drop_superseded_indexes(self) -> None:
        superseded = [[tuple(key) for key in keys] for keys in SUPERSEDED_INDEXES]
        for name, info in (await self.operations.index_information()).items():
            if [tuple(key) for key in info["key"]] in superseded:
                try:
                    await self.operations.drop_index(name)
                except OperationFailure as exc:
                    if exc.code != INDEX_NOT_FOUND:  # another replica starting dropped it first
                        raise

    async def ping(self) -> bool:
        await self._client.admin.command("ping")
        return True

    async def close(self) -> None:
        await self._client.close()

    # -- wallets ------------------------------------------------------------------------------
    async def insert_wallet(self, wallet: Doc) -> None:
        await self.wallets.insert_one(wallet)

    async def wallet(self, user_id: str, wallet_id: str) -> Doc | None:
        found = await self._wallets_by_id(wallet_id)
        if found is None or found["user_id"] != user_id or found.get("deleted") is not False:
            return None
        return dict(found)  # callers may change theirs; a batch's callers share one decoded document

    async def _find_wallets_by_id(self, ids: list[str]) -> list[Doc | None]:
        return await _find_by_id(self.wallets, ids)

    async def wallet_by_address(self, address: str) -> Doc | None:
        return await self.wallets.find_one({"address": address, "deleted": False})

    async def list_wallets(
        self, user_id: str, currency: str | None, skip: int, limit: int
    ) -> tuple[list[Doc], int]:
        query: Doc = {"user_id": user_id, "deleted": False}
        if currency:
            query["currency"] = currency
        return await self._page(
            self.wallets, query, [("created_at", DESCENDING), ("_id", ASCENDING)], skip, limit
        )

    async def update_wallet(self, user_id: str, wallet_id: str, changes: Doc) -> Doc | None:
        return await self.wallets.find_one_and_update(
            {"_id": wallet_id, "user_id": user_id, "deleted": False},
            {"$set": {**changes, "updated_at": now_ms()}},
            return_document=ReturnDocument.AFTER,
        )

    # -- operations (the ledger of money moves) -----------------------------------------------
    async def insert_operation(self, operation: Doc) -> tuple[Doc, bool]:
        """Insert, or return the one already stored under the same id: (operation, created)."""
        if await self._operation_inserts(operation):
            return operation, True
        existing = await self.operations.find_one({"_id": operation["_id"]})
        assert existing is not None
        return existing, False

    async def _insert_operations(self, operations: list[Doc]) -> list[bool]:
        return await _insert_new(self.operations, operations)

    async def operation(self, operation_id: str, **match: Any) -> Doc | None:
        cached = self._settled_payouts.get(operation_id)
        if cached is not None:
            return cached if all(cached.get(k) == v for k, v in match.items()) else None
        found = await self._operations_by_id(operation_id)
        if found is not None and found["kind"] == "payout" and found["status"] in FINAL_STATES:
            if len(self._settled_payouts) >= _SETTLED_CACHE_MAX:
                self._settled_payouts.clear()
            self._settled_payouts[operation_id] = found
        if found is None or any(found.get(k) != v for k, v in match.items()):
            return None
        return dict(found)  # callers may change theirs; a batch's callers share one decoded document

    async def _find_operations_by_id(self, ids: list[str]) -> list[Doc | None]:
        """One query for the operations asked for in one event-loop turn (service/ports/batching.py)."""
        return await _find_by_id(self.operations, ids)

    async def find_operations(
        self, query: Doc, skip: int = 0, limit: int = 0, sort: list[tuple[str, int]] | None = None
    ) -> tuple[list[Doc], int]:
        return await self._page(self.operations, query, sort or [("submitted_at", DESCENDING)], skip, limit)

    async def transition(
        self, operation_id: str, expected: Doc, changes: Doc, push: Doc | None = None
    ) -> Doc | None:
        """Compare-and-set: apply changes (and append `push`'s values to its lists) only if the
        operation still matches `expected`."""
        update: Doc = {"$set": {**changes, "updated_at": now_ms()}}
        if push:
            update["$push"] = push
        return await self.operations.find_one_and_update(
            {"_id": operation_id, **expected}, update, return_document=ReturnDocument.AFTER
        )

    async def claimable(self, kinds: list[str], limit: int) -> list[Candidate]:
        """The next operations that need work, in the order to take them: ones whose worker's lease ran
        out (a crashed or stopped replica's) first, then pending ones by priority, oldest first.

        A worker asks once for a batch and claims each just before it works on it (`claim`): one
        sorted query per batch, not per operation, since nx-27017 sorts the whole pending queue for
        it (6 ms of store CPU at 2,000 pending, 18 ms at 5,000), which per operation made the
        worker, not the requests, the store's main load. Each operation is still held only while it
        is worked on, so a replica that dies holds no more than before."""
        moment = now_ms()
        found: list[Candidate] = []
        for query, abandoned in (
            ({"status": "processing", "lease_until": {"$lt": moment}, "kind": {"$in": kinds}}, True),
            ({"status": "pending", "kind": {"$in": kinds}}, False),
        ):
            rows = (
                await self.operations.find(query, {"_id": 1})
                .sort([("priority_rank", ASCENDING), ("submitted_at", ASCENDING)])
                .limit(limit - len(found))
                .to_list(None)
            )
            found += [Candidate({"_id": row["_id"], **query}, abandoned) for row in rows]
            if len(found) >= limit:
                break
        return found

    async def claim(self, worker: str, lease_until: int, candidate: Candidate) -> Doc | None:
        """Take the operation if it still needs work: a compare-and-set on its id and the condition it
        was found under, so of workers racing for one exactly one wins it (None for the others)."""
        claimed = await self.operations.find_one_and_update(
            candidate.condition,
            {
                "$set": {
                    "status": "processing",
                    "lease_owner": worker,
                    "lease_until": lease_until,
                    "updated_at": now_ms(),
                }
            },
            return_document=ReturnDocument.AFTER,
        )
        if claimed is not None and candidate.abandoned:
            metrics.LEASE_TAKEOVERS.inc()
        return claimed

    async def claim_callback(self, owner: str, lease_until: int) -> Doc | None:
        """Take one callback to attempt, counting the attempt: one whose attempt died with its replica
        (lease run out), else one that is due. Only the holder of the lease records the outcome."""
        moment = now_ms()
        for query in (
            {"callback.state": "delivering", "callback.lease_until": {"$lt": moment}},
            {"callback.state": "pending", "callback.next_at": {"$lte": moment}},
        ):
            claimed = await self.operations.find_one_and_update(
                query,
                {
                    "$set": {
                        "callback.state": "delivering",
                        "callback.lease_owner": owner,
                        "callback.lease_until": lease_until,
                    },
                    "$inc": {"callback.attempts": 1},
                },
                return_document=ReturnDocument.AFTER,
            )
            if claimed is not None:
                return claimed
        return None

    async def due_operations(self, worker: str, limit: int) -> list[Doc]:
        """The operations this worker holds the lease on whose next check is due; no one else's."""
        cursor = (
            self.operations.find(
                {"lease_owner": worker, "next_check_at": {"$lte": now_ms()}, "status": "processing"}
            )
            .sort([("next_check_at", ASCENDING)])
            .limit(limit)
        )
        return [doc async for doc in cursor]

    async def renew_leases(self, worker: str, lease_until: int, renew_before: int) -> None:
        """Extend this worker's leases that end before `renew_before`; a lease another worker took
        over (after this one's ran out) is not this worker's any more and stays untouched."""
        await self.operations.update_many(
            {"lease_owner": worker, "status": "processing", "lease_until": {"$lt": renew_before}},
            {"$set": {"lease_until": lease_until}},
        )

    async def release_leases(self, worker: str) -> int:
        """Give up every lease this worker holds, so another replica takes the work over at once."""
        result = await self.operations.update_many(
            {"lease_owner": worker, "status": "processing"},
            {"$set": {"lease_owner": None, "lease_until": 0, "updated_at": now_ms()}},
        )
        return int(result.modified_count)

    async def oldest_unfinished(self) -> dict[str, int]:
        """Per kind, the submission time (ms) of the oldest operation not yet final."""
        rows = self.operations.aggregate(oldest_unfinished_pipeline())
        return {str(row["_id"]): int(row["oldest"]) async for row in await rows}

    async def promised(self, address: str) -> Promised:
        """What the address's open operations (not yet final) promise out of it. The index
        PROMISED_BY_SOURCE leads it to those only, not the address's history. Summed in a query sent
        after the caller asked (with the turn's other callers', service/ports/batching.py), so it
        counts every operation stored before the call, as a query of its own would."""
        return await self._promised(address)

    async def _sum_promised(self, addresses: list[str]) -> list[Promised]:
        rows = await self.operations.aggregate(promised_by_addresses_pipeline(list(dict.fromkeys(addresses))))
        found: dict[str, Promised] = {}
        mixed: list[str] = []
        async for row in rows:
            if row["lowest_currency"] == row["highest_currency"] and row["all_debit"]:
                amount, transactions = int(row["amount"]), int(row["transactions"])
                energy = int(row["energy"] or 0)  # no call among them: MongoDB sums 0, nx-27017 None
                trx = row["lowest_currency"] == "TRX"
                found[str(row["_id"])] = Promised(
                    amount if trx else 0, 0 if trx else amount, transactions, energy
                )
            else:
                mixed.append(str(row["_id"]))
        found.update(zip(mixed, await asyncio.gather(*map(self._promised_one_by_one, mixed)), strict=True))
        return [found.get(address, NOTHING_PROMISED) for address in addresses]

    async def _promised_one_by_one(self, address: str) -> Promised:
        """`Promised` from each of the address's open operations, for one whose sums the aggregation
        cannot split: more than one currency, or some that debit nothing."""
        trx = usdt = transactions = energy = 0
        shown = {"currency": 1, "amount": 1, "debits": 1, "energy": 1}
        async for op in self.operations.find({"from_address": address, "status": PROMISED_RANGE}, shown):
            transactions += 1
            energy += op.get("energy", 0)
            if op.get("debits"):
                trx += op["amount"] if op["currency"] == "TRX" else 0
                usdt += op["amount"] if op["currency"] == "USDT" else 0
        return Promised(trx, usdt, transactions, energy)

    async def totals(self, query: Doc, kinds: tuple[str, ...]) -> dict[tuple[str, str], tuple[int, int]]:
        """(count, amount) per (kind, status) of the matching operations, summed in the store: memory
        stays bounded however many there are. One grouping per kind: nx-27017 does not evaluate a
        compound group key ({"kind": "$kind", ...} comes back literally), a single field it does."""
        found: dict[tuple[str, str], tuple[int, int]] = {}
        for kind in kinds:
            rows = self.operations.aggregate(
                [
                    {"$match": {**query, "kind": kind}},
                    {"$group": {"_id": "$status", "count": {"$sum": 1}, "amount": {"$sum": "$amount"}}},
                ]
            )
            async for row in await rows:
                found[(kind, str(row["_id"]))] = (int(row["count"]), int(row["amount"]))
        return found

    async def unsent_by_source(self, currency: str, limit: int) -> dict[str, tuple[int, int]]:
        """(count, amount) of the operations not final and not yet signed, per source address, for
        at most `limit` addresses: what each wallet still has to pay out."""
        rows = self.operations.aggregate(unsent_by_source_pipeline(currency, limit))
        return {str(row["_id"]): (int(row["count"]), int(row["amount"])) async for row in await rows}

    async def queue_depth(self, kind: str) -> dict[str, int]:
        rows = self.operations.aggregate(
            [
                {"$match": {"kind": kind, "status": "pending"}},
                {"$group": {"_id": "$priority", "count": {"$sum": 1}}},
            ]
        )
        return {str(row["_id"]): int(row["count"]) async for row in await rows}

    async def ledger(self, window: Doc, skip: int, limit: int) -> tuple[list[Doc], int]:
        """Every operation submitted in the window, oldest first: the service's side of an audit."""
        query: Doc = {"submitted_at": window} if window else {}
        return await self._page(self.operations, query, LEDGER_ORDER, skip, limit)

    async def all_wallets(self, skip: int, limit: int) -> tuple[list[Doc], int]:
        """Every wallet the service holds a key for, soft-deleted ones too (their keys still sign)."""
        return await self._page(
            self.wallets, {}, [("created_at", ASCENDING), ("_id", ASCENDING)], skip, limit
        )

    # -- the payout kill switch, shared by every replica ------------------------------------------
    async def payout_freeze(self) -> Doc:
        found = await self.settings.find_one({"_id": PAYOUT_FREEZE})
        return found or {
            "_id": PAYOUT_FREEZE,
            "frozen": False,
            "reason": None,
            "changed_at": None,
            "changed_by": None,
        }

    async def set_payout_freeze(self, frozen: bool, reason: str, by: str) -> Doc:
        state = {"frozen": frozen, "reason": reason, "changed_at": now_ms(), "changed_by": by}
        await self.settings.update_one({"_id": PAYOUT_FREEZE}, {"$set": state}, upsert=True)
        return {"_id": PAYOUT_FREEZE, **state}

    async def payouts_frozen(self) -> bool:
        return bool((await self.payout_freeze())["frozen"])

    async def sends_in_flight(self, since_ms: int) -> int:
        """Outbound moves marked as on their way to the chain since `since_ms` (see operations)."""
        return await _count(self.operations, {"sending_since": {"$gte": since_ms}})

    # -- idempotency records -----------------------------------------------------------------
    async def claim_idempotency_key(self, record: Doc) -> Doc | None:
        """Store a new in-progress record; if the key exists, return the stored one instead."""
        if await self._idempotency_claims(record):
            return None
        return await self.idempotency.find_one({"_id": record["_id"]})

    async def _insert_idempotency_records(self, records: list[Doc]) -> list[bool]:
        return await _insert_new(self.idempotency, records)

    async def idempotency_record(self, key_id: str) -> Doc | None:
        return await self.idempotency.find_one({"_id": key_id})

    async def finish_idempotency_key(self, key_id: str, status: int, body: Any) -> None:
        await self._idempotency_finishes((key_id, status, body))

    async def _finish_idempotency_keys(self, finishes: list[tuple[str, int, Any]]) -> list[None]:
        moment = now_ms()
        updates = [
            (
                {"_id": key_id},
                {"$set": {"state": "done", "status": status, "body": body, "finished_at": moment}},
            )
            for key_id, status, body in finishes
        ]
        if len(updates) == 1:  # pymongo's bulk machinery costs more than a plain update for one
            await self.idempotency.update_one(*updates[0])
        else:
            await self.idempotency.bulk_write([UpdateOne(*update) for update in updates], ordered=False)
        return [None] * len(finishes)

    async def release_idempotency_key(self, key_id: str, *, stale_before: int | None = None) -> bool:
        query: Doc = {"_id": key_id, "state": "in_progress"}
        if stale_before is not None:
            query["started_at"] = {"$lt": stale_before}
        return (await self.idempotency.delete_one(query)).deleted_count == 1

    # -- webhook events ----------------------------------------------------------------------
    async def record_webhook_event(self, event: Doc) -> bool:
        """True if new, False if this exact event was already received."""
        try:
            await self.webhook_events.insert_one(event)
            return True
        except DuplicateKeyError:
            return False

    @staticmethod
    async def _page(
        collection: Any, query: Doc, sort: list[tuple[str, int]], skip: int, limit: int
    ) -> tuple[list[Doc], int]:
        total = await _count(collection, query)
        cursor = collection.find(query).sort(sort).skip(skip)
        if limit:
            cursor = cursor.limit(limit)
        return [doc async for doc in cursor], total


async def _count(collection: Any, query: Doc) -> int:
    """The documents matching `query`. Not count_documents: its `$group` on a constant makes nx-27017
    read the whole collection (53 ms against 0.5 ms at 2,000 operations, growing with every one), so
    each page of a list cost more as the store filled; `$count` uses the index, and MongoDB answers
    both alike. The operators go last: nx-27017's `$match` drops the fields that follow an `$or`
    (MongoDB does not mind the order)."""
    fields = {key: value for key, value in query.items() if not key.startswith("$")}
    ordered = fields | {key: value for key, value in query.items() if key.startswith("$")}
    async for row in await collection.aggregate([{"$match": ordered}, {"$count": "n"}]):
        return int(row["n"])
    return 0  # no match: $count gives no document at all


async def _find_by_id(collection: Any, ids: list[str]) -> list[Doc | None]:
    """The documents with these ids, in order (None for a missing one), in one query."""
    if len(ids) == 1:
        return [await collection.find_one({"_id": ids[0]})]
    # to_list: one call for the whole batch; `async for` pays pymongo's cursor steps per document.
    found = {doc["_id"]: doc for doc in await collection.find({"_id": {"$in": list(set(ids))}}).to_list(None)}
    return [found.get(doc_id) for doc_id in ids]


async def _insert_new(collection: Any, docs: list[Doc]) -> list[bool]:
    """Insert each document unless its _id is taken: True for the ones inserted, in order. Unordered,
    so one taken id does not stop the others; any other write error fails every caller's insert, as
    a lost answer would (each is idempotent by its id, so the callers' retries stay exact)."""
    if len(docs) == 1:
        try:
            await collection.insert_one(docs[0])
            return [True]
        except DuplicateKeyError:
            return [False]
    try:
        await collection.insert_many(docs, ordered=False)
        return [True] * len(docs)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(error.get("code") != DUPLICATE_KEY for error in errors) or exc.details.get(
            "writeConcernErrors"
        ):
            raise
        taken = {int(error["index"]) for error in errors}
        return [index not in taken for index in range(len(docs))]
