"""Injected faults, each switched on through the control API for a time to live.

A fault is a name and its parameters. Every one expires by itself (so a caller that crashes cannot
leave the devnet broken) and expiry is checked on every read, exactly at its deadline, without a
reaper thread. Faults that hit only a share of requests draw from a random generator of their own,
seeded on request so a test can replay a sequence; a share of 1.0 always hits and 0.0 never does.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

MAX_TTL_S = 3600.0
DEFAULT_LEGACY_TTL_S = 600.0  # down / latency / stall set without a ttl_s


@dataclass
class ActiveFault:
    name: str
    params: dict[str, Any]
    expires_at: float  # time.monotonic()
    draws: random.Random = field(repr=False, default_factory=random.Random)


class Faults:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._active: dict[str, ActiveFault] = {}

    def set(self, name: str, params: dict[str, Any], ttl_s: float, seed: int | None = None) -> None:
        """Switch a fault on (or replace its parameters and deadline)."""
        fault = ActiveFault(name, dict(params), time.monotonic() + ttl_s, random.Random(seed))
        with self._changed:
            self._active[name] = fault
            self._changed.notify_all()

    def remove(self, name: str) -> None:
        with self._changed:
            self._active.pop(name, None)
            self._changed.notify_all()

    def reset(self) -> None:
        with self._changed:
            self._active.clear()
            self._changed.notify_all()

    def params(self, name: str) -> dict[str, Any] | None:
        """The fault's parameters while it is on, else None."""
        with self._changed:
            fault = self._live(name)
            return dict(fault.params) if fault is not None else None

    def hits(self, name: str) -> dict[str, Any] | None:
        """The fault's parameters if it is on and this request falls in its share, else None."""
        with self._changed:
            fault = self._live(name)
            if fault is None or not fault.draws.random() < fault.params["share"]:
                return None
            return dict(fault.params)

    def wait_until_off(self, name: str) -> None:
        """Block while the fault is on: until it is removed, reset or past its deadline."""
        with self._changed:
            while (fault := self._live(name)) is not None:
                self._changed.wait(fault.expires_at - time.monotonic())

    def listing(self) -> list[dict[str, Any]]:
        """The active faults as /control/info shows them."""
        now = time.monotonic()
        with self._changed:
            live = [f for f in list(self._active.values()) if self._live(f.name) is not None]
            return [{"fault": f.name, **f.params, "expires_in_s": round(f.expires_at - now, 3)} for f in live]

    def _live(self, name: str) -> ActiveFault | None:
        fault = self._active.get(name)
        if fault is not None and fault.expires_at <= time.monotonic():
            del self._active[name]
            return None
        return fault

    # -- the three original faults, read whole by the producer, metrics and request path ----------

    @property
    def down(self) -> bool:  # every wallet*/ endpoint answers 503
        return self.params("down") is not None

    @property
    def latency_ms(self) -> int:  # added before every wallet*/ answer
        params = self.params("latency")
        return int(params["ms"]) if params is not None else 0

    @property
    def stalled(self) -> bool:  # no blocks are produced
        return self.params("stall") is not None

    def as_dict(self) -> dict[str, object]:
        return {"down": self.down, "latency_ms": self.latency_ms, "stalled": self.stalled}
