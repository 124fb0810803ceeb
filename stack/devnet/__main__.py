"""python -m stack.devnet: serve until SIGTERM / SIGINT, announcing readiness on stdout."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from stack.devnet.config import (
    BROADCAST_CACHE_TTL,
    DEFAULT_GENESIS_PATH,
    MAINNET_BLOCK_INTERVAL,
    MAINNET_ENERGY_FEE,
    MAINNET_MEMO_FEE,
    MAINNET_SOLIDIFICATION,
    MAINNET_UNFREEZE_DELAY,
    DevnetConfig,
    GenesisError,
)
from stack.devnet.server import start_devnet


def parse_args(argv: list[str] | None = None) -> DevnetConfig:
    parser = argparse.ArgumentParser(prog="python -m stack.devnet", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=8090, help="0 picks a free port (default: 8090, java-tron's)"
    )
    parser.add_argument("--block-interval", type=float, default=MAINNET_BLOCK_INTERVAL, help="seconds")
    parser.add_argument(
        "--confirmations", type=int, default=MAINNET_SOLIDIFICATION, help="blocks until solid"
    )
    parser.add_argument("--unfreeze-delay", type=float, default=MAINNET_UNFREEZE_DELAY, help="seconds")
    parser.add_argument("--genesis", type=Path, default=DEFAULT_GENESIS_PATH)
    parser.add_argument(
        "--broadcast-cache-ttl",
        type=float,
        default=BROADCAST_CACHE_TTL,
        help="seconds the node remembers a broadcast transaction id (java-tron: 1 hour)",
    )
    parser.add_argument(
        "--memo-fee",
        type=int,
        default=0,
        help=f"SUN burned for a transaction with a memo (getMemoFee; 0 as java-tron's genesis, "
        f"mainnet: {MAINNET_MEMO_FEE})",
    )
    parser.add_argument(
        "--energy-fee",
        type=int,
        default=MAINNET_ENERGY_FEE,
        help="SUN burned per energy unit a contract call uses beyond the caller's staked energy "
        f"(getEnergyFee; mainnet: {MAINNET_ENERGY_FEE})",
    )
    args = parser.parse_args(argv)
    try:
        return DevnetConfig(
            host=args.host,
            port=args.port,
            block_interval=args.block_interval,
            confirmations=args.confirmations,
            unfreeze_delay=args.unfreeze_delay,
            genesis_path=args.genesis,
            broadcast_cache_ttl=args.broadcast_cache_ttl,
            memo_fee=args.memo_fee,
            energy_fee=args.energy_fee,
        )
    except ValueError as exc:
        parser.error(str(exc))
        raise  # unreachable: parser.error exits


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        devnet = start_devnet(config)
    except (GenesisError, OSError) as exc:
        print(f"devnet: cannot start: {exc}", file=sys.stderr)
        return 1
    ready = {
        "event": "devnet_ready",
        "url": devnet.url,
        "treasury_address": devnet.treasury_address,
        "usdt_contract_address": devnet.usdt_contract_address,
    }
    print(json.dumps(ready), flush=True)
    stopping.wait()
    devnet.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
