"""Outlier detection: a pod answering 5xx is ejected after consecutive5xxErrors, gets no traffic, and
comes back after baseEjectionTime (at the next interval sweep); maxEjectionPercent caps the ejected."""

from __future__ import annotations

import time
from collections.abc import Callable

from harness.waiting import wait_for
from tests.mesh.mesh_process import Mesh, destination_rule, route, virtual_service
from tests.mesh.scripted_upstream import Answer, ScriptedUpstream, Seen

MeshFactory = Callable[..., Mesh]
UpstreamFactory = Callable[..., ScriptedUpstream]
ONE_TRY = virtual_service(route("all", retries={"attempts": 0}))  # one request, one upstream attempt


def test_failing_pod_is_ejected_then_returns(mesh: MeshFactory, upstream: UpstreamFactory) -> None:
    failing = {"on": True}
    bad = upstream("bad", lambda seen: Answer(500 if failing["on"] else 200))
    good = upstream("good")
    dr = destination_rule(
        outlierDetection={
            "consecutive5xxErrors": 3,
            "interval": "1s",
            "baseEjectionTime": "2s",
            "maxEjectionPercent": 50,
        }
    )
    m = mesh(vs=ONE_TRY, dr=dr, endpoints=[("bad", bad.url), ("good", good.url)])
    statuses = []
    for _ in range(10):
        statuses.append(m.http.get("/x").status_code)
        if bad.hits == 3:
            break
    ejected_at = time.monotonic()
    assert statuses.count(500) == 3 and bad.hits == 3
    state = m.endpoints()["bad"]
    assert state["ejected"] is True and state["healthy"] is False and state["ejections"] == 1
    assert state["ejected_until"] is not None
    assert m.metric("tron_mesh_endpoint_ejected", endpoint="bad") == 1
    assert m.metric("tron_mesh_endpoint_ejected", endpoint="good") == 0
    # Ejected: no traffic at all.
    assert all(m.http.get("/x").status_code == 200 for _ in range(10))
    assert bad.hits == 3
    failing["on"] = False
    wait_for(lambda: m.endpoints()["bad"]["healthy"], timeout=6.0, what="the ejected pod to return")
    back_after = time.monotonic() - ejected_at
    assert 2.0 - 0.2 <= back_after <= 2.0 + 1.0 + 0.8, back_after  # base time, plus up to one interval
    assert m.metric("tron_mesh_endpoint_ejected", endpoint="bad") == 0
    for _ in range(4):
        assert m.http.get("/x").status_code == 200
    assert bad.hits == 3 + 2  # round robin again: every other request


def test_max_ejection_percent_caps_ejections(mesh: MeshFactory, upstream: UpstreamFactory) -> None:
    def fail(seen: Seen) -> Answer:
        return Answer(503)

    pods = [upstream(f"pod-{i}", fail) for i in range(4)]
    dr = destination_rule(
        outlierDetection={
            "consecutive5xxErrors": 2,
            "interval": "30s",
            "baseEjectionTime": "30s",
            "maxEjectionPercent": 50,
        }
    )
    m = mesh(vs=ONE_TRY, dr=dr, endpoints=[(p.name, p.url) for p in pods])
    for _ in range(24):
        assert m.http.get("/x").status_code == 503
    ejected = sorted(name for name, ep in m.endpoints().items() if ep["ejected"])
    assert len(ejected) == 2, ejected  # Envoy: eject while (ejected + 1) / all <= 50 %: 2 of 4, not 3
    assert m.metric("tron_mesh_endpoint_ejected") == 2


def test_all_endpoints_ejected_means_no_healthy_upstream(
    mesh: MeshFactory, upstream: UpstreamFactory
) -> None:
    pod = upstream("pod-0", lambda seen: Answer(502))
    dr = destination_rule(
        outlierDetection={
            "consecutive5xxErrors": 2,
            "interval": "30s",
            "baseEjectionTime": "30s",
            "maxEjectionPercent": 100,
        }
    )
    m = mesh(vs=ONE_TRY, dr=dr, endpoints=[("pod-0", pod.url)])
    assert [m.http.get("/x").status_code for _ in range(2)] == [502, 502]
    response = m.http.get("/x")
    assert response.status_code == 503 and response.text == "no healthy upstream"
    assert pod.hits == 2
    assert m.requests(route_name="all", response_code="503", response_flags="UH") == 1
    assert m.requests(route_name="all", response_code="502", response_flags="-") == 2
