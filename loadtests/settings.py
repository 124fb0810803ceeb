"""What a locustfile run is told, through the environment: `tronops load run` sets these for the master
and every worker it starts; under plain `locust -f loadtests/locustfile.py` they have defaults (the
smoke profile against the local stack, minting tokens with the local stack's secret).

  TRONOPS_LOAD_PROFILE     profile name (default smoke)     TRONOPS_LOAD_SCALE     users x F (1)
  TRONOPS_LOAD_DURATION    seconds in all (the profile's)   TRONOPS_LOAD_READ_ONLY 1: no writes at all
  TRONOPS_LOAD_TOKEN       one bearer token for every user  JWT_SECRET             mint one per user
  TRONOPS_LOAD_DEVNET_URL  the devnet faucet for test data (without it, the run is read-only)
  TRONOPS_LOAD_RESULTS     where the master writes its results (JSON)
  TRONOPS_LOAD_BASELINE    a recorded baseline to gate against
  TRONOPS_LOAD_STOP_FILE   once this file exists the profile ends, as at its last stage (chaos --load)
  TRONOPS_LOAD_KEEP_GOING  1: never abort on a gate lost beyond recovery (beside chaos, errors are the point)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PREFIX = "TRONOPS_LOAD_"
SAY = "[load] "  # starts the lines `tronops load run` shows while a run goes; the rest goes to its log


@dataclass(frozen=True)
class Settings:
    profile: str = "smoke"
    scale: float = 1.0
    duration: float | None = None
    read_only: bool = False
    token: str | None = None
    jwt_secret: str | None = None
    devnet_url: str | None = None
    results: Path | None = None
    baseline: Path | None = None
    stop_file: Path | None = None
    keep_going: bool = False

    @classmethod
    def from_environment(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)

        def get(name: str) -> str | None:
            return env.get(PREFIX + name) or None

        duration, results, baseline = get("DURATION"), get("RESULTS"), get("BASELINE")
        stop_file = get("STOP_FILE")
        return cls(
            profile=get("PROFILE") or "smoke",
            scale=float(get("SCALE") or 1.0),
            duration=float(duration) if duration else None,
            # Money needs test data from the faucet: without one the run stays read-only.
            read_only=get("READ_ONLY") == "1" or get("DEVNET_URL") is None,
            token=get("TOKEN"),
            jwt_secret=env.get("JWT_SECRET") or _local_secret(),
            devnet_url=get("DEVNET_URL"),
            results=Path(results) if results else None,
            baseline=Path(baseline) if baseline else None,
            stop_file=Path(stop_file) if stop_file else None,
            keep_going=get("KEEP_GOING") == "1",
        )

    def to_environment(self) -> dict[str, str]:
        values = {
            "PROFILE": self.profile,
            "SCALE": repr(self.scale),
            "DURATION": "" if self.duration is None else repr(self.duration),
            "READ_ONLY": "1" if self.read_only else "0",
            "TOKEN": self.token or "",
            "DEVNET_URL": self.devnet_url or "",
            "RESULTS": str(self.results or ""),
            "BASELINE": str(self.baseline or ""),
            "STOP_FILE": str(self.stop_file or ""),
            "KEEP_GOING": "1" if self.keep_going else "0",
        }
        env = {PREFIX + name: value for name, value in values.items()}
        return env | ({"JWT_SECRET": self.jwt_secret} if self.jwt_secret else {})


def _local_secret() -> str:
    """The local stack's signing secret (stack/local.py), the default `tronops up` starts pods with."""
    from stack.local import LOCAL_SECRETS

    return LOCAL_SECRETS["JWT_SECRET"]
