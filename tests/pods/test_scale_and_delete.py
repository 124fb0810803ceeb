"""`kubectl scale` and `kubectl delete pod` on the local pods: a deleted pod leaves the endpoints at
once, drains on SIGTERM to a clean exit and is not restarted; scaling adds pods that get ready and
removes the newest. Bad requests get an error that says what to fix and change nothing."""

from __future__ import annotations

import json
from pathlib import Path

from harness.waiting import wait_for
from tests.pods.harness import gone, launch, processes_of, stop


def test_scale_down_up_and_delete_one_pod_drained(env_file: Path, tmp_path: Path) -> None:
    pods = launch(tmp_path, env_file, replicas=2)
    try:
        wait_for(pods.all_ready, timeout=30, what="2 pods ready")
        first = pods.pods()

        refused = pods.http.post("/scale", json={"replicas": -1})
        unknown = pods.http.post("/pods/no-such-pod/delete")
        assert refused.status_code == 400 and "replicas must be a whole number" in refused.json()["error"]
        assert unknown.status_code == 404 and "no pod named" in unknown.json()["error"]
        assert [p["name"] for p in pods.pods()] == [p["name"] for p in first]  # nothing changed

        grown = pods.http.post("/scale", json={"replicas": 3}).json()["pods"]
        added = {p["name"] for p in grown} - {p["name"] for p in first}
        assert len(added) == 1
        wait_for(lambda: added <= pods.ready_names(), timeout=30, what="the new pod ready")

        victim = first[0]
        answer = pods.http.post(f"/pods/{victim['name']}/delete")
        assert answer.status_code == 200, answer.text
        proof = answer.json()["deleted"][0]
        assert proof["gone"] and not proof["escalated_to_sigkill"], proof
        assert victim["name"] not in {p["name"] for p in pods.pods()}  # not restarted
        assert gone(victim["pid"]) and processes_of({victim["name"]}) == []

        shrunk = pods.http.post("/scale", json={"replicas": 1}).json()["pods"]
        assert [p["name"] for p in shrunk] == [first[1]["name"]]  # the newest went first
        events = [json.loads(line) for line in pods.log_path.read_text().splitlines() if line.startswith("{")]
        ended = [e for e in events if e["event"] == "container_ended" and e["pod"] == victim["name"]]
        assert ended and ended[-1]["exit_code"] == 0 and ended[-1]["message"].startswith("deleted"), ended
    finally:
        assert stop(pods) == 0, pods.log_tail()
