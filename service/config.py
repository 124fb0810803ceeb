"""Configuration from the environment, with the seed's variable names."""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


# Development defaults: only ever used outside production mode.
_DEV_JWT_SECRET = "dev-jwt-secret-change-me-0123456789abcdef"
_DEV_ENCRYPTION_KEY = base64.b64encode(b"dev-encryption-key-32-bytes-long").decode()
_DEV_WEBHOOK_SECRET = "dev-webhook-secret"
_DEV_CALLBACK_SECRET = "dev-callback-secret"
# [decided] Only these may run on the built-in development secrets; any other NODE_ENV (staging,
# prod, a typo, or none at all) is production mode and must be given real ones.
DEVELOPMENT_ENVIRONMENTS = ("development", "test")


@dataclass(frozen=True)
class Config:
    environment: str
    host: str
    port: int
    mongodb_uri: str
    mongodb_db: str
    redis_url: str
    tron_fullnode_url: str
    tron_api_key: str | None
    usdt_contract_address: str
    jwt_secret: str
    encryption_key: bytes
    webhook_secret: str
    callback_secret: str
    pod_name: str
    worker_enabled: bool
    worker_poll_seconds: float
    worker_lease_seconds: float
    worker_stop_seconds: float
    tx_lifetime_seconds: float
    resign_margin_seconds: float
    max_node_lag_seconds: float
    # TEST ONLY (refused in production): the process exits right after its first broadcast, before
    # it records the answer, so tests can crash a replica at the most dangerous moment.
    test_only_exit_after_broadcast: bool
    balance_cache_seconds: float
    network_name: str
    key_escrow_dir: str = ""  # where each new wallet's encrypted key is escrowed; "" = no escrow
    # Each transaction carries its operation id as a memo (getMemoFee each: 1 TRX on mainnet), so a
    # restore can rebuild lost operations from the chain and retried keys are not paid twice. A
    # deployment choice: off saves the fee and loses that (docs/dr-runbook.md).
    operation_memo: bool = True

    @property
    def production(self) -> bool:
        return self.environment not in DEVELOPMENT_ENVIRONMENTS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        environment = env.get("NODE_ENV") or env.get("APP_ENV") or ""
        production = environment not in DEVELOPMENT_ENVIRONMENTS

        def secret(name: str, dev_default: str) -> str:
            value = env.get(name, "")
            if value:
                return value
            if production:
                running_as = f"NODE_ENV={environment}" if environment else "NODE_ENV unset"
                raise ConfigError(
                    f"{name} is not set; {running_as} is production mode and needs it (set it in the "
                    "environment; only NODE_ENV=development or test may use the built-in dev secrets)"
                )
            return dev_default

        jwt_secret = secret("JWT_SECRET", _DEV_JWT_SECRET)
        if production and len(jwt_secret) < 32:
            raise ConfigError("JWT_SECRET is too short: use at least 32 characters of random data")
        encryption_key = parse_encryption_key(secret("ENCRYPTION_KEY", _DEV_ENCRYPTION_KEY))
        webhook_secret = secret("WEBHOOK_SECRET", _DEV_WEBHOOK_SECRET)
        callback_secret = secret("CALLBACK_SECRET", _DEV_CALLBACK_SECRET)
        if production and callback_secret == webhook_secret:
            raise ConfigError(
                "CALLBACK_SECRET must differ from WEBHOOK_SECRET: one signs what we send, one what we accept"
            )
        return cls(
            environment=environment,
            host=env.get("HOST", "127.0.0.1"),
            port=_int(env, "PORT", 8085),
            mongodb_uri=secret("MONGODB_URI", "mongodb://127.0.0.1:27017"),
            mongodb_db=env.get("MONGODB_DB", "lucid_tron_payment"),
            redis_url=secret("REDIS_URL", "redis://127.0.0.1:6379/0"),
            tron_fullnode_url=env.get("TRON_FULLNODE_URL", "http://127.0.0.1:8090"),
            tron_api_key=env.get("TRON_API_KEY") or None,
            usdt_contract_address=env.get("USDT_CONTRACT_ADDRESS", ""),
            jwt_secret=jwt_secret,
            encryption_key=encryption_key,
            webhook_secret=webhook_secret,
            callback_secret=callback_secret,
            pod_name=env.get("POD_NAME", env.get("HOSTNAME", "local")),
            worker_enabled=env.get("WORKER_ENABLED", "true").lower() not in {"0", "false", "no"},
            worker_poll_seconds=_float(env, "WORKER_POLL_SECONDS", 0.5),
            worker_lease_seconds=_float(env, "WORKER_LEASE_SECONDS", 30.0),
            worker_stop_seconds=_float(env, "WORKER_STOP_SECONDS", 10.0),
            tx_lifetime_seconds=_float(env, "TX_LIFETIME_SECONDS", 60.0),
            resign_margin_seconds=_float(env, "RESIGN_MARGIN_SECONDS", 30.0),
            max_node_lag_seconds=_float(env, "MAX_NODE_LAG_SECONDS", 30.0),
            test_only_exit_after_broadcast=_test_switch(env, "TEST_ONLY_EXIT_AFTER_BROADCAST", production),
            balance_cache_seconds=_float(env, "BALANCE_CACHE_SECONDS", 2.0),
            network_name=env.get("TRON_NETWORK_NAME", "devnet"),
            key_escrow_dir=env.get("KEY_ESCROW_DIR", ""),
            operation_memo=env.get("OPERATION_ID_ON_CHAIN", "true").lower() not in {"0", "false", "no"},
        )


def parse_encryption_key(value: str) -> bytes:
    """ENCRYPTION_KEY is 32 bytes for AES-256, given as 64 hex digits or base64."""
    candidates: list[bytes] = []
    if len(value) == 64:
        with contextlib.suppress(ValueError):
            candidates.append(bytes.fromhex(value))
    with contextlib.suppress(binascii.Error, ValueError):
        candidates.append(base64.b64decode(value, validate=True))
    for key in candidates:
        if len(key) == 32:
            return key
    raise ConfigError(
        "ENCRYPTION_KEY must be 32 bytes, as 64 hex digits or base64 (e.g. `openssl rand -base64 32`)"
    )


def _test_switch(env: Mapping[str, str], name: str, production: bool) -> bool:
    on = env.get(name, "").lower() in {"1", "true", "yes"}
    if on and production:
        raise ConfigError(f"{name} is a test-only switch; unset it in production")
    return on


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
