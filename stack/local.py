"""The service's backends started together: store, Redis and the TRON devnet, plus the env a replica needs."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path

from stack.processes import Part, devnet_info, devnet_part, redis_part, service_part, store_part

# Local, non-production secrets; staging and production take theirs from the environment.
LOCAL_SECRETS = {
    "JWT_SECRET": "local-stack-jwt-secret-0123456789abcdef",
    "ENCRYPTION_KEY": base64.b64encode(b"local-stack-encryption-key-32byt").decode(),
    "WEBHOOK_SECRET": "local-stack-webhook-secret",
    "CALLBACK_SECRET": "local-stack-callback-secret",
}


def service_env(store_url: str, redis_url: str, devnet_url: str, usdt_contract: str) -> dict[str, str]:
    """What a replica needs to reach its backends, with the local secrets (or the environment's)."""
    return {
        "NODE_ENV": "development",
        "MONGODB_URI": store_url,
        "MONGODB_DB": "lucid_tron_payment",
        "REDIS_URL": redis_url,
        "TRON_FULLNODE_URL": devnet_url,
        "USDT_CONTRACT_ADDRESS": usdt_contract,
        **{k: os.environ.get(k, v) for k, v in LOCAL_SECRETS.items()},
    }


@dataclass
class Backends:
    store: Part
    redis: Part
    devnet: Part
    usdt_contract: str
    treasury: str
    run_dir: Path
    replicas: list[Part] = field(default_factory=list)

    def service_env(self, **overrides: str) -> dict[str, str]:
        return {
            **service_env(self.store.url, self.redis.url, self.devnet.url, self.usdt_contract),
            **overrides,
        }

    def start_replica(self, name: str, port: int | None = None, **env: str) -> Part:
        replica = service_part(self.run_dir, name, self.service_env(**env), port).start(timeout=60)
        self.replicas.append(replica)
        return replica

    def stop(self) -> None:
        for part in [*self.replicas, self.devnet, self.redis, self.store]:
            part.stop()


def start_backends(
    run_dir: Path,
    *,
    block_interval: float = 3.0,
    confirmations: int = 19,
    devnet_args: list[str] | None = None,
) -> Backends:
    started: list[Part] = []
    try:
        for part in (
            store_part(run_dir),
            redis_part(run_dir),
            devnet_part(
                run_dir, block_interval=block_interval, confirmations=confirmations, extra=devnet_args
            ),
        ):
            started.append(part.start())
        store, redis, devnet = started
        info = devnet_info(devnet.url)
        return Backends(
            store, redis, devnet, str(info["usdt_contract_address"]), str(info["treasury_address"]), run_dir
        )
    except BaseException:
        for part in reversed(started):
            part.stop()
        raise
