"""Istio VirtualService and DestinationRule: deprecated fields, faults left in a route, retries of
requests that are not safe to repeat, connection pools that defeat keep-alive or cap retries for
the whole cluster, and the service's route timeouts. Unknown fields are the schema check's
(kubernetes.py, against the CRD schemas).

Sources followed: Istio's networking API reference (virtual_service.proto, destination_rule.proto:
`consecutiveErrors`, `mirror_percent`/`mirrorPercent`, `allowOrigin` and a fault's `percent` are
deprecated; v1 is served since Istio 1.22) and Envoy's circuit breaker documentation
(`max_retries` is the number of retries outstanding to the whole cluster at once).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from harness.lint.documents import Document, Key
from harness.lint.findings import Problem, problem
from harness.lint.registry import check, kind
from harness.lint.run import Run

GROUP = "networking.istio.io"
DEPRECATED_VERSIONS = {"v1alpha3", "v1beta1"}
# (the route or policy part, the deprecated field) -> what to write instead
DEPRECATED_FIELDS = {
    ("outlierDetection", "consecutiveErrors"): "consecutive5xxErrors or consecutiveGatewayErrors",
    ("http", "mirror_percent"): "mirrorPercentage",
    ("http", "mirrorPercent"): "mirrorPercentage",
    ("corsPolicy", "allowOrigin"): "allowOrigins",
    ("delay", "percent"): "percentage",
}
UNSAFE_METHODS = ("POST", "PATCH")  # not idempotent (RFC 9110 9.2.2): repeat only with an Idempotency-Key
IDEMPOTENCY_HEADER = "idempotency-key"
# Below this many requests per upstream connection, the pool reconnects so often keep-alive is lost.
KEEPALIVE_MIN_REQUESTS = 100


@kind("istio", "Istio VirtualService and DestinationRule")
def is_istio(document: Document) -> bool:
    return document.api_kind is not None and document.api_kind[0].split("/")[0] == GROUP


def _is(document: Document, kind_name: str) -> bool:
    return document.api_kind is not None and document.api_kind[1] == kind_name


def _walk(value: Any, at: tuple[Key, ...]) -> Iterator[tuple[tuple[Key, ...], Any]]:
    yield at, value
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from _walk(child, (*at, key))


@check("istio", "istio-deprecated")
def deprecated(document: Document, run: Run) -> Iterator[Problem]:
    """No deprecated API version or field: the next Istio release may drop it."""
    assert document.api_kind is not None
    version = document.api_kind[0].split("/")[-1]
    if version in DEPRECATED_VERSIONS:
        yield problem(f"apiVersion {document.api_kind[0]} is deprecated: use {GROUP}/v1", "apiVersion")
    for at, value in _walk(document.data, ()):
        if not isinstance(value, dict) or not at:
            continue
        parent = next((str(k) for k in reversed(at) if isinstance(k, str)), "")
        for field in value:
            instead = DEPRECATED_FIELDS.get((parent, field))
            if instead:
                yield problem(f"{parent}.{field} is deprecated: use {instead}", *at, field)


def _routes(document: Document) -> Iterator[tuple[int, str, dict[str, Any]]]:
    for position, route in enumerate(document.get("spec", "http") or []):
        if isinstance(route, dict):
            yield position, str(route.get("name", f"http[{position}]")), route


@check("istio", "istio-fault")
def fault(document: Document, run: Run) -> Iterator[Problem]:
    """No fault injection in a route: faults belong to chaos runs, which add and remove them live."""
    if not _is(document, "VirtualService"):
        return
    for position, name, route in _routes(document):
        if "fault" in route:
            yield problem(
                f"route {name} injects a fault: every request it matches in production may fail or stall",
                "spec", "http", position, "fault",
            )  # fmt: skip


def _string_matches(matcher: Mapping[str, Any], text: str) -> bool:
    if "exact" in matcher:
        return bool(text == matcher["exact"])
    if "prefix" in matcher:
        return text.startswith(str(matcher["prefix"]))
    if "regex" in matcher:
        return re.fullmatch(str(matcher["regex"]), text) is not None
    return True


def admits_unsafe_without_key(match: Mapping[str, Any]) -> bool:
    """Whether this match entry lets a POST or PATCH through without an Idempotency-Key."""
    method = match.get("method")
    if method is not None and not any(_string_matches(method, m) for m in UNSAFE_METHODS):
        return False
    return IDEMPOTENCY_HEADER not in {str(h).lower() for h in match.get("headers") or {}}


@check("istio", "istio-retries")
def retries(document: Document, run: Run) -> Iterator[Problem]:
    """A route that admits POST or PATCH without an Idempotency-Key never retries (attempts: 0); no
    `retries` at all means Istio's default retries, so it must say so."""
    if not _is(document, "VirtualService"):
        return
    for position, name, route in _routes(document):
        attempts = (route.get("retries") or {}).get("attempts")
        if any(admits_unsafe_without_key(m) for m in route.get("match") or [{}]) and attempts != 0:
            yield problem(
                f"route {name} lets POST/PATCH through without an Idempotency-Key but retries "
                f"(attempts {attempts!r}; a missing `retries` means Istio's default retries): a money move "
                "may be sent twice; set attempts: 0, or match the Idempotency-Key header",
                "spec", "http", position, "retries" if "retries" in route else "match",
            )  # fmt: skip


def _seconds(duration: Any) -> float | None:
    found = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(duration))
    if not found:
        return None
    return float(found.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[found.group(2)]


def _serves_the_service(document: Document, run: Run) -> bool:
    app = run.facts.identity.app
    hosts = {str((d.get("destination") or {}).get("host", "")).split(".")[0] for _, _, r in _routes(document)
             for d in r.get("route") or []}  # fmt: skip
    return app in hosts


@check("istio", "istio-routes")
def service_routes(document: Document, run: Run) -> Iterator[Problem]:
    """The service's routes: every route group has a route with the group's timeout
    (harness/objectives.yaml), and safe requests retry with the set attempts and a perTryTimeout."""
    if not _is(document, "VirtualService") or not _serves_the_service(document, run):
        return
    groups = {
        f"{run.facts.identity.base_path}/{g.name}": g.timeout_seconds for g in run.facts.route_groups.values()
    }
    routed = dict.fromkeys(groups, 0)
    retried = dict.fromkeys(groups, 0)
    for position, name, route in _routes(document):
        here = ("spec", "http", position)
        matches = route.get("match") or [{}]
        policy = route.get("retries") or {}
        timeout = _seconds(route.get("timeout"))
        safe = not any(admits_unsafe_without_key(m) for m in matches)
        if timeout is None:
            yield problem(f"route {name} has no timeout", *here)
        if safe and policy.get("attempts") != run.facts.retry_attempts:
            yield problem(
                f"retryable route {name} has attempts {policy.get('attempts')!r}, "
                f"must be {run.facts.retry_attempts}",
                *here, "retries",
            )  # fmt: skip
        if safe and not policy.get("perTryTimeout"):
            yield problem(f"retryable route {name} has no perTryTimeout", *here, "retries")
        for prefix in {str((m.get("uri") or {}).get("prefix")) for m in matches} & set(groups):
            routed[prefix] += 1
            retried[prefix] += safe
            if timeout != groups[prefix]:
                yield problem(
                    f"route {name} ({prefix}) has timeout {route.get('timeout')!r}; the service's is "
                    f"{groups[prefix]:g}s",
                    *here, "timeout",
                )  # fmt: skip
    for prefix in groups:
        if not routed[prefix]:
            yield problem(f"no route for {prefix}", "spec", "http")
        elif not retried[prefix]:
            yield problem(
                f"{prefix} has no retryable route ({run.facts.retry_attempts} attempts for safe requests)",
                "spec", "http",
            )  # fmt: skip


def _policies(document: Document) -> Iterator[tuple[tuple[Key, ...], dict[str, Any]]]:
    """The DestinationRule's traffic policies: top level, per port, per subset."""
    for at, value in _walk(document.data, ()):
        if at and at[-1] == "trafficPolicy" and isinstance(value, dict):
            yield at, value
            for position, port in enumerate(value.get("portLevelSettings") or []):
                yield (*at, "portLevelSettings", position), port


@check("istio", "istio-connection-pool")
def connection_pool(document: Document, run: Run) -> Iterator[Problem]:
    """Connection pools keep connections alive (maxRequestsPerConnection 0 or large) and do not cap
    retries for the whole cluster (http.maxRetries at least the connections allowed)."""
    if not _is(document, "DestinationRule"):
        return
    for at, policy in _policies(document):
        pool = policy.get("connectionPool") or {}
        http, tcp = pool.get("http") or {}, pool.get("tcp") or {}
        here = (*at, "connectionPool", "http")
        per_connection = int(http.get("maxRequestsPerConnection") or 0)
        if 0 < per_connection < KEEPALIVE_MIN_REQUESTS:
            yield problem(
                f"maxRequestsPerConnection {per_connection} opens a new upstream connection every "
                f"{per_connection} request(s): keep-alive is defeated (0 = unlimited)",
                *here, "maxRequestsPerConnection",
            )  # fmt: skip
        if "maxRetries" in http:
            cap = int(http["maxRetries"])
            connections = tcp.get("maxConnections")
            if connections is None or cap < int(connections):
                yield problem(
                    f"http.maxRetries {cap} caps the retries outstanding to the whole cluster at once "
                    "(Envoy's max_retries), not per request: under load the routes' retries are refused; "
                    "the attempts per request belong in the VirtualService",
                    *here, "maxRetries",
                )  # fmt: skip
