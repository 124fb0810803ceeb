"""The restore drill on a kubernetes target, against the test double of the Kubernetes API whose
Deployment controller drives a local stack's real pods: the target's `mongo_url` is the stack's store,
its `backups` the directory the stack's backup agent writes (the CronJob's schedule x0.05: the drill
reads the 12 s interval from the backups and says so), its `chain_url` the devnet. The drill drops the
service's database, scales the Deployment to 0 through the API, restores, recovers keys and operations,
scales back and proves the service serves with nothing paid twice. About 90 s (the stack's start,
then one drill: up to two backup intervals of waiting, the recovery, the audit)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient

from drills.context import DrillContext
from drills.database import default_database
from drills.runner import exit_code, run, table
from harness.clients.deployments import MERGE_PATCH, KubernetesDeployment
from harness.clients.http import ControlError
from harness.clients.pods import Pods
from harness.target import StackState, load
from harness.waiting import wait_for
from tests.drills.kube_stack import NAME, NS, kube_target
from tests.drills.runs import drill_stack, verdicts
from tests.harness.kube_api_double import KubeApiDouble


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with drill_stack(tmp_path_factory.mktemp("restore-kube-stack")) as run_dir:
        yield run_dir


def _restore_target(stack_dir: Path, tmp_path: Path) -> Path:
    """The stack as a cluster the restore drill may act on: its store, its agent's backups, its chain."""
    state = StackState.read(stack_dir)
    return kube_target(
        stack_dir, tmp_path, mongo_url=state.url("store"), backups=str(stack_dir / "backups"),
        allow_data_loss=True, chain_url=state.url("devnet"), usdt_contract=state.usdt_contract,
    )  # fmt: skip


def _freeze(state: StackState) -> dict[str, Any] | None:
    """The payout freeze as the service reads it (service/ports/store.py payout_freeze)."""
    client: MongoClient[Any] = MongoClient(state.url("store"))
    try:
        return client[default_database()].settings.find_one({"_id": "payout_freeze"})
    finally:
        client.close()


def test_restore_passes_on_a_kubernetes_target_with_the_writers_stopped(
    stack_dir: Path, kube_api: KubeApiDouble, tmp_path: Path
) -> None:
    state = StackState.read(stack_dir)
    target = _restore_target(stack_dir, tmp_path)
    result = run(["restore"], DrillContext(load(target), say=print))[0]
    print(table([result]))

    found = verdicts(result)
    assert result.cannot_run is None and not [s.error for s in result.timeline.steps if s.error]
    assert found["RTO"]["outcome"] == "pass"
    assert found["RPO wallet"]["outcome"] == "pass" and found["RPO funded wallet"]["outcome"] == "pass"
    assert found["post-backup wallet recovered"]["outcome"] == "pass"
    assert found["operations recovered from the chain"]["outcome"] == "pass"
    assert found["retried idempotency keys paid twice"]["outcome"] == "pass"
    assert found["payout from the post-backup wallet broadcast"]["outcome"] == "pass"
    assert found["audit findings"]["outcome"] == "pass"
    assert result.outcome == "PASS" and exit_code([result]) == 0, result.timeline.verdicts()
    setup = result.timeline.steps[0].notes[0]
    assert "the CronJob says */4 * * * *, 240 s: x0.05" in setup  # the interval read, stated
    # the writers were stopped through the API before the restore and put back as found
    scales = [c.body for c in kube_api.calls if c.method == "PATCH" and c.path.endswith("/scale")]
    assert scales == [{"spec": {"replicas": 0}}, {"spec": {"replicas": 3}}]
    assert all(c.content_type == MERGE_PATCH for c in kube_api.calls if c.method == "PATCH")
    assert kube_api.deployments[(NS, NAME)].document["spec"]["replicas"] == 3
    names = [s.name for s in result.timeline.steps]
    assert names.index("stop the writers: scale the Deployment to 0 (the seed's restore)") < names.index(
        "restore the newest scheduled backup"
    )
    # the freeze the drill set in the database was lifted through the admin API
    freeze = _freeze(state)
    assert freeze is not None and not freeze["frozen"] and freeze["changed_by"] != "dr-drill"


def test_a_recovery_that_breaks_after_the_scale_to_zero_still_scales_back_and_lifts_the_freeze(
    stack_dir: Path, kube_api: KubeApiDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = StackState.read(stack_dir)
    target = _restore_target(stack_dir, tmp_path)
    real_scale = KubernetesDeployment.scale
    asked: list[int] = []

    def refused_until_the_way_out(self: KubernetesDeployment, replicas: int) -> int:
        asked.append(replicas)
        if replicas and len(asked) < 4:  # the drill's own scale backs are refused (a quota, a webhook)
            raise ControlError("kubernetes", "scaling deployment: Forbidden", 403)
        return real_scale(self, replicas)

    monkeypatch.setattr(KubernetesDeployment, "scale", refused_until_the_way_out)
    said: list[str] = []
    result = run(["restore"], DrillContext(load(target), say=said.append))[0]

    assert result.outcome == "FAIL" and exit_code([result]) == 1, said
    assert any(s.error and "Forbidden" in s.error for s in result.timeline.steps)
    assert asked == [0, 3, 3, 3]  # the last by the way out, which also lifted the drill's freeze
    assert any("undone on the way out" in line and "freeze lifted" in line for line in said), said
    assert kube_api.deployments[(NS, NAME)].document["spec"]["replicas"] == 3
    freeze = _freeze(state)
    assert freeze is not None and not freeze["frozen"]
    pods = Pods(state.url("pods"))
    wait_for(lambda: len(pods.ready()) == 3, 60, "the pods back")
