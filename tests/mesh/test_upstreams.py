"""The upstream side: endpoints from the pod supervisor's list, connect failures, the connection-pool
circuit breaker (pending overflow) and the cap on concurrent retries."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from harness.waiting import wait_for
from stack.processes import free_port
from tests.mesh.mesh_process import Mesh, destination_rule, route, virtual_service
from tests.mesh.scripted_upstream import Answer, ScriptedUpstream, Seen

MeshFactory = Callable[..., Mesh]
UpstreamFactory = Callable[..., ScriptedUpstream]


def _concurrently(url: str, count: int) -> list[tuple[httpx.Response, float]]:
    """`count` GETs at once, each on its own connection; (response, seconds taken) in order."""

    def get(_: int) -> tuple[httpx.Response, float]:
        started = time.monotonic()
        with httpx.Client(timeout=30.0) as client:
            return client.get(url), time.monotonic() - started

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(get, range(count)))


def test_endpoints_follow_the_supervisor_list(mesh: MeshFactory, upstream: UpstreamFactory) -> None:
    pod = upstream("pod-0")
    listed: list[dict[str, str]] = []
    supervisor = upstream("supervisor", lambda seen: Answer(200, json.dumps(listed).encode()))
    m = mesh(endpoints_url=f"{supervisor.url}/endpoints")
    response = m.http.get("/api/v1/tron/network/info")
    assert response.status_code == 503 and response.text == "no healthy upstream"
    assert m.requests(route_name="tron-retryable", response_code="503", response_flags="UH") == 1
    listed.append({"name": "pod-0", "url": pod.url})
    wait_for(
        lambda: m.http.get("/api/v1/tron/network/info").status_code == 200, 5.0, "the listed pod to serve"
    )
    assert m.admin.get("/endpoints").json()["source"] == f"{supervisor.url}/endpoints"
    listed.clear()
    wait_for(lambda: m.http.get("/api/v1/tron/network/info").status_code == 503, 5.0, "the pod to be gone")
    assert m.endpoints() == {}


def test_connect_failure_is_503_uf_and_retried_elsewhere_when_allowed(
    mesh: MeshFactory, upstream: UpstreamFactory
) -> None:
    alive = upstream("alive")
    vs = virtual_service(
        route("once", match=[{"uri": {"prefix": "/once"}}], retries={"attempts": 0}),
        route("retry", retries={"attempts": 2, "retryOn": "connect-failure"}),
    )
    m = mesh(
        vs=vs,
        dr=destination_rule(),
        endpoints=[("dead", f"http://127.0.0.1:{free_port()}"), ("alive", alive.url)],
    )
    once = [m.http.get("/once") for _ in range(4)]
    failed = [r for r in once if r.status_code == 503]
    assert len(failed) == 2  # round robin: every other request tries the dead pod
    assert all(r.text.endswith("reset reason: connection failure") for r in failed)
    assert m.requests(route_name="once", response_code="503", response_flags="UF") == 2
    assert all(m.http.get("/other").status_code == 200 for _ in range(4))
    assert m.requests(route_name="retry", response_code="200", response_flags="-") == 4


def test_pod_closing_without_an_answer_is_503_uc(mesh: MeshFactory) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def hang_up(count: int) -> None:
            for _ in range(count):  # bounded: the test makes exactly this many attempts
                connection, _ = listener.accept()
                with connection:
                    connection.recv(65536)

        closer = threading.Thread(target=hang_up, args=(3,), daemon=True)
        closer.start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        vs = virtual_service(route("all", retries={"attempts": 2, "retryOn": "reset"}))
        m = mesh(vs=vs, dr=destination_rule(), endpoints=[("rude", url)])
        response = m.http.get("/x")
        closer.join(10)
    assert response.status_code == 503
    assert response.text.endswith("reset reason: connection termination")
    assert m.requests(route_name="all", response_code="503", response_flags="UC,URX") == 1


def test_pending_overflow_is_503_uo(mesh: MeshFactory, upstream: UpstreamFactory) -> None:
    pod = upstream("slow", lambda seen: Answer(200, b"done", delay=0.8))
    dr = destination_rule(
        connectionPool={"tcp": {"maxConnections": 1}, "http": {"http1MaxPendingRequests": 1}}
    )
    m = mesh(vs=virtual_service(route("all", retries={"attempts": 0})), dr=dr, endpoints=[("slow", pod.url)])
    results = _concurrently(f"{m.url}/x", 4)
    served = [r for r, _ in results if r.status_code == 200]
    shed = [(r, seconds) for r, seconds in results if r.status_code == 503]
    assert len(served) == 2 and len(shed) == 2  # one in flight, one pending, the rest overflow
    for response, seconds in shed:
        assert response.text.endswith("reset reason: overflow")
        assert response.headers["x-envoy-overloaded"] == "true"
        assert seconds < 0.6  # refused at once, not queued
    assert pod.hits == 2
    assert m.requests(route_name="all", response_code="503", response_flags="UO") == 2


def test_max_retries_caps_retries_in_progress(mesh: MeshFactory, upstream: UpstreamFactory) -> None:
    def failing_slowly(seen: Seen) -> Answer:
        return Answer(503, b"busy", delay=0.3)

    pods = [upstream(f"pod-{i}", failing_slowly) for i in range(2)]
    dr = destination_rule(connectionPool={"http": {"maxRetries": 1}})
    vs = virtual_service(route("all", retries={"attempts": 3, "retryOn": "5xx"}))
    m = mesh(vs=vs, dr=dr, endpoints=[(p.name, p.url) for p in pods])
    assert [r.status_code for r, _ in _concurrently(f"{m.url}/x", 2)] == [503, 503]
    # One request got the only retry slot and used all its retries; the other was refused a retry.
    assert m.requests(route_name="all", response_code="503", response_flags="URX") == 1
    assert m.requests(route_name="all", response_code="503", response_flags="UO") == 1
    assert sum(p.hits for p in pods) == 4 + 1
    assert m.metric("tron_mesh_upstream_retries_total", route_name="all") == 3
