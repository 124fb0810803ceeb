"""Istio's standard request metrics (as the destination reports them), plus the mesh's own."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from stack.mesh.endpoints import Endpoint
from stack.mesh.faults import Fault
from stack.mesh.istio_config import Service

# Istio's default buckets for istio_request_duration_milliseconds.
ISTIO_BUCKETS = (
    0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
    300000, 600000, 1800000, 3600000,
)  # fmt: skip
LABELS = (
    "reporter",
    "source_workload",
    "destination_workload",
    "destination_service",
    "destination_service_name",
    "request_protocol",
    "response_code",
    "response_flags",
    "route_name",  # ours, not Istio's: one value per VirtualService route, so cardinality stays small
)


FAULT_KINDS = ("abort", "delay")  # Istio's HTTPFaultInjection: one series each per route


class MeshMetrics:
    def __init__(self, service: Service) -> None:
        self.registry = CollectorRegistry()
        self._fixed = ("destination", "unknown", service.host, service.fqdn, service.host, "http")
        self.requests = Counter(
            "istio_requests",
            "Requests through the mesh, as Istio counts them",
            LABELS,
            registry=self.registry,
        )
        self.duration = Histogram(
            "istio_request_duration_milliseconds",
            "Request duration through the mesh in milliseconds, as Istio measures it",
            LABELS,
            buckets=ISTIO_BUCKETS,
            registry=self.registry,
        )
        self.ejected = Gauge(
            "tron_mesh_endpoint_ejected",
            "1 while outlier detection keeps the endpoint out of the load-balancing pool",
            ["endpoint"],
            registry=self.registry,
        )
        self.retries = Counter(
            "tron_mesh_upstream_retries",
            "Retries the mesh made, per route",
            ["route_name"],
            registry=self.registry,
        )
        self.faults_active = Gauge(
            "tron_mesh_faults_active",
            "1 while an Istio fault of this kind is in force on the route, else 0",
            ["route_name", "kind"],
            registry=self.registry,
        )
        self._faults: tuple[list[str], Callable[[], dict[str, Fault]]] = ([], dict)
        # One (counter, histogram) child per label set, so the hot path skips prometheus' label lookup.
        self._children: dict[tuple[str, int, str], tuple[Counter, Histogram]] = {}

    def observe(self, route: str, code: int, flags: str, milliseconds: float) -> None:
        children = self._children.get((route, code, flags))
        if children is None:
            labels = (*self._fixed, str(code), flags, route)
            children = self._children[(route, code, flags)] = (
                self.requests.labels(*labels),
                self.duration.labels(*labels),
            )
        children[0].inc()
        children[1].observe(milliseconds)

    def watch_faults(self, routes: list[str], active: Callable[[], dict[str, Fault]]) -> None:
        """Export the faults in force on `routes` (`active` reads the fault table) at every scrape, so a
        dashboard shows when a game day's fault began and ended; a removed fault reads 0."""
        self._faults = (routes, active)

    def count_retry(self, route: str) -> None:
        self.retries.labels(route).inc()

    def endpoints_changed(self, current: list[Endpoint], removed: list[Endpoint]) -> None:
        names = {ep.name for ep in current}
        for endpoint in removed:
            if endpoint.name not in names:
                with contextlib.suppress(KeyError):  # never labelled: it left before any change was seen
                    self.ejected.remove(endpoint.name)
        for endpoint in current:
            self.ejected.labels(endpoint.name).set(1 if endpoint.ejected else 0)

    def exposition(self) -> bytes:
        routes, active = self._faults
        in_force = {route: fault.spec() for route, fault in active().items()}
        for route in routes:
            for kind in FAULT_KINDS:
                self.faults_active.labels(route, kind).set(1 if kind in in_force.get(route, {}) else 0)
        return generate_latest(self.registry)
