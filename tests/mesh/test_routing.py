"""Requests through a running mesh take the first matching route, with its retry policy: counted at
the upstream and in the mesh's istio_requests_total{route_name}."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.mesh.mesh_process import Mesh, route, virtual_service
from tests.mesh.scripted_upstream import Answer, ScriptedUpstream

MeshFactory = Callable[..., Mesh]
UpstreamFactory = Callable[..., ScriptedUpstream]


def test_production_routes_by_prefix_method_and_idempotency_key(
    mesh: MeshFactory, upstream: UpstreamFactory
) -> None:
    pod = upstream("pod-0")
    m = mesh(endpoints=[("pod-0", pod.url)])
    cases = [
        ("GET", "/api/v1/tron/network/info", {}, "tron-retryable"),
        ("POST", "/api/v1/tron/network/info", {}, "tron"),
        ("GET", "/api/v1/wallets?page=2", {}, "wallets-retryable"),
        ("PUT", "/api/v1/wallets/w-1", {}, "wallets-retryable"),
        ("POST", "/api/v1/usdt/transfer", {"Idempotency-Key": "k1"}, "usdt-retryable"),
        ("POST", "/api/v1/payouts/initiate", {}, "payouts"),
        ("POST", "/api/v1/staking/stake", {"Idempotency-Key": "k2"}, "staking-retryable"),
        ("DELETE", "/api/v1/payments/p-1", {}, "payments-retryable"),
        ("POST", "/api/v1/payments/process", {}, "payments"),
    ]
    for method, path, headers, expected in cases:
        before = m.requests(route_name=expected, response_code="200")
        assert m.http.request(method, path, headers=headers).status_code == 200
        assert m.requests(route_name=expected, response_code="200") == before + 1, (method, path, expected)
    assert [(s.method, s.path) for s in pod.seen] == [(method, path) for method, path, _, _ in cases]


def test_first_matching_route_wins_and_conditions_and_or(
    mesh: MeshFactory, upstream: UpstreamFactory
) -> None:
    pod = upstream("pod-0")
    vs = virtual_service(
        # Both conditions of one entry must hold (AND); either entry will do (OR).
        route(
            "and-or",
            match=[
                {"uri": {"prefix": "/a"}, "method": {"exact": "PUT"}},
                {"headers": {"x-pick": {"exact": "me"}}},
            ],
        ),
        route("exact", match=[{"uri": {"exact": "/a/exact"}}]),  # the query string is not part of the path
        route("regex", match=[{"uri": {"regex": "/r/[0-9]+"}}]),  # a full match, as RE2 in Envoy
        route("broad", match=[{"uri": {"prefix": "/a"}}]),
        route("narrow", match=[{"uri": {"prefix": "/a/narrow"}}]),  # never reached: `broad` comes first
        route("rest"),
    )
    m = mesh(vs=vs, endpoints=[("pod-0", pod.url)])
    cases = [
        ("PUT", "/a/1", {}, "and-or"),
        ("GET", "/zzz", {"X-Pick": "me"}, "and-or"),
        ("GET", "/a/1", {"X-Pick": "not-me"}, "broad"),
        ("GET", "/a/exact?x=1", {}, "exact"),
        ("GET", "/r/42", {}, "regex"),
        ("GET", "/r/42x", {}, "rest"),
        ("GET", "/a/narrow/1", {}, "broad"),
        ("GET", "/b", {}, "rest"),
    ]
    for method, path, headers, _ in cases:
        assert m.http.request(method, path, headers=headers).status_code == 200
    for name in ("and-or", "exact", "regex", "broad", "rest"):
        assert m.requests(route_name=name) == sum(1 for *_, r in cases if r == name), name
    assert m.requests(route_name="narrow") == 0


def test_post_with_idempotency_key_is_retried_without_it_is_not(
    mesh: MeshFactory, upstream: UpstreamFactory
) -> None:
    pod = upstream("pod-0", lambda seen: Answer(503, b"busy"))
    m = mesh(endpoints=[("pod-0", pod.url)])
    plain = m.http.post("/api/v1/payouts/initiate", json={"amount": "1"})
    assert plain.status_code == 503 and plain.text == "busy"
    assert pod.hits == 1  # route `payouts`: attempts 0
    keyed = m.http.post("/api/v1/payouts/initiate", json={"amount": "1"}, headers={"Idempotency-Key": "k-9"})
    assert keyed.status_code == 503
    assert (
        pod.hits == 1 + 4
    )  # route `payouts-retryable`: the first try and 3 retries (Istio attempts = retries)
    attempts = [s.headers["x-envoy-attempt-count"] for s in pod.seen[1:]]
    assert attempts == ["1", "2", "3", "4"]
    assert {s.headers["idempotency-key"] for s in pod.seen[1:]} == {"k-9"}
    assert all(s.body == b'{"amount":"1"}' for s in pod.seen)
    assert m.requests(route_name="payouts", response_code="503", response_flags="-") == 1
    # Retries exhausted on a retryable answer: Envoy passes the last one on, flagged URX.
    assert m.requests(route_name="payouts-retryable", response_code="503", response_flags="URX") == 1
    assert m.metric("tron_mesh_upstream_retries_total", route_name="payouts-retryable") == 3


def test_a_retry_goes_to_another_endpoint(mesh: MeshFactory, upstream: UpstreamFactory) -> None:
    sick = upstream("sick", lambda seen: Answer(502))
    well = upstream("well")
    m = mesh(endpoints=[("sick", sick.url), ("well", well.url)])
    for _ in range(6):
        response = m.http.get("/api/v1/tron/network/info")
        assert response.status_code == 200
        assert json.loads(response.content)["upstream"] == "well"
    # Round robin moves on one step per pick, so each first try lands on `sick` and each retry on `well`,
    # until `sick`'s fifth 5xx in a row (the production consecutive5xxErrors) ejects it.
    assert sick.hits == 5 and well.hits == 6
    assert m.endpoints()["sick"]["ejected"] is True
    assert m.requests(route_name="tron-retryable", response_code="200", response_flags="-") == 6


def test_headers_bodies_and_request_id_pass_through(mesh: MeshFactory, upstream: UpstreamFactory) -> None:
    pod = upstream(
        "pod-0",
        lambda seen: Answer(
            201, b'{"ok":true}', headers={"X-Custom": "v", "Content-Type": "application/json"}
        ),
    )
    m = mesh(endpoints=[("pod-0", pod.url)])
    response = m.http.post(
        "/api/v1/wallets",
        content=b'{"name":"w"}',
        headers={"X-Request-ID": "rid-1", "Content-Type": "application/json"},
    )
    assert response.status_code == 201 and response.content == b'{"ok":true}'
    assert response.headers["x-custom"] == "v" and response.headers["content-type"] == "application/json"
    assert int(response.headers["x-envoy-upstream-service-time"]) >= 0
    seen = pod.seen[-1]
    assert seen.body == b'{"name":"w"}' and seen.headers["x-request-id"] == "rid-1"
    assert seen.headers["content-type"] == "application/json" and seen.headers["x-envoy-attempt-count"] == "1"
    # Without one, the mesh adds an x-request-id, as Envoy does.
    m.http.get("/api/v1/wallets")
    assert len(pod.seen[-1].headers["x-request-id"]) == 36
    # A chunked request body arrives whole, re-framed with a Content-Length.
    m.http.post("/api/v1/wallets", content=iter([b'{"na', b'me":"c"}']))
    assert pod.seen[-1].body == b'{"name":"c"}' and pod.seen[-1].headers["content-length"] == "12"
