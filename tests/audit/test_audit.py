"""The money audit against the running service, each finding provoked for real, and a clean run quiet.

Only the contract is used to audit (the admin API, the devnet's TronGrid endpoints); a test reads the
store only to act behind the service's back (a wallet's key), as a thief or a bug would.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from pymongo import MongoClient
from tronpy import Tron
from tronpy.providers import HTTPProvider

from harness.audit.findings import FEE_BURNED_ON_REVERT, STUCK, UNKNOWN_TO_LEDGER, Finding
from harness.audit.run import Report, audit
from harness.clients.api import Api
from harness.clients.devnet import Devnet
from harness.tokens import mint_token
from harness.waiting import wait_for
from service.config import parse_encryption_key
from service.ports.vault import KeyVault
from stack.local import LOCAL_SECRETS, Backends
from stack.processes import Part
from tests.e2e.test_payouts import new_address
from tronops.cli import main


def run_audit(backends: Backends, service: Part, since: int, stuck_after_ms: int = 3_600_000) -> Report:
    token = mint_token(backends.service_env()["JWT_SECRET"], "auditor", ["admin"])
    return audit(
        service.url,
        token,
        backends.devnet.url,
        backends.usdt_contract,
        since_ms=since,
        stuck_after_ms=stuck_after_ms,
        lookback_ms=600_000,
    )


def payout(manager: Api, wallet: dict[str, Any], amount: str, currency: str = "TRX") -> dict[str, Any]:
    answer = manager.post(
        "/api/v1/payouts/initiate",
        {
            "recipient_address": new_address(),
            "amount": amount,
            "currency": currency,
            "source_wallet_id": wallet["wallet_id"],
        },
        key=str(uuid.uuid4()),
    )
    assert answer.status_code == 202, answer.text
    return dict(answer.json())


def now_ms() -> int:
    return int(time.time() * 1000) - 1000


def test_a_clean_ledger_audits_clean_and_the_cli_exits_0(
    api_as: Callable[..., Api], devnet: Devnet, backends: Backends, service: Part, capsys: Any
) -> None:
    since = now_ms()
    manager = api_as("payout_manager")
    wallet = manager.wallet("TRX")
    devnet.fund(wallet["address"], 20_000_000)
    done = manager.wait_status(f"/api/v1/payouts/{payout(manager, wallet, '3')['payout_id']}", ("completed",))
    report = run_audit(backends, service, since)
    assert report.clean, [f.line() for f in report.findings]
    assert report.operations >= 1 and report.chain_transactions >= 1, report.summary()
    token = mint_token(LOCAL_SECRETS["JWT_SECRET"], "auditor", ["admin"])
    argv = ["audit", "--base-url", service.url, "--chain-url", backends.devnet.url, "--token", token]
    with pytest.raises(SystemExit) as exit_code:
        main([*argv, "--usdt-contract", backends.usdt_contract, "--since", "5m", "--format", "json"])
    assert exit_code.value.code == 0, capsys.readouterr()
    assert '"clean": true' in capsys.readouterr().out, done


def test_the_cli_exits_2_when_it_cannot_read_the_ledger(
    backends: Backends, service: Part, capsys: Any
) -> None:
    argv = ["audit", "--base-url", service.url, "--chain-url", backends.devnet.url, "--token", "not-a-jwt"]
    with pytest.raises(SystemExit) as exit_code:
        main(argv)
    assert exit_code.value.code == 2
    err = capsys.readouterr().err
    assert "could not audit" in err and "answered 401" in err, err


@pytest.mark.audit_expects(UNKNOWN_TO_LEDGER)
def test_a_transfer_made_behind_the_services_back_is_unknown_to_the_ledger(
    api_as: Callable[..., Api], devnet: Devnet, backends: Backends, service: Part, capsys: Any
) -> None:
    since = now_ms()
    wallet = api_as("payout_manager").wallet("TRX")
    devnet.fund(wallet["address"], 10_000_000)
    client: MongoClient[dict[str, Any]]
    with MongoClient(backends.store.url) as client:
        stored = client["lucid_tron_payment"].wallets.find_one({"_id": wallet["wallet_id"]})
    assert stored is not None
    vault = KeyVault(parse_encryption_key(LOCAL_SECRETS["ENCRYPTION_KEY"]))
    key = vault.private_key(stored["encrypted_key"], wallet["wallet_id"])
    tron = Tron(HTTPProvider(backends.devnet.url))
    tx = tron.trx.transfer(wallet["address"], new_address(), 1_000_000).build().sign(key)
    txid = tx.broadcast().wait()["id"]
    report = run_audit(backends, service, since)
    assert [(f.kind, f.tx_ids) for f in report.findings] == [(UNKNOWN_TO_LEDGER, (txid,))], report.findings
    token = mint_token(LOCAL_SECRETS["JWT_SECRET"], "auditor", ["admin"])
    with pytest.raises(SystemExit) as exit_code:
        main(
            [
                "audit",
                "--base-url",
                service.url,
                "--chain-url",
                backends.devnet.url,
                "--token",
                token,
                "--usdt-contract",
                backends.usdt_contract,
                "--since",
                "5m",
            ]
        )
    assert exit_code.value.code == 1
    assert f"FINDING unknown_to_ledger tx={txid}" in capsys.readouterr().out


def test_an_operation_held_up_by_the_payout_freeze_is_stuck_past_the_limit(
    api_as: Callable[..., Api], devnet: Devnet, backends: Backends, service: Part
) -> None:
    since = now_ms()
    manager, admin = api_as("payout_manager"), api_as("admin")
    wallet = manager.wallet("TRX")
    devnet.fund(wallet["address"], 10_000_000)
    freeze = {"frozen": True, "reason": "audit test: hold payouts"}
    assert admin.http.put("/api/v1/admin/payouts/freeze", json=freeze).status_code == 200
    try:
        accepted = payout(manager, wallet, "1")

        def stuck() -> list[Finding]:  # the limit under test is 1 s: the payout must outlive it
            report = run_audit(backends, service, since, stuck_after_ms=1000)
            return [f for f in report.findings if f.kind == STUCK]

        found = wait_for(stuck, 15, "the frozen payout to be reported stuck")
    finally:
        thaw = {"frozen": False, "reason": "audit test done"}
        assert admin.http.put("/api/v1/admin/payouts/freeze", json=thaw).status_code == 200
    assert [f.operation_id for f in found] == [accepted["payout_id"]], found
    assert run_audit(backends, service, since).clean, "an hour's limit: not stuck yet"
    manager.wait_status(f"/api/v1/payouts/{accepted['payout_id']}", ("completed",), timeout=60)


@pytest.mark.audit_expects(FEE_BURNED_ON_REVERT)
def test_a_reverted_trc20_call_that_burned_a_fee_is_a_finding(
    api_as: Callable[..., Api], devnet: Devnet, backends: Backends, service: Part
) -> None:
    since = now_ms()
    manager = api_as("payout_manager")
    wallet = manager.wallet("USDT")
    devnet.fund(wallet["address"], 30_000_000)  # TRX for the fee
    devnet.fund(wallet["address"], 5_000_000, "USDT")
    devnet.set_fault("revert_trc20", 60, reason="OUT_OF_ENERGY", share=1.0)
    try:
        accepted = payout(manager, wallet, "2", "USDT")
        failed = manager.wait_status(f"/api/v1/payouts/{accepted['payout_id']}", ("failed", "completed"), 60)
    finally:
        devnet.clear_fault("revert_trc20")
    assert failed["status"] == "failed", failed
    report = run_audit(backends, service, since)
    burned = [f for f in report.findings if f.kind == FEE_BURNED_ON_REVERT]
    assert [f.operation_id for f in burned] == [accepted["payout_id"]], report.findings
    assert burned[0].details["fee_sun"] > 0 and len(report.findings) == 1, report.findings
