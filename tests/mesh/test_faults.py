"""Faults changed live through the admin API: abort and delay with a percentage, removed on demand;
every change answers with the state after it; bad input is refused with what to fix and changes nothing."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.mesh.mesh_process import Mesh
from tests.mesh.scripted_upstream import ScriptedUpstream

MeshFactory = Callable[..., Mesh]
UpstreamFactory = Callable[..., ScriptedUpstream]
ROUTE = "wallets-retryable"
PATH = "/api/v1/wallets"


def test_abort_at_50_percent_aborts_about_half_until_removed(
    mesh: MeshFactory, upstream: UpstreamFactory
) -> None:
    pod = upstream("pod-0")
    m = mesh(endpoints=[("pod-0", pod.url)])
    fault = {"abort": {"httpStatus": 503, "percentage": {"value": 50}}}
    answer = m.admin.put(f"/routes/{ROUTE}/fault", json=fault)
    assert answer.status_code == 200
    assert answer.json()["fault"] == {"abort": {"httpStatus": 503, "percentage": {"value": 50.0}}}
    assert answer.json()["active_faults"] == {ROUTE: answer.json()["fault"]}
    assert m.admin.get(f"/routes/{ROUTE}/fault").json()["fault"] == answer.json()["fault"]

    responses = [m.http.get(PATH) for _ in range(400)]
    aborted = [r for r in responses if r.status_code == 503]
    assert 0.35 * 400 <= len(aborted) <= 0.65 * 400, len(aborted)
    assert all(r.text == "fault filter abort" for r in aborted)
    assert all(r.status_code in (200, 503) for r in responses)
    assert pod.hits == 400 - len(aborted)  # an aborted request never reaches a pod
    assert m.requests(route_name=ROUTE, response_code="503", response_flags="FI") == len(aborted)
    # The routes listing shows the fault in force, too.
    listed = {r["name"]: r for r in m.admin.get("/routes").json()["routes"]}
    assert listed[ROUTE]["fault"] == answer.json()["fault"] and listed["wallets"]["fault"] is None

    removed = m.admin.delete(f"/routes/{ROUTE}/fault").json()
    assert removed["removed"] == answer.json()["fault"] and removed["fault"] is None
    assert removed["active_faults"] == {}
    assert all(m.http.get(PATH).status_code == 200 for _ in range(50))


def test_delay_fault_adds_its_delay(mesh: MeshFactory, upstream: UpstreamFactory) -> None:
    pod = upstream("pod-0")
    m = mesh(endpoints=[("pod-0", pod.url)])
    started = time.monotonic()
    assert m.http.get(PATH).status_code == 200
    undelayed = time.monotonic() - started
    m.admin.put(
        f"/routes/{ROUTE}/fault", json={"delay": {"fixedDelay": "400ms", "percentage": {"value": 100}}}
    )
    for _ in range(3):
        started = time.monotonic()
        assert m.http.get(PATH).status_code == 200
        assert time.monotonic() - started >= 0.4
    assert undelayed < 0.4
    assert m.requests(route_name=ROUTE, response_code="200", response_flags="DI") == 3
    # Reset answers with what it removed, and the delay is gone.
    reset = m.admin.post("/faults/reset").json()
    assert reset == {
        "removed": {ROUTE: {"delay": {"fixedDelay": "400ms", "percentage": {"value": 100.0}}}},
        "active_faults": {},
    }
    started = time.monotonic()
    m.http.get(PATH)
    assert time.monotonic() - started < 0.4


BAD_FAULTS = [
    (b'{"abort": {"httpStatus": 503}}', "percentage is required"),
    (b'{"abort": {"httpStatus": 700, "percentage": {"value": 5}}}', "200 to 599"),
    (b'{"abort": {"httpStatus": "503", "percentage": {"value": 5}}}', "200 to 599"),
    (b'{"abort": {"httpStatus": 503, "percentage": {"value": 150}}}', "0 to 100"),
    (b'{"delay": {"fixedDelay": "2 seconds", "percentage": {"value": 5}}}', "not a duration"),
    (b'{"delay": {"percentage": {"value": 5}}}', "fixedDelay is required"),
    (b'{"abort": {"grpcStatus": "UNAVAILABLE", "percentage": {"value": 5}}}', "use httpStatus"),
    (b'{"abort": {"httpStatus": 503, "percent": 5}}', "deprecated"),
    (b'{"slow": true}', "unknown field"),
    (b"{}", "delay' and/or 'abort"),
    (b"not json", "JSON"),
]


def test_bad_fault_is_refused_with_what_to_fix_and_changes_nothing(
    mesh: MeshFactory, upstream: UpstreamFactory
) -> None:
    m = mesh(endpoints=[("pod-0", upstream("pod-0").url)])
    good = {"abort": {"httpStatus": 500, "percentage": {"value": 1}}}
    assert m.admin.put("/routes/default/fault", json=good).status_code == 200
    for body, message in BAD_FAULTS:
        answer = m.admin.put("/routes/default/fault", content=body)
        assert answer.status_code == 400, body
        assert message in answer.json()["error"], (body, answer.json())
    active = m.admin.get("/faults").json()["active_faults"]
    assert active == {"default": {"abort": {"httpStatus": 500, "percentage": {"value": 1.0}}}}


def test_admin_refuses_unknown_routes_and_methods(mesh: MeshFactory, upstream: UpstreamFactory) -> None:
    m = mesh(endpoints=[("pod-0", upstream("pod-0").url)])
    fault = {"abort": {"httpStatus": 503, "percentage": {"value": 5}}}
    missing = m.admin.put("/routes/no-such-route/fault", json=fault)
    assert missing.status_code == 404 and "tron-retryable" in missing.json()["error"]
    assert m.admin.post("/routes/default/fault", json=fault).status_code == 405
    assert m.admin.get("/faults/reset").status_code == 405
    assert m.admin.get("/nothing").status_code == 404
    assert m.admin.get("/faults").json()["active_faults"] == {}
