"""`schemathesis run <base>/openapi.json --checks all`, every phase (examples, coverage, fuzzing and
stateful), against the running service: no failure. Every check is on, none narrowed; the document
is only ever made stricter to agree with the service.

Schemathesis' pytest-less engine runs it: its lazy pytest loader (`from_fixture`) does not work with
pytest 9. The callers are admins owning no funded wallet, so nothing fuzzed can move money (the test
checks that none moved): one for the wallet routes (so the document's links lead somewhere), a new
one for every other request. One user for all would meet two rules of the contract that
schemathesis reads as refusals of valid data: an Idempotency-Key it repeats with another body is a
422, and the route groups' per-user rate limits answer 429. The payout kill switch the fuzzer
may turn on is turned off again afterwards.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import schemathesis
from schemathesis.engine import events

from harness.clients.api import Api
from harness.tokens import mint_token
from stack.local import Backends
from stack.processes import Part

FREEZE = "/api/v1/admin/payouts/freeze"

FUZZ_CONFIG = {
    # Seeded, so CI sees the same requests every run: a failure is the service's or the document's,
    # never the draw's. Request bodies are closed (additionalProperties: false) and the service refuses
    # unknown fields, so key material (API.md: a 400 at any depth) can only arrive under a field the
    # document lists, none of which is named like it.
    "seed": 20261130,
    # max-examples bounds the random phase; the examples, coverage and stateful phases add their own.
    # No example database: a failure found once (and saved) would otherwise replay on every run after.
    "generation": {"mode": "all", "max-examples": 20, "database": "none"},
    "checks": {"enabled": True},  # all of them, as `--checks all`
    "request-timeout": 30,
}


def fuzzing_admins(secret: str) -> type:
    """An auth provider: one admin for the wallet routes, a new admin for every other request.

    The wallet routes share one user so the document's links (POST /wallets -> GET, PUT, DELETE
    /wallets/{wallet_id}, ...) lead to a wallet the caller owns. Elsewhere per-user state would steer
    the fuzzer: Hypothesis repeats values, so a reused Idempotency-Key with another body ends in 422
    before the body is read, and per-user rate limits (staking: 50 a minute) end in 429."""
    wallet_owner = mint_token(secret, f"fuzz-wallets-{uuid.uuid4().hex}", ["admin"])

    class Admins:
        def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
            if case.operation.path.startswith("/api/v1/wallets"):
                return wallet_owner
            return mint_token(secret, f"fuzz-{uuid.uuid4().hex}", ["admin"])

        def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
            case.headers["Authorization"] = f"Bearer {data}"

    return Admins


def ledger_counts(auditor: Api, day: str) -> dict[str, int]:
    payouts = auditor.get("/api/v1/payouts/history", params={"limit": 1})
    payments = auditor.get("/api/v1/payments/reconciliation", params={"date": day})
    assert payouts.status_code == payments.status_code == 200, (payouts.text, payments.text)
    return {"payouts": payouts.json()["pagination"]["total"], "payments": payments.json()["totals"]["count"]}


def test_every_operation_keeps_its_contract(
    service: Part, backends: Backends, api_as: Callable[..., Api]
) -> None:
    auditor, today = api_as("admin"), datetime.now(UTC).date().isoformat()  # sees everyone's money moves
    ledger_before = ledger_counts(auditor, today)
    url = f"{service.url}/openapi.json"
    loaded = schemathesis.openapi.from_url(url, config=schemathesis.Config.from_dict(FUZZ_CONFIG))
    schema = loaded.include(path_regex="^/")  # explicitly, or GET /openapi.json (the loaded URL) is left out
    schema.auth(refresh_interval=None)(fuzzing_admins(backends.service_env()["JWT_SECRET"]))
    statuses: dict[str, Counter[int]] = {}
    problems: list[str] = []
    try:
        events_seen = list(schemathesis.engine.from_schema(schema).execute())
    finally:
        unfreeze = auditor.http.put(FREEZE, json={"frozen": False, "reason": "fuzzing done"})
        assert unfreeze.status_code == 200, unfreeze.text
    for event in events_seen:
        if isinstance(event, events.ScenarioFinished):
            seen = statuses.setdefault(event.recorder.label, Counter())
            seen.update(i.response.status_code for i in event.recorder.interactions.values() if i.response)
            problems += [
                f"{event.recorder.label}: {check.failure_info.failure.title}\n"
                f"{check.failure_info.failure.message}\n{check.failure_info.code_sample}"
                for checks in event.recorder.checks.values()
                for check in checks
                if check.failure_info is not None
            ]
        elif isinstance(event, events.NonFatalError | events.FatalError):
            problems.append(f"schemathesis could not run: {event!r}")
    print(f"\nfuzzed {len(statuses)} operations, {sum(map(Counter.total, statuses.values()))} requests:")
    for label, seen in sorted(statuses.items()):
        print(f"  {label}: {dict(sorted(seen.items()))}")
    assert ledger_counts(auditor, today) == ledger_before, "fuzzed input created payouts or payments"
    assert not problems, "\n\n".join(dict.fromkeys(problems))

    operations = {
        f"{method.upper()} {path}": operation
        for path, item in httpx.get(url, timeout=10.0).json()["paths"].items()
        for method, operation in item.items()
    }
    assert set(operations) <= set(statuses), "every operation must be fuzzed"
    walled = [
        label for label, op in operations.items() if op["security"] and set(statuses[label]) <= {401, 403}
    ]
    assert not walled, f"the fuzzer never got past authentication on {walled}"
