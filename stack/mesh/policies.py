"""The DestinationRule's traffic policy as Envoy applies it: connection-pool limits and outlier detection."""

from __future__ import annotations

from dataclasses import dataclass

ENVOY_MAX_EJECTION_TIME = 300.0  # Envoy's default max_ejection_time (or baseEjectionTime, if larger)


@dataclass(frozen=True)
class PoolLimits:
    """Envoy's circuit-breaker thresholds; None is Istio's default (2^32-1: in effect no limit)."""

    max_connections: int | None = None  # tcp.maxConnections: HTTP/1.1 requests in flight upstream
    max_pending: int | None = None  # http.http1MaxPendingRequests: requests queued for a connection
    max_retries: int | None = None  # http.maxRetries: retries in progress at once, all requests together
    max_requests_per_connection: int | None = (
        None  # http.maxRequestsPerConnection; None: keep-alive unbounded
    )
    connect_timeout: float = 10.0  # tcp.connectTimeout; Istio's default is 10 s


@dataclass(frozen=True)
class OutlierPolicy:
    consecutive_5xx: int = 5  # 0 turns consecutive-5xx ejection off
    interval: float = 10.0  # the un-ejection sweep runs this often
    base_ejection_time: float = 30.0
    max_ejection_percent: int = 10
    max_ejection_time: float = ENVOY_MAX_EJECTION_TIME
