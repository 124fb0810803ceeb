"""Prometheus metrics of the devnet, on a registry of its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from stack.devnet.chain import Chain
from stack.devnet.faults import Faults


class DevnetMetrics:
    def __init__(self, chain: Chain, faults: Faults, fault_names: tuple[str, ...]) -> None:
        self.registry = CollectorRegistry()
        self._faults, self._fault_names = faults, fault_names
        self._faults_active = Gauge(
            "tron_devnet_faults_active",
            "1 while the injected fault is in force, else 0",
            ["fault"],
            registry=self.registry,
        )
        # Gauges read live state at scrape time, so nothing has to remember to update them.
        Gauge("tron_devnet_block_height", "Number of the latest block", registry=self.registry).set_function(
            lambda: chain.height
        )
        Gauge("tron_devnet_up", "1 unless the down fault is injected", registry=self.registry).set_function(
            lambda: 0 if faults.down else 1
        )
        Gauge(
            "tron_devnet_pending_transactions", "Transactions waiting for a block", registry=self.registry
        ).set_function(lambda: chain.pending_count)
        self._requests = Counter(
            "tron_devnet_requests",
            "HTTP requests by route and status",
            ["path", "code"],
            registry=self.registry,
        )

        self._broadcasts = Counter(
            "tron_devnet_broadcasts",
            "broadcasttransaction answers by java-tron response code (SUCCESS when taken)",
            ["code"],
            registry=self.registry,
        )

    def observe_broadcast(self, code: str) -> None:
        self._broadcasts.labels(code=code).inc()

    def observe_request(self, path: str, code: str) -> None:
        """`code` is the HTTP status, or "lost" for an answer the lose_answer fault withheld."""
        self._requests.labels(path=path, code=code).inc()

    def render(self) -> bytes:
        # Read at every scrape, so a dashboard shows each fault's window; one past its time to live reads 0.
        active = {fault["fault"] for fault in self._faults.listing()}
        for name in self._fault_names:
            self._faults_active.labels(name).set(1 if name in active else 0)
        return bytes(generate_latest(self.registry))
