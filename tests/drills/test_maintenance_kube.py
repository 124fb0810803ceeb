"""The maintenance drill on a kubernetes target: it speaks only the Kubernetes API, to a test double of
the API server (tests/harness/kube_api_double.py) whose Deployment controller drives the real pods of a
local stack (tests/harness/kube_deployment_controller.py). Its traffic goes to the target's base_url,
the real mesh: the seed's scale-to-0 shows its real outage, `kubectl rollout restart` fails no request.
About 50 s: the stack's start, one drill run and one broken half-way (the pods' probes and grace
periods x0.2)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drills.context import DrillContext
from drills.runner import exit_code, run
from harness.clients.deployments import MERGE_PATCH, RESTARTED_AT, KubernetesDeployment
from harness.clients.http import ControlError
from harness.clients.pods import Pods
from harness.target import StackState, load
from harness.waiting import wait_for
from tests.drills.kube_stack import NAME, NS, kube_target
from tests.drills.runs import drill_stack, verdicts
from tests.harness.kube_api_double import KubeApiDouble


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with drill_stack(tmp_path_factory.mktemp("maintenance-kube-stack")) as run_dir:
        yield run_dir


def test_the_seeds_scale_to_zero_shows_its_outage_and_a_rollout_restart_fails_no_request(
    stack_dir: Path, kube_api: KubeApiDouble, tmp_path: Path
) -> None:
    pods = Pods(StackState.read(stack_dir).url("pods"))
    before = {p["name"] for p in pods.pods()}
    result = run(["maintenance"], DrillContext(load(kube_target(stack_dir, tmp_path)), say=print))[0]

    found = verdicts(result)
    assert not [s.error for s in result.timeline.steps if s.error], result.timeline.steps
    assert result.figures["failed_seed"] >= 1  # scaled to 0 through the API: the real mesh had no pod
    assert found["RTO"]["outcome"] == "pass"
    assert result.figures["failed_rolling"] == 0, found
    assert result.outcome == "PASS" and exit_code([result]) == 0, found
    # what it asked of the API server: the scale subresource to 0 and back, then the restart annotation
    writes = [
        (c.path.rsplit("/", 1)[-1], c.content_type, c.body) for c in kube_api.calls if c.method == "PATCH"
    ]
    assert writes[:2] == [
        ("scale", MERGE_PATCH, {"spec": {"replicas": 0}}),
        ("scale", MERGE_PATCH, {"spec": {"replicas": 3}}),
    ]
    assert (
        writes[2][0] == NAME and RESTARTED_AT in writes[2][2]["spec"]["template"]["metadata"]["annotations"]
    )
    assert any(c.path.endswith("/proxy/health") for c in kube_api.calls)  # the seed's exec curl: one pod's
    after = {p["name"] for p in pods.ready()}
    assert len(after) == 3 and not after & before  # every pod replaced, and left as found: 3 ready


def test_a_procedure_broken_after_the_scale_to_zero_still_leaves_the_deployment_as_found(
    stack_dir: Path, kube_api: KubeApiDouble, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_scale = KubernetesDeployment.scale
    asked: list[int] = []

    def refused_once_back_up(self: KubernetesDeployment, replicas: int) -> int:
        asked.append(replicas)
        if asked == [0, 3]:  # the seed's scale back is refused (an admission webhook, a quota)
            raise ControlError("kubernetes", "scaling deployment: Forbidden", 403)
        return real_scale(self, replicas)

    monkeypatch.setattr(KubernetesDeployment, "scale", refused_once_back_up)
    result = run(["maintenance"], DrillContext(load(kube_target(stack_dir, tmp_path)), say=print))[0]

    assert result.outcome == "FAIL" and exit_code([result]) == 1
    assert any(s.error and "Forbidden" in s.error for s in result.timeline.steps)
    assert asked == [0, 3, 3]  # put back by the drill itself
    assert kube_api.deployments[(NS, NAME)].document["spec"]["replicas"] == 3
    pods = Pods(StackState.read(stack_dir).url("pods"))
    wait_for(lambda: len(pods.ready()) == 3, 60, "the pods back")
