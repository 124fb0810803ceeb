"""perTryTimeout ends each attempt (and the attempt is retried); the route timeout ends the request,
retries included: 504 with flag UT after about min(timeout, (retries + 1) x perTryTimeout)."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.mesh.mesh_process import Mesh, destination_rule, route, virtual_service
from tests.mesh.scripted_upstream import Answer, ScriptedUpstream

SLOW = 2.0  # the pod answers after this long: longer than any timeout below
PER_TRY = 0.4
SLACK = 0.4  # back-off between tries (at most 25 + 75 ms here) plus scheduling on a busy machine


def test_slow_pod_is_retried_per_try_then_the_route_times_out(
    mesh: Callable[..., Mesh], upstream: Callable[..., ScriptedUpstream]
) -> None:
    pod = upstream("slow", lambda seen: Answer(200, b"late", delay=SLOW))
    vs = virtual_service(
        route("tries-run-out", match=[{"uri": {"prefix": "/a"}}], timeout="3s",
              retries={"attempts": 2, "perTryTimeout": "400ms", "retryOn": "5xx,reset"}),
        route("timeout-first", match=[{"uri": {"prefix": "/b"}}], timeout="1s",
              retries={"attempts": 5, "perTryTimeout": "400ms", "retryOn": "5xx,reset"}),
        route("no-retries", match=[{"uri": {"prefix": "/c"}}], timeout="500ms", retries={"attempts": 0}),
    )  # fmt: skip
    m = mesh(vs=vs, dr=destination_rule(), endpoints=[("slow", pod.url)])
    cases = [
        # path, its route, tries expected, seconds expected, response flags
        ("/a", "tries-run-out", 3, min(3.0, 3 * PER_TRY), "UT,URX"),  # retries exhausted: URX too
        ("/b", "timeout-first", 3, min(1.0, 6 * PER_TRY), "UT"),
        ("/c", "no-retries", 1, 0.5, "UT"),
    ]
    for path, name, tries, seconds, flags in cases:
        hits = pod.hits
        started = time.monotonic()
        response = m.http.get(path)
        elapsed = time.monotonic() - started
        assert response.status_code == 504 and response.text == "upstream request timeout", path
        assert seconds <= elapsed <= seconds + SLACK, (path, elapsed)
        assert pod.hits - hits == tries, path
        assert m.requests(route_name=name, response_code="504", response_flags=flags) == 1
    assert [s.headers["x-envoy-attempt-count"] for s in pod.seen[:3]] == ["1", "2", "3"]
