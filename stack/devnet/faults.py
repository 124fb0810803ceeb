"""Injected faults, flipped through the control API."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Faults:
    # Plain attributes: each is read and written whole, which is atomic under the GIL.
    down: bool = False  # every wallet*/ endpoint answers 503
    latency_ms: int = 0  # added before every wallet*/ answer
    stalled: bool = False  # no blocks are produced

    def reset(self) -> None:
        self.down = False
        self.latency_ms = 0
        self.stalled = False

    def as_dict(self) -> dict[str, object]:
        return {"down": self.down, "latency_ms": self.latency_ms, "stalled": self.stalled}
