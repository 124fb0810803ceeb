"""Schema, kustomization and namespace checks of any Kubernetes object."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from harness.lint.run import Options
from tests.lint.helpers import broken_deploy, caught, container, deploy_copy, edit, of, run


def test_schema_catches_a_wrong_field_in_a_core_kind(tmp_path: Path) -> None:
    # kubernetes-validate stops at an object's first error, so one mistake per copy.
    def rename(deployment: dict[str, Any]) -> None:
        deployment["spec"]["replica"] = deployment["spec"].pop("replicas")

    caught(broken_deploy(tmp_path / "a", "Deployment", rename), "schema", "'replica' was unexpected")
    typo = broken_deploy(
        tmp_path / "b", "Deployment", lambda d: container(d)["livenessProbe"]["httpGet"].update(paht="/x")
    )
    assert caught(typo, "schema", "paht").line > 1


def test_schema_catches_a_wrong_type_in_a_core_kind(tmp_path: Path) -> None:
    def wrong(pdb: dict[str, Any]) -> None:
        pdb["spec"]["minAvailable"] = {"pods": 2}

    caught(broken_deploy(tmp_path, "PodDisruptionBudget", wrong), "schema", "minAvailable")


def test_schema_catches_a_wrong_field_in_istio_and_prometheus_kinds(tmp_path: Path) -> None:
    root = deploy_copy(tmp_path)
    edit(root, "VirtualService", lambda vs: vs["spec"]["http"][0]["retries"].update(attemps=3))
    edit(root, "ServiceMonitor", lambda sm: sm["spec"]["endpoints"][0].update(intervall="30s"))
    findings = run(root).findings
    caught(findings, "schema", "attemps")
    caught(findings, "schema", "intervall")


def test_a_kind_without_a_schema_is_a_finding(tmp_path: Path) -> None:
    (tmp_path / "widget.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: lucid-payment}\nspec: {}\n"
    )
    caught(run(tmp_path).findings, "schema", "no schema for Widget")


def test_schemas_dir_uses_a_clusters_own(tmp_path: Path) -> None:
    """--schemas DIR: a CRD the bundled schemas lack validates against the cluster's, as kubeconform does."""
    schemas = tmp_path / "schemas"
    shutil.copytree(Path(__file__).parents[2] / "harness" / "lint" / "schemas", schemas)
    (schemas / "example.com").mkdir()
    (schemas / "example.com" / "widget_v1.json").write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {
                    "spec": {
                        "type": "object",
                        "properties": {"size": {"type": "integer"}},
                        "additionalProperties": False,
                    }
                },
            }
        )
    )
    manifest = tmp_path / "widget.yaml"
    manifest.write_text(
        "apiVersion: example.com/v1\nkind: Widget\n"
        "metadata: {name: w, namespace: lucid-payment}\nspec: {sise: 1}\n"
    )
    caught(run(manifest, options=Options(schemas=schemas)).findings, "schema", "sise")
    manifest.write_text(manifest.read_text().replace("sise", "size"))
    assert run(manifest, options=Options(schemas=schemas)).findings == []


def test_kustomization_catches_a_missing_or_unlisted_file(tmp_path: Path) -> None:
    root = deploy_copy(tmp_path)
    kustomization = root / "kustomization.yaml"
    text = kustomization.read_text()
    kustomization.write_text(
        text.replace("- k8s/hpa.yaml\n", "- k8s/nope.yaml\n- k8s/secret.template.yaml\n")
    )
    findings = run(root).findings
    caught(findings, "kustomization", "hpa.yaml", "not listed")
    caught(findings, "kustomization", "nope.yaml", "does not exist")
    caught(findings, "kustomization", "template")


def test_a_resource_in_another_namespace_is_caught(tmp_path: Path) -> None:
    findings = broken_deploy(tmp_path, "Service", lambda s: s["metadata"].update(namespace="default"))
    assert caught(findings, "namespace", "Service", "default").path.endswith("service.yaml")
    assert len(of(findings, "namespace")) == 1


def test_a_namespace_set_by_the_kustomization_counts(tmp_path: Path) -> None:
    root = deploy_copy(tmp_path)
    edit(root, "Service", lambda s: s["metadata"].pop("namespace"))
    caught(run(root).findings, "namespace", "Service", "None")
    edit(root, "Kustomization", lambda k: k.update(namespace="lucid-payment"))
    assert of(run(root).findings, "namespace") == []
    edit(root, "Kustomization", lambda k: k.update(namespace="elsewhere"))
    caught(run(root).findings, "namespace", "Service", "'elsewhere'")


def test_a_document_the_schema_rejects_gets_that_finding_not_a_crash(tmp_path: Path) -> None:
    findings = broken_deploy(
        tmp_path, "Deployment", lambda d: d["spec"]["template"]["spec"].update(containers="x")
    )
    caught(findings, "schema", "containers", "not of type 'array'")
    assert not [f for f in findings if "cannot check" in f.message]
