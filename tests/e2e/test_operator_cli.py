"""The operator's entry points: `tronops run` (the main job), `tronops token`, and config errors at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jwt
from pymongo import MongoClient

from harness.clients.api import Api
from service.config import parse_encryption_key
from service.ports.vault import KeyVault
from stack.local import LOCAL_SECRETS, Backends
from stack.processes import REPO, free_port

TRONOPS = [sys.executable, "-m", "tronops.cli"]


def test_token_is_signed_with_the_configured_secret() -> None:
    out = subprocess.run(
        [*TRONOPS, "token", "--sub", "ci", "--roles", "admin,user"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "JWT_SECRET": "s" * 40},
    )
    claims = jwt.decode(out.stdout.strip(), "s" * 40, algorithms=["HS256"])
    assert claims["sub"] == "ci" and claims["roles"] == ["admin", "user"]
    bad = subprocess.run(
        [*TRONOPS, "token", "--sub", "ci", "--roles", "root"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "unknown role(s) root" in bad.stderr


def test_run_brings_the_service_up_ready_to_use() -> None:
    port = free_port()
    done = subprocess.run(
        [*TRONOPS, "run", "--check", "--port", str(port), "--block-interval", "0.5"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f'"service": "http://127.0.0.1:{port}"' in done.stdout and "ready." in done.stdout


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


def test_logs_are_json_with_request_ids_and_no_secrets(backends: Backends, api: Api, service: object) -> None:
    api.wallet("TRX")
    api.get("/api/v1/wallets", headers={"X-Request-ID": "log-check-1"})
    log_text = Path(backends.replicas[0].log_path).read_text()
    entries = [json.loads(line) for line in log_text.splitlines() if line.startswith("{")]
    traced = [e for e in entries if e.get("request_id") == "log-check-1"]
    assert traced and traced[-1]["route"] == "/api/v1/wallets" and traced[-1]["status"] == 200
    env = backends.service_env()
    for secret in (env["JWT_SECRET"], env["ENCRYPTION_KEY"], env["WEBHOOK_SECRET"], api.token):
        assert secret not in log_text
    vault = KeyVault(parse_encryption_key(env.get("ENCRYPTION_KEY", LOCAL_SECRETS["ENCRYPTION_KEY"])))
    with MongoClient(backends.store.url) as client:
        for wallet in client["lucid_tron_payment"].wallets.find():
            assert vault.private_key(wallet["encrypted_key"], wallet["_id"]).hex() not in log_text
