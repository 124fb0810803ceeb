"""The region-loss drill on a kubernetes target naming its secondary: two local stacks on one shared chain
(the primary starts the devnet, the secondary runs on it), each behind its own test double of the
Kubernetes API (a cluster each, reached by its own context of a kubeconfig) whose Deployment controller
drives the stack's real pods. The primary's `backups` is the directory its agent writes (the CronJob's
schedule x0.05: 12 s); the secondary's `mongo_url` its own store. The drill scales the primary to 0,
moves its clients to the secondary, which restores the primary's backup and escrowed keys, recovers
from the chain and serves; the primary comes back fenced. About 2.5 min on an idle machine (the two
stacks' start ~30 s, one drill: up to two backup intervals, the recovery, the audit's ~60 s); the red
case takes a second once the stacks run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pymongo import MongoClient

from drills.context import DrillContext
from drills.database import default_database
from drills.runner import exit_code, run, table
from harness.target import StackState, load
from tests.drills.kube_stack import NAME, NS, kube_clusters_over, kube_target_document
from tests.drills.runs import assert_recovered, drill_stack, verdicts
from tests.harness.kube_api_double import KubeApiDouble


@pytest.fixture(scope="module")
def regions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    base = tmp_path_factory.mktemp("region-kube")
    with drill_stack(base / "primary") as primary:
        chain = StackState.read(primary).url("devnet")
        with drill_stack(base / "secondary", chain_url=chain) as secondary:
            yield {"primary": primary, "secondary": secondary}


@pytest.fixture
def clusters(
    regions: dict[str, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[dict[str, KubeApiDouble]]:
    with kube_clusters_over(regions, monkeypatch, tmp_path) as doubles:
        yield doubles


def _target(regions: dict[str, Path], tmp_path: Path, **secondary_keys: object) -> Path:
    def region(name: str, **keys: object) -> dict[str, Any]:
        state = StackState.read(regions[name])
        return kube_target_document(
            regions[name], name, mongo_url=state.url("store"), chain_url=state.url("devnet"),
            usdt_contract=state.usdt_contract, **keys,
        )  # fmt: skip

    document = region("primary", backups=str(regions["primary"] / "backups"))
    secondary = region("secondary", **{"allow_data_loss": True, **secondary_keys})
    document["secondary"] = {k: v for k, v in secondary.items() if k != "kind"}
    path = tmp_path / "regions.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def _freeze(stack_dir: Path) -> dict[str, Any] | None:
    """The payout freeze as the region's service reads it (service/ports/store.py payout_freeze)."""
    client: MongoClient[Any] = MongoClient(StackState.read(stack_dir).url("store"))
    try:
        return client[default_database()].settings.find_one({"_id": "payout_freeze"})
    finally:
        client.close()


def _scales(double: KubeApiDouble) -> list[Any]:
    return [c.body for c in double.calls if c.method == "PATCH" and c.path.endswith("/scale")]


def test_the_secondary_cluster_takes_over_and_the_primary_returns_fenced(
    regions: dict[str, Path], clusters: dict[str, KubeApiDouble], tmp_path: Path
) -> None:
    result = run(["region-loss"], DrillContext(load(_target(regions, tmp_path)), say=print))[0]
    print(table([result]))

    found = verdicts(result)
    assert result.cannot_run is None
    assert_recovered(result)
    assert found["primary ready replicas"]["outcome"] == "pass"
    assert result.outcome == "PASS" and exit_code([result]) == 0, result.timeline.verdicts()
    # each cluster through its own API: the primary lost and put back, the secondary stopped for the
    # restore and scaled back
    assert _scales(clusters["primary"]) == [{"spec": {"replicas": 0}}, {"spec": {"replicas": 3}}]
    assert _scales(clusters["secondary"]) == [{"spec": {"replicas": 0}}, {"spec": {"replicas": 3}}]
    for double in clusters.values():
        assert double.deployments[(NS, NAME)].document["spec"]["replicas"] == 3
    names = [s.name for s in result.timeline.steps]
    assert names.index("traffic moves to the secondary (client-side failover)") < names.index(
        "restore the newest scheduled backup"
    )
    # the secondary serves unfrozen; the primary came back fenced, its payouts frozen by the drill
    secondary_freeze, primary_freeze = _freeze(regions["secondary"]), _freeze(regions["primary"])
    assert secondary_freeze is not None and not secondary_freeze["frozen"]
    assert primary_freeze is not None and primary_freeze["frozen"]
    assert primary_freeze["changed_by"] == "dr-drill"


def test_a_secondary_without_allow_data_loss_exits_2_before_touching_either_cluster(
    regions: dict[str, Path], clusters: dict[str, KubeApiDouble], tmp_path: Path
) -> None:
    target = _target(regions, tmp_path, allow_data_loss=False)
    said: list[str] = []
    result = run(["region-loss"], DrillContext(load(target), say=said.append))[0]

    assert result.outcome == "ERROR" and exit_code([result]) == 2
    assert result.cannot_run == (
        f"{target}: secondary: region-loss restores the primary's backup over the service's database at "
        f"{StackState.read(regions['secondary']).url('store')}; it runs only with `allow_data_loss: true` "
        "in the target (never on a database whose loss is not meant)"
    )
    assert all(not double.calls for double in clusters.values())
