"""Load a VirtualService and a DestinationRule (the production YAML) into the mesh's model.

Strict on purpose: a field the local mesh does not implement is an error naming it, except for the few
that cannot matter on one loopback host (listed in _IGNORED), which are logged. A silently dropped match
condition or policy would make local results lie about production.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stack.mesh.durations import parse_duration
from stack.mesh.faults import Fault, FaultError, parse_fault
from stack.mesh.policies import ENVOY_MAX_EJECTION_TIME, OutlierPolicy, PoolLimits
from stack.mesh.routes import HeaderCondition, RequestMatch, RetryPolicy, Route, StringMatch

log = logging.getLogger("stack.mesh")

API_VERSIONS = {"networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"}
# Istio's default retry policy for a route without `retries` (pilot's retry.DefaultPolicy).
DEFAULT_RETRY = RetryPolicy(
    retries=2,
    per_try_timeout=None,
    retry_on=frozenset(
        {"connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes"}
    ),
    retriable_status_codes=frozenset({503}),
    istio_default=True,
)
RETRY_ON = frozenset(
    {
        "5xx",
        "gateway-error",
        "reset",
        "connect-failure",
        "refused-stream",
        "retriable-4xx",
        "retriable-status-codes",
        "envoy-ratelimited",
        # gRPC conditions, read from the response's grpc-status header
        "cancelled",
        "deadline-exceeded",
        "internal",
        "resource-exhausted",
        "unavailable",
    }
)
_IGNORED = {
    # No gateways, mTLS, subsets in use, or HTTP/2 upstreams on loopback.
    "VirtualService.spec": {"hosts", "gateways", "exportTo"},
    "DestinationRule.spec": {"subsets", "exportTo", "workloadSelector"},
    "trafficPolicy": {"tls"},
    "connectionPool.tcp": {"tcpKeepalive", "maxConnectionDuration", "idleTimeout"},
    "connectionPool.http": {"idleTimeout", "http2MaxRequests", "h2UpgradePolicy", "useClientProtocol"},
    "retries": {"retryRemoteLocalities"},
}


class ConfigError(ValueError):
    """The YAML is not valid Istio config, or uses something the local mesh does not implement."""


@dataclass(frozen=True)
class Service:
    host: str  # the DestinationRule's host, e.g. tron-payment-service
    namespace: str

    @property
    def fqdn(self) -> str:
        return self.host if "." in self.host else f"{self.host}.{self.namespace}.svc.cluster.local"


@dataclass(frozen=True)
class MeshConfig:
    service: Service
    routes: list[Route]
    pool: PoolLimits
    outlier: OutlierPolicy | None  # None: the DestinationRule has no outlierDetection


def load(virtual_service: Path, destination_rule: Path) -> MeshConfig:
    vs = _document(virtual_service, "VirtualService")
    dr = _document(destination_rule, "DestinationRule")
    dr_spec = _fields(dr.get("spec"), "DestinationRule.spec", {"host", "trafficPolicy"})
    host = dr_spec.get("host")
    if not isinstance(host, str) or not host:
        raise ConfigError(f"{destination_rule}: spec.host is required")
    namespace = str((vs.get("metadata") or {}).get("namespace") or "default")
    service = Service(host, namespace)
    policy = _fields(
        dr_spec.get("trafficPolicy", {}),
        "trafficPolicy",
        {"loadBalancer", "connectionPool", "outlierDetection"},
    )
    _load_balancer(policy.get("loadBalancer"))
    pool = _pool(policy.get("connectionPool"))
    outlier = _outlier(policy["outlierDetection"]) if "outlierDetection" in policy else None
    vs_spec = _fields(vs.get("spec"), "VirtualService.spec", {"http"})
    http = vs_spec.get("http")
    if not isinstance(http, list) or not http:
        raise ConfigError(f"{virtual_service}: spec.http must list at least one route")
    routes = [_route(raw, index, service) for index, raw in enumerate(http)]
    names = [route.name for route in routes]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"{virtual_service}: route names must be unique; repeated: {', '.join(duplicates)}")
    return MeshConfig(service, routes, pool, outlier)


def _document(path: Path, kind: str) -> dict[str, Any]:
    try:
        documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    found = [doc for doc in documents if isinstance(doc, dict) and doc.get("kind") == kind]
    if len(found) != 1:
        raise ConfigError(f"{path}: expected exactly one {kind}, found {len(found)}")
    if found[0].get("apiVersion") not in API_VERSIONS:
        raise ConfigError(
            f"{path}: apiVersion {found[0].get('apiVersion')!r} is not one of {sorted(API_VERSIONS)}"
        )
    return found[0]


def _fields(value: object, where: str, allowed: set[str]) -> dict[str, Any]:
    """`value` as a mapping; unknown keys are an error, keys that cannot matter locally are logged."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping, got {value!r}")
    ignored = _IGNORED.get(where, set())
    unknown = sorted(set(value) - allowed - ignored)
    if unknown:
        raise ConfigError(f"{where}: {', '.join(unknown)} not implemented by the local mesh")
    skipped = sorted(set(value) & ignored)
    if skipped:
        log.info(
            "config: %s: %s not applied locally (no effect on one loopback host)", where, ", ".join(skipped)
        )
    return value


def _duration(value: object, where: str) -> float:
    try:
        return parse_duration(value, where)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where} must be a non-negative integer, got {value!r}")
    return value


def _limit(value: object, where: str) -> int | None:
    """A proto3 integer limit: 0 (unset) means Istio's default, which is no limit."""
    return _count(value, where) or None


def _load_balancer(value: object) -> None:
    lb = _fields(value, "loadBalancer", {"simple"})
    if lb.get("simple", "ROUND_ROBIN") != "ROUND_ROBIN":
        raise ConfigError(f"loadBalancer.simple {lb['simple']!r}: only ROUND_ROBIN is implemented locally")


def _pool(value: object) -> PoolLimits:
    pool = _fields(value, "connectionPool", {"tcp", "http"})
    tcp = _fields(pool.get("tcp"), "connectionPool.tcp", {"maxConnections", "connectTimeout"})
    http = _fields(
        pool.get("http"),
        "connectionPool.http",
        {"http1MaxPendingRequests", "maxRequestsPerConnection", "maxRetries"},
    )
    return PoolLimits(
        max_connections=_limit(tcp.get("maxConnections", 0), "tcp.maxConnections"),
        max_pending=_limit(http.get("http1MaxPendingRequests", 0), "http.http1MaxPendingRequests"),
        max_retries=_limit(http.get("maxRetries", 0), "http.maxRetries"),
        max_requests_per_connection=_limit(
            http.get("maxRequestsPerConnection", 0), "http.maxRequestsPerConnection"
        ),
        connect_timeout=_duration(tcp.get("connectTimeout", "10s"), "tcp.connectTimeout"),
    )


def _outlier(value: object) -> OutlierPolicy:
    if isinstance(value, dict) and "consecutiveErrors" in value:
        raise ConfigError(
            "outlierDetection.consecutiveErrors is deprecated in Istio: use consecutive5xxErrors"
        )
    od = _fields(
        value,
        "outlierDetection",
        {"consecutive5xxErrors", "interval", "baseEjectionTime", "maxEjectionPercent"},
    )
    base = _duration(od.get("baseEjectionTime", "30s"), "outlierDetection.baseEjectionTime")
    percent = _count(od.get("maxEjectionPercent", 10), "outlierDetection.maxEjectionPercent")
    if percent > 100:
        raise ConfigError(f"outlierDetection.maxEjectionPercent must be 0-100, got {percent}")
    interval = _duration(od.get("interval", "10s"), "outlierDetection.interval")
    if interval <= 0:
        raise ConfigError("outlierDetection.interval must be positive")
    return OutlierPolicy(
        consecutive_5xx=_count(od.get("consecutive5xxErrors", 5), "outlierDetection.consecutive5xxErrors"),
        interval=interval,
        base_ejection_time=base,
        max_ejection_percent=percent,
        max_ejection_time=max(ENVOY_MAX_EJECTION_TIME, base),
    )


def _route(raw: object, index: int, service: Service) -> Route:
    where = f"http[{index}]"
    spec = _fields(raw, where, {"name", "match", "route", "timeout", "retries", "fault"})
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: a name is required (the admin API addresses routes by name)")
    where = f"route {name!r}"
    _destinations(spec.get("route"), where, service)
    matches = spec.get("match") or []
    if not isinstance(matches, list):
        raise ConfigError(f"{where}.match must be a list")
    timeout = _duration(spec["timeout"], f"{where}.timeout") if "timeout" in spec else 0.0
    fault: Fault | None = None
    if "fault" in spec:
        try:
            fault = parse_fault(spec["fault"], f"{where}.fault")
        except FaultError as exc:
            raise ConfigError(str(exc)) from None
    return Route(
        name=name,
        conditions=tuple(_match(m, f"{where}.match[{i}]") for i, m in enumerate(matches)),
        timeout=timeout or None,  # Istio: 0 (or none) disables the route timeout
        retry=_retries(spec["retries"], where) if "retries" in spec else DEFAULT_RETRY,
        fault=fault,
        match_spec=matches,
    )


def _destinations(value: object, where: str, service: Service) -> None:
    if not isinstance(value, list) or len(value) != 1:
        raise ConfigError(f"{where}.route: exactly one destination is supported locally (one set of pods)")
    entry = _fields(value[0], f"{where}.route[0]", {"destination", "weight"})
    destination = _fields(entry.get("destination"), f"{where}.route[0].destination", {"host", "port"})
    if destination.get("host") not in {service.host, service.fqdn}:
        raise ConfigError(
            f"{where}: destination host {destination.get('host')!r} "
            f"is not the DestinationRule's {service.host!r}"
        )


def _string_match(value: object, where: str, allow_present: bool = False) -> StringMatch | None:
    match = _fields(value, where, {"exact", "prefix", "regex"})
    if not match and allow_present:
        return None  # `{}`: the header only has to be present
    if len(match) != 1:
        raise ConfigError(f"{where}: give exactly one of exact, prefix, regex")
    kind, text = next(iter(match.items()))
    if not isinstance(text, str):
        raise ConfigError(f"{where}.{kind} must be a string, got {text!r}")
    if kind != "regex":
        return StringMatch(kind, text)
    try:
        return StringMatch(kind, text, re.compile(text))
    except re.error as exc:
        raise ConfigError(f"{where}.regex {text!r} does not compile: {exc}") from None


def _match(value: object, where: str) -> RequestMatch:
    spec = _fields(value, where, {"name", "uri", "method", "headers", "withoutHeaders", "ignoreUriCase"})
    conditions = []
    for key, absent in (("headers", False), ("withoutHeaders", True)):
        headers = spec.get(key) or {}
        if not isinstance(headers, dict):
            raise ConfigError(f"{where}.{key} must map header names to string matches")
        for header, match in headers.items():
            if header != header.lower():
                raise ConfigError(f"{where}.{key}: header names must be lower-case, got {header!r}")
            conditions.append(
                HeaderCondition(
                    header, _string_match(match, f"{where}.{key}.{header}", allow_present=True), absent
                )
            )
    ignore_case = bool(spec.get("ignoreUriCase", False))
    uri = _string_match(spec["uri"], f"{where}.uri") if "uri" in spec else None
    if uri is not None and ignore_case and uri.kind != "regex":
        uri = StringMatch(uri.kind, uri.value.lower())
    return RequestMatch(
        uri=uri,
        ignore_uri_case=ignore_case,
        method=_string_match(spec["method"], f"{where}.method") if "method" in spec else None,
        headers=tuple(conditions),
    )


def _retries(value: object, where: str) -> RetryPolicy | None:
    spec = _fields(
        value, f"{where}.retries", {"attempts", "perTryTimeout", "retryOn", "backoff"} | _IGNORED["retries"]
    )
    attempts = _count(spec.get("attempts", 0), f"{where}.retries.attempts")
    if attempts == 0:
        return None  # Istio: attempts 0 disables retries
    retry_on, codes = DEFAULT_RETRY.retry_on, DEFAULT_RETRY.retriable_status_codes
    if spec.get("retryOn"):
        retry_on, codes = _retry_on(spec["retryOn"], f"{where}.retries.retryOn")
    per_try = spec.get("perTryTimeout")
    backoff = spec.get("backoff")
    return RetryPolicy(
        retries=attempts,
        per_try_timeout=_duration(per_try, f"{where}.retries.perTryTimeout") if per_try else None,
        retry_on=retry_on,
        retriable_status_codes=codes,
        backoff_base=_duration(backoff, f"{where}.retries.backoff")
        if backoff
        else DEFAULT_RETRY.backoff_base,
    )


def _retry_on(value: object, where: str) -> tuple[frozenset[str], frozenset[int]]:
    """Istio's parseRetryOn: numbers are status codes (and imply retriable-status-codes)."""
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a comma-separated string, got {value!r}")
    names, codes = set(), set()
    for part in filter(None, (p.strip() for p in value.split(","))):
        if part.isdigit() and 100 <= int(part) <= 599:
            codes.add(int(part))
        elif part in RETRY_ON:
            names.add(part)
        else:
            raise ConfigError(
                f"{where}: unknown condition {part!r}; supported: {', '.join(sorted(RETRY_ON))}"
            )
    if codes:
        names.add("retriable-status-codes")
    return frozenset(names), frozenset(codes)
