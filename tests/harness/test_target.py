"""Target files: a local or kubernetes target from one small YAML file, and clear errors for bad ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness import target
from harness.target import KubernetesTarget, LocalTarget, TargetError

KUBERNETES = """\
kind: kubernetes
context: staging
namespace: lucid-payment
selector: app=tron-payment-service
base_url: https://payments.staging.example.com/
prometheus_url: http://prometheus.monitoring:9090
virtual_service: tron-payment-service
"""
STATE = {
    "started_at": "2026-11-30T09:00:00Z",
    "run_dir": "/tmp/stack",
    "service_url": "http://127.0.0.1:8085",
    "mesh_admin_url": "http://127.0.0.1:9001",
    "usdt_contract": "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf",
    "replicas": 3,
    "parts": [
        {"name": "mesh", "pid": 1, "start_time": "1", "url": "http://127.0.0.1:8085", "log": "m.log",
         "admin_url": "http://127.0.0.1:9001"},
        {"name": "prometheus", "pid": 2, "start_time": "2", "url": "http://127.0.0.1:9090", "log": "p.log"},
    ],
}  # fmt: skip


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "target.yaml"
    path.write_text(text)
    return path


def test_kubernetes_target(tmp_path: Path) -> None:
    loaded = target.load(_file(tmp_path, KUBERNETES))
    assert loaded == KubernetesTarget(
        context="staging",
        namespace="lucid-payment",
        selector="app=tron-payment-service",
        base_url="https://payments.staging.example.com",
        prometheus_url="http://prometheus.monitoring:9090",
        virtual_service="tron-payment-service",
    )


def test_the_restore_drills_keys_are_read(tmp_path: Path) -> None:
    text = KUBERNETES + (
        "allow_data_loss: true\nchain_url: https://api.trongrid.io/\n"
        "usdt_contract: TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t\n"
    )
    loaded = target.load(_file(tmp_path, text))
    assert isinstance(loaded, KubernetesTarget) and loaded.allow_data_loss is True
    assert loaded.needs("chain_url", "restore") == "https://api.trongrid.io"
    assert loaded.needs("usdt_contract", "restore") == "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
    assert target.load(_file(tmp_path, KUBERNETES)).allow_data_loss is False  # type: ignore[union-attr]


def test_a_key_a_drill_needs_is_read_when_given_and_named_when_missing(tmp_path: Path) -> None:
    path = _file(tmp_path, KUBERNETES + "deployment: tron-payment-service\n")
    loaded = target.load(path)
    assert isinstance(loaded, KubernetesTarget)
    assert loaded.needs("deployment", "the maintenance drill") == "tron-payment-service"
    with pytest.raises(TargetError) as error:
        loaded.needs("mongo_url", "backup-check")
    assert str(error.value) == (
        f"{path}: backup-check needs `mongo_url` in a kubernetes target; add mongo_url: "
        "mongodb://HOST:27017 (where a scratch copy may be restored)"
    )


def test_a_secondary_region_is_a_kubernetes_target_of_its_own(tmp_path: Path) -> None:
    block = "".join(f"  {line}\n" for line in KUBERNETES.replace("staging", "dr").splitlines()[1:])
    path = _file(tmp_path, KUBERNETES + "secondary:\n" + block + "  allow_data_loss: true\n")
    loaded = target.load(path)
    assert isinstance(loaded, KubernetesTarget) and isinstance(loaded.secondary, KubernetesTarget)
    assert loaded.secondary.context == "dr" and loaded.secondary.allow_data_loss is True
    assert loaded.secondary.base_url == "https://payments.dr.example.com" and loaded.secondary.source == (
        f"{path}: secondary"
    )
    assert target.load(_file(tmp_path, KUBERNETES)).secondary is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("secondary", "message"),
    [
        ("secondary: dr\n", "secondary must be a mapping with the keys of a kubernetes target (context,"),
        ("secondary:\n  context: dr\n", "secondary: a kubernetes target needs namespace, selector"),
        ("secondary:\n  kind: kubernetes\n", "secondary: unknown keys ['kind']; allowed: ['context'"),
        ("secondary:\n  secondary: {}\n", "secondary: unknown keys ['secondary']"),
    ],
)
def test_a_bad_secondary_says_what_to_fix(tmp_path: Path, secondary: str, message: str) -> None:
    path = _file(tmp_path, KUBERNETES + secondary)
    with pytest.raises(TargetError) as error:
        target.load(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value)


def test_local_target_reads_the_stack_state_typed(tmp_path: Path) -> None:
    (tmp_path / "stack").mkdir()
    (tmp_path / "stack" / "stack.json").write_text(json.dumps(STATE))
    loaded = target.load(_file(tmp_path, "kind: local\nstack_dir: stack\n"))
    assert loaded == LocalTarget((tmp_path / "stack").resolve())
    assert isinstance(loaded, LocalTarget)
    state = loaded.state()
    assert state.url("prometheus") == loaded.prometheus_url == "http://127.0.0.1:9090"
    assert state.admin_url("mesh") == "http://127.0.0.1:9001" and loaded.base_url == "http://127.0.0.1:8085"
    with pytest.raises(TargetError, match="no part 'pods'; its parts: mesh, prometheus"):
        state.url("pods")


def test_a_local_target_without_a_stack_says_how_to_start_one(tmp_path: Path) -> None:
    loaded = target.load(_file(tmp_path, "kind: local\nstack_dir: nowhere\n"))
    assert isinstance(loaded, LocalTarget)
    with pytest.raises(TargetError, match=r"tronops up --detach"):
        loaded.state()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: docker\n", "kind is 'docker'; write `kind: local` or `kind: kubernetes`"),
        ("- local\n", "must be a mapping"),
        ("kind: local\nport: 8085\n", "unknown keys ['port'] for a local target"),
        ("kind: kubernetes\ncontext: staging\n", "needs namespace, selector, base_url, prometheus_url"),
        (KUBERNETES.replace("https://payments", "payments"), "write an http(s) URL"),
        (KUBERNETES.replace("app=tron-payment-service", "app in (a, b)"), "write key=value[,key=value]"),
        (KUBERNETES.replace("context: staging", "context: ''"), "context must be non-empty text"),
        ("kind: [local\n", "not YAML"),
        (
            KUBERNETES + "payer_wallets: [w-1]\n",
            "payer_wallets must be a list of {user_id: ..., wallet_id: ...}",
        ),
        (KUBERNETES + "payer_wallets: [{wallet_id: w-1}]\n", "payer_wallets must be a list of"),
        (KUBERNETES + "deployment: Tron_Payment\n", "write its metadata.name (lower-case letters"),
        (KUBERNETES + "backups: ''\n", "backups must be non-empty text when given"),
        (KUBERNETES + "mongo_url: localhost:27017\n", "mongo_url is 'localhost:27017'; write mongodb://"),
        (KUBERNETES + "allow_data_loss: yes please\n", "allow_data_loss is 'yes please'; write true or"),
        (KUBERNETES + "chain_url: api.trongrid.io\n", "chain_url is 'api.trongrid.io'; write an http(s)"),
        (KUBERNETES + "usdt_contract: '0xdAC17F958D2ee523'\n", "is not a TRON address; write the contract's"),
    ],
)
def test_a_bad_file_says_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(TargetError) as error:
        target.load(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=r"cannot read target file .*absent\.yaml"):
        target.load(tmp_path / "absent.yaml")
