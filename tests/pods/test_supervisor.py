"""One supervisor running 3 pods of the real service: listing, kills with proof, probes at work."""

from __future__ import annotations

import contextlib
import os
import re
import signal
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from harness.waiting import wait_for
from stack.local import Backends
from stack.pods.manifest import load_deployment
from tests.pods.harness import DEPLOYMENT, TIME_SCALE, Pods, gone

POD_NAME = re.compile(r"tron-payment-service-[0-9a-f]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}")


def least_restarted(pods: Pods) -> dict[str, Any]:
    """The pod with the shortest back-off ahead of it: the quickest to come back."""
    return min(pods.pods(), key=lambda pod: pod["restarts"])


def back_again(pods: Pods, before: dict[str, Any]) -> dict[str, Any]:
    """Wait until the pod runs a new container, once more restarted, ready and in the endpoints."""

    def probe() -> dict[str, Any] | None:
        pod = pods.pod(before["name"])
        restarted = pod["restarts"] == before["restarts"] + 1 and pod["pid"] not in (None, before["pid"])
        return pod if restarted and pod["ready"] and pod["name"] in pods.ready_names() else None

    return wait_for(probe, timeout=30, what=f"{before['name']} restarted and ready again")


def seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def assert_proof(proof: dict[str, Any], before: dict[str, Any], signal_name: str = "SIGKILL") -> None:
    assert proof["name"] == before["name"] and proof["pid"] == before["pid"], proof
    assert proof["signalled"] and proof["signal"] == signal_name and proof["gone"], proof
    assert gone(proof["pid"]), f"pid {proof['pid']} still runs"


def test_replicas_are_ready_and_listed(pods: Pods) -> None:
    listed = pods.pods()
    assert len(listed) == 3
    for pod in listed:
        assert POD_NAME.fullmatch(pod["name"]), pod["name"]
        assert pod["phase"] == "Running" and pod["ready"] and isinstance(pod["pid"], int), pod
        environ = set(Path(f"/proc/{pod['pid']}/environ").read_bytes().split(b"\0"))
        port = pod["url"].rsplit(":", 1)[1]
        assert {f"POD_NAME={pod['name']}".encode(), f"PORT={port}".encode()} <= environ
        assert httpx.get(f"{pod['url']}/health/ready").status_code == 200
    assert len({pod["url"] for pod in listed}) == 3, "each pod has its own port"
    assert pods.get("/endpoints") == [{"name": pod["name"], "url": pod["url"]} for pod in listed]
    assert pods.get("/healthz")["status"] == "ok"
    targets = pods.get("/sd")
    assert sorted(t["labels"]["pod"] for t in targets) == sorted(pod["name"] for pod in listed)


def test_kill_by_name_proves_death_and_the_pod_comes_back(pods: Pods) -> None:
    before = least_restarted(pods)
    [proof] = pods.kill(f"/pods/{before['name']}/kill")
    assert_proof(proof, before)
    assert proof["exit_code"] == 137
    assert before["name"] not in pods.ready_names(), "a dead pod must leave the endpoints at once"

    after = back_again(pods, before)
    assert after["name"] == before["name"] and after["url"] == before["url"]
    termination = after["last_termination"]
    assert (
        termination["exit_code"] == 137
        and "killed through the pods API with SIGKILL" in termination["message"]
    )
    if before["restarts"] == 0:  # kubelet restarts a container at once after its first failure
        assert seconds_between(termination["at"], after["started_at"]) < 0.5


def test_kill_count_two_at_once(pods: Pods) -> None:
    before = {pod["name"]: pod for pod in pods.pods()}
    proofs = pods.kill("/pods/kill", {"count": 2})
    assert len({proof["name"] for proof in proofs}) == 2
    for proof in proofs:
        assert_proof(proof, before[proof["name"]])
    for proof in proofs:
        back_again(pods, before[proof["name"]])


def test_kill_one_at_random_with_sigterm_drains_it(pods: Pods) -> None:
    before = {pod["name"]: pod for pod in pods.pods()}
    [proof] = pods.kill("/pods/kill", {"random": True, "signal": "TERM"})
    assert_proof(proof, before[proof["name"]], "SIGTERM")
    assert proof["exit_code"] == 0 and not proof["escalated_to_sigkill"], "the service drains and exits 0"
    back_again(pods, before[proof["name"]])


def test_a_hung_pod_fails_liveness_and_is_killed_and_restarted(pods: Pods) -> None:
    before = least_restarted(pods)
    os.kill(before["pid"], signal.SIGSTOP)  # alive but answering nothing: probes time out
    try:
        wait_for(lambda: before["name"] not in pods.ready_names(), timeout=15, what="hung pod unready")
        after = back_again(pods, before)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(before["pid"], signal.SIGCONT)  # if the test failed early: never leave it stopped
    termination = after["last_termination"]
    assert termination["exit_code"] == 137 and "failed liveness probe" in termination["message"], termination
    assert gone(before["pid"])


def test_failing_readiness_takes_pods_out_of_the_endpoints_without_restarts(
    pods: Pods, backends: Backends
) -> None:
    """The store stopped (SIGSTOP): every pod's readiness fails (it depends on the database) but
    liveness does not (it never depends on another system), so all leave the endpoints and none is
    restarted; the store continued, they all come back."""
    before = {pod["name"]: (pod["pid"], pod["restarts"]) for pod in pods.pods()}
    readiness = load_deployment(DEPLOYMENT).readiness
    assert readiness is not None
    # Long enough for failureThreshold failed probes (each may wait out its timeout), with room to spare.
    bound = (readiness.failure_threshold * (readiness.period + readiness.timeout)) * TIME_SCALE + 10
    os.kill(backends.store.pid, signal.SIGSTOP)
    try:
        wait_for(lambda: pods.ready_names() == set(), timeout=bound, what="every pod out of the endpoints")
    finally:
        os.kill(backends.store.pid, signal.SIGCONT)
    wait_for(pods.all_ready, timeout=30, what="every pod ready again once the store answers")
    assert {pod["name"]: (pod["pid"], pod["restarts"]) for pod in pods.pods()} == before


def test_bad_requests_are_refused_and_kill_nothing(pods: Pods) -> None:
    before = {pod["name"]: pod["pid"] for pod in pods.pods()}
    name = next(iter(before))
    refused = {
        ("/pods/no-such-pod/kill", None): (404, "no pod named 'no-such-pod'"),
        ("/pods/kill", '{"count": 4}'): (400, "count 4 is more than the 3 pods running"),
        ("/pods/kill", '{"count": 0}'): (400, "count must be a whole number >= 1"),
        ("/pods/kill", '{"count": "2"}'): (400, "count must be a whole number"),
        ("/pods/kill", '{"random": false}'): (400, "random must be true"),
        ("/pods/kill", '{"names": ["no-such-pod"]}'): (404, "no pod named"),
        ("/pods/kill", '{"names": []}'): (400, "names must be a non-empty list"),
        ("/pods/kill", f'{{"names": ["{name}", "{name}"]}}'): (400, "names lists a pod twice"),
        ("/pods/kill", "{}"): (400, "give exactly one of"),
        ("/pods/kill", '{"count": 1, "random": true}'): (400, "give exactly one of"),
        ("/pods/kill", '{"count": 1, "signal": "HUP"}'): (400, "signal must be one of KILL, TERM"),
        ("/pods/kill", '{"count": 1, "grace": 5}'): (400, "unknown fields ['grace']"),
        ("/pods/kill", "kill them all"): (400, "the body must be a JSON object"),
        (f"/pods/{name}/kill", '{"signal": 9}'): (400, "signal must be one of"),
        (f"/pods/{name}/kill", '{"count": 1}'): (400, "unknown fields ['count']"),
        ("/pods/everything/now", "{}"): (404, "no route POST /pods/everything/now"),
    }
    for (path, body), (status, message) in refused.items():
        response = pods.http.post(path, content=body)
        assert response.status_code == status and message in response.json()["error"], (
            path,
            body,
            response.text,
        )
    assert pods.http.get("/nothing-here").status_code == 404
    assert pods.http.get("/pods/no-such-pod").status_code == 404
    assert {pod["name"]: pod["pid"] for pod in pods.pods()} == before, "a refused request killed something"
