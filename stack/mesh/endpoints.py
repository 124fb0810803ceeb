"""The pods behind the service: membership, round robin over the healthy ones, and ejection state."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

log = logging.getLogger("stack.mesh")

PREVIOUS_HOST_TRIES = 5  # Istio's host_selection_retry_max_attempts with the previous_hosts predicate


@dataclass(eq=False)
class Endpoint:
    name: str
    url: str
    host: str = field(init=False)
    port: int = field(init=False)
    # Outlier-detection state (Envoy's DetectorHostMonitor), driven by stack.mesh.outlier.
    consecutive_5xx: int = 0
    ejected_at: float | None = None  # monotonic time of the current ejection
    ejected_for: float = 0.0  # how long the current ejection lasts (at least)
    ejected_until_unix: float | None = None  # the same, as wall-clock time for people
    ejections: int = 0  # times ejected since it joined
    backoff: int = 0  # Envoy's ejection multiplier: +1 per ejection, -1 per healthy interval
    unejected_at: float | None = None
    gone: bool = False  # it left the set: its connections close when their requests end

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme != "http" or not parts.hostname or parts.port is None or parts.path not in ("", "/"):
            raise ValueError(f"endpoint {self.name}: expected http://HOST:PORT, got {self.url!r}")
        self.host, self.port = parts.hostname, parts.port

    @property
    def ejected(self) -> bool:
        return self.ejected_at is not None

    def eject(self, now: float, duration: float) -> None:
        self.ejected_at, self.ejected_for = now, duration
        self.ejected_until_unix = time.time() + duration
        self.ejections += 1
        self.consecutive_5xx = 0

    def uneject(self, now: float) -> None:
        self.ejected_at, self.ejected_until_unix, self.unejected_at = None, None, now
        self.consecutive_5xx = 0

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "url": self.url,
            "healthy": not self.ejected,
            "ejected": self.ejected,
            "ejections": self.ejections,
            "ejected_until": (
                time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.ejected_until_unix))
                + f".{int(self.ejected_until_unix % 1 * 1000):03d}Z"
                if self.ejected_until_unix is not None
                else None
            ),
            "consecutive_5xx": self.consecutive_5xx,
        }


class EndpointSet:
    """Round robin over endpoints that are not ejected; membership follows the READY pods."""

    def __init__(self, on_change: Callable[[list[Endpoint], list[Endpoint]], None]) -> None:
        self.endpoints: list[Endpoint] = []
        self._healthy: list[Endpoint] = []
        self._next = 0
        self._on_change = on_change  # (current endpoints, removed ones) after any change

    def replace(self, entries: Iterable[tuple[str, str]]) -> bool:
        """Make the set exactly `entries` (name, url); an endpoint that stays keeps its state."""
        wanted = list(dict.fromkeys(entries))
        current = {(ep.name, ep.url): ep for ep in self.endpoints}
        if list(current) == wanted:
            return False
        kept = [current.get(key) or Endpoint(*key) for key in wanted]
        removed = [ep for key, ep in current.items() if key not in set(wanted)]
        self.endpoints = kept
        for endpoint in removed:
            endpoint.gone = True
        self._changed(removed)
        log.info(
            "endpoints: %s (removed: %s)",
            ", ".join(f"{ep.name}={ep.url}" for ep in kept) or "none",
            ", ".join(ep.name for ep in removed) or "none",
        )
        return True

    def refresh(self) -> None:
        """Recompute the healthy list after an ejection or un-ejection."""
        self._changed([])

    def _changed(self, removed: list[Endpoint]) -> None:
        self._healthy = [ep for ep in self.endpoints if not ep.ejected]
        self._on_change(self.endpoints, removed)

    def pick(self, tried: set[Endpoint]) -> Endpoint | None:
        """The next healthy endpoint, preferring one this request has not tried yet; None if none."""
        healthy = self._healthy
        if not healthy:
            return None
        for _ in range(min(len(healthy), PREVIOUS_HOST_TRIES)):
            endpoint = healthy[self._next % len(healthy)]
            self._next += 1
            if endpoint not in tried:
                break
        return endpoint
