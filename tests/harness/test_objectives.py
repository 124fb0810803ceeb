"""The one loader of objectives and identity: what it reads, that the facts written elsewhere by hand
agree with it, and that a bad file is refused with the file and key to fix."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from harness import objectives
from harness.objectives import OBJECTIVES_FILE, REPO, SLO_FILE, ObjectivesError


def test_reads_the_seed_and_contract_figures() -> None:
    facts = objectives.load()
    assert {g.name: g.timeout_seconds for g in facts.route_groups.values()} == {
        "tron": 30, "wallets": 30, "usdt": 60, "payouts": 120, "staking": 60, "payments": 90,
    }  # fmt: skip
    assert facts.rate_limit("staking") == 50 and facts.rate_limit("other") == 100
    assert facts.disaster_recovery.rto_seconds == {"critical": 900, "standard": 1800}
    assert facts.disaster_recovery.rpo_seconds == {"database": 300, "configuration": 3600, "logs": 86400}
    assert facts.identity.label_selector == "app=tron-payment-service"
    assert facts.slo("latency").threshold_seconds == 2 and facts.slo("availability").error_budget == 0.001


def test_load_gates_are_the_slos_widened_by_the_tolerances(tmp_path: Path) -> None:
    gates = {gate.name: gate for gate in objectives.current().gates()}
    assert (gates["error ratio"].comparison, gates["error ratio"].threshold) == ("<=", 0.001)
    assert (gates["p95 latency"].threshold, gates["p95 latency"].unit) == (2.0, "s")
    looser = _broken(tmp_path, "load_gates.latency_tolerance_seconds", 0.5)
    assert objectives.load(looser, SLO_FILE).gates()[1].threshold == 2.5


@pytest.mark.parametrize(
    ("path", "group"),
    [
        ("/api/v1/usdt/balance/TX", "usdt"),
        ("/api/v1/wallets?page=2", "wallets"),
        ("/api/v1/admin/ledger", "other"),
        ("/health", "other"),
        ("/api/v1", "other"),
    ],
)
def test_route_group_of_a_path(path: str, group: str) -> None:
    assert objectives.current().route_group(path) == group


def test_the_service_holds_the_same_rate_limits() -> None:
    """service/ratelimit.py keeps its own copy (the harness may not import the service): read, not run."""
    tree = ast.parse((REPO / "service" / "ratelimit.py").read_text())
    limits = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "LIMITS_PER_MINUTE"
    )
    facts = objectives.current()
    assert limits == {
        **{g: facts.rate_limit(g) for g in facts.route_groups},
        "other": facts.rate_limit("other"),
    }


def test_the_hand_written_resource_alerts_use_the_shared_threshold() -> None:
    rules = [
        rule
        for group in yaml.safe_load((REPO / "alerts" / "service_alerts.yaml").read_text())["groups"]
        for rule in group["rules"]
    ]
    resource = [
        r for r in rules if r.get("alert") in ("TronPaymentHighMemoryUsage", "TronPaymentHighCPUUsage")
    ]
    assert len(resource) == 2
    for rule in resource:
        assert float(rule["expr"].rsplit(">", 1)[1]) == objectives.current().resource_limit_ratio, rule[
            "alert"
        ]


def _broken(tmp_path: Path, edit: str, value: object) -> Path:
    document = yaml.safe_load(OBJECTIVES_FILE.read_text())
    *parents, key = edit.split(".")
    scope = document
    for parent in parents:
        scope = scope[parent]
    if value is None:
        del scope[key]
    else:
        scope[key] = value
    path = tmp_path / "objectives.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.mark.parametrize(
    ("edit", "value", "message"),
    [
        ("identity.namespace", None, "missing 'namespace'"),
        ("resources.limit_ratio", "high", "'limit_ratio' is 'high', must be a number"),
        ("disaster_recovery.rpo.database", "five minutes", "must be a duration like 5m"),
        ("route_groups.usdt", [60], "'usdt' is [60], must be a mapping"),
        ("retry_attempts", True, "'retry_attempts' is True, must be a number"),
    ],
)
def test_a_bad_file_names_the_key_to_fix(tmp_path: Path, edit: str, value: object, message: str) -> None:
    path = _broken(tmp_path, edit, value)
    with pytest.raises(ObjectivesError, match=r"objectives\.yaml") as error:
        objectives.load(path, SLO_FILE)
    assert message in str(error.value)


def test_a_bad_slo_is_refused(tmp_path: Path) -> None:
    document = yaml.safe_load(SLO_FILE.read_text())
    document["slos"][0]["objective"] = 99.9
    path = tmp_path / "slos.yaml"
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ObjectivesError, match=r"objective 99.9 of api-availability must be in \(0, 1\)"):
        objectives.load(OBJECTIVES_FILE, path)
