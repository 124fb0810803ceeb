"""The operator's entry points: `tronops run` (the main job), `tronops token`, and config errors at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import jwt
from pymongo import MongoClient

from harness.clients.api import Api
from harness.waiting import wait_for
from service.config import parse_encryption_key
from service.ports.vault import KeyVault
from stack.local import LOCAL_SECRETS, Backends
from stack.processes import REPO, Part, free_port
from tests.cli.tronops_process import run_tronops


def test_token_is_signed_with_the_configured_secret() -> None:
    out = run_tronops("token", "--sub", "ci", "--roles", "admin,user", env={"JWT_SECRET": "s" * 40})
    assert out.code == 0, out.stderr
    claims = jwt.decode(out.stdout.strip(), "s" * 40, algorithms=["HS256"])
    assert claims["sub"] == "ci" and claims["roles"] == ["admin", "user"]
    bad = run_tronops("token", "--sub", "ci", "--roles", "root")
    assert bad.code == 2 and "unknown role(s) root" in bad.stderr


def test_tokens_from_the_cli_are_what_the_service_accepts(backends: Backends, service: Part) -> None:
    """The CLI mints without the service (harness.tokens); the service's own check must agree."""

    def token(roles: str) -> str:
        secret = backends.service_env()["JWT_SECRET"]
        done = run_tronops("token", "--sub", "cli-token-check", "--roles", roles, env={"JWT_SECRET": secret})
        assert done.code == 0, done.stderr
        return done.stdout.strip()

    def get(path: str, bearer: str) -> int:
        return httpx.get(f"{service.url}{path}", headers={"Authorization": f"Bearer {bearer}"}).status_code

    payout_manager, user = token("payout_manager"), token("user")
    assert get("/api/v1/payouts/history", payout_manager) == 200
    assert get("/api/v1/wallets", user) == 200
    assert get("/api/v1/payouts/history", user) == 403, "the roles claim is read as the service reads it"


def test_run_brings_the_service_up_ready_to_use() -> None:
    port = free_port()
    done = run_tronops("run", "--check", "--port", str(port), "--block-interval", "0.5", timeout=180)
    assert done.code == 0, done.stdout + done.stderr
    assert f'"service": "http://127.0.0.1:{port}"' in done.stdout and "ready." in done.stdout
    assert done.service_modules == [], "the service runs as its own process; the CLI never imports it"


def test_production_mode_refuses_to_start_without_secrets() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "ENCRYPTION_KEY")}
    done = subprocess.run(
        [sys.executable, "-m", "service"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**env, "NODE_ENV": "production", "PORT": str(free_port())},
        cwd=REPO,
    )
    assert done.returncode == 2 and "JWT_SECRET is not set" in done.stderr


def test_logs_are_json_with_request_ids_and_no_secrets(backends: Backends, api: Api, service: Part) -> None:
    api.wallet("TRX")
    api.get("/api/v1/wallets", headers={"X-Request-ID": "log-check-1"})
    # The replica `api` talks to: not replicas[0], which is another test's when that one ran first.
    log = Path(service.log_path)

    def traced() -> list[dict[str, Any]]:
        entries = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
        return [e for e in entries if e.get("request_id") == "log-check-1"]

    # The access line is written as the response completes: it can trail the client's read by a moment.
    lines = wait_for(traced, 10, "the request's access log line")
    assert lines[-1]["route"] == "/api/v1/wallets" and lines[-1]["status"] == 200
    log_text = log.read_text()
    env = backends.service_env()
    for secret in (env["JWT_SECRET"], env["ENCRYPTION_KEY"], env["WEBHOOK_SECRET"], api.token):
        assert secret not in log_text
    vault = KeyVault(parse_encryption_key(env.get("ENCRYPTION_KEY", LOCAL_SECRETS["ENCRYPTION_KEY"])))
    with MongoClient(backends.store.url) as client:
        for wallet in client["lucid_tron_payment"].wallets.find():
            assert vault.private_key(wallet["encrypted_key"], wallet["_id"]).hex() not in log_text
