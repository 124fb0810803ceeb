"""Kubernetes objects (any document with apiVersion and kind): schema, kustomization, namespace.

Core kinds validate with kubernetes-validate in strict mode (unknown fields are errors); custom
resources against the JSON Schema of their CRD, found as kubeconform finds them:
`<schemas>/<group>/<kind>_<version>.json` (the layout of datreeio/CRDs-catalog). The bundled
schemas are in schemas/ (see its README); `--schemas DIR` points at a cluster's own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate

from harness.lint.documents import YAML_SUFFIXES, Document
from harness.lint.findings import Problem, problem
from harness.lint.registry import check, kind
from harness.lint.run import Run

KUSTOMIZATION = ("kustomize.config.k8s.io/v1beta1", "Kustomization")
KUSTOMIZATION_FIELDS = {
    "apiVersion",
    "kind",
    "metadata",
    "resources",
    "images",
    "namespace",
    "labels",
    "commonAnnotations",
    "configMapGenerator",
    "secretGenerator",
    "patches",
    "components",
}
CLUSTER_SCOPED = {
    "Namespace",
    "Kustomization",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
}
DNS_1123 = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")


@kind("kubernetes", "Kubernetes objects: anything with apiVersion and kind")
def is_kubernetes(document: Document) -> bool:
    return document.api_kind is not None


@cache
def _schema(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def crd_schema_path(schemas: Path, api_version: str, kind_name: str) -> Path | None:
    """Where a custom resource's schema is (kubeconform's layout), or None without an API group."""
    group, _, version = api_version.rpartition("/")
    return schemas / group / f"{kind_name.lower()}_{version}.json" if group else None


@check("kubernetes", "schema")
def schema(document: Document, run: Run) -> Iterator[Problem]:
    """Every object validates against its kind's schema; a kind without one is a finding, not a pass."""
    if document.api_kind == KUSTOMIZATION:
        return  # kustomize publishes no schema: the kustomization check reads it
    try:
        kubernetes_validate.validate(document.data, run.options.kubernetes_version, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        yield from _custom_resource(document, run.options.schemas)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(p) for p in error.path) or "<root>"
        yield problem(f"{where}: {error.message}", *error.path)


def _custom_resource(document: Document, schemas: Path) -> Iterator[Problem]:
    assert document.api_kind is not None
    api_version, kind_name = document.api_kind
    crd = crd_schema_path(schemas, api_version, kind_name)
    if crd is None or not crd.is_file():
        yield problem(
            f"no schema for {kind_name} ({api_version}) at {crd or schemas}: nothing passes unvalidated"
        )
        return
    schema = _schema(crd)
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)(schema)
    for error in sorted(validator.iter_errors(document.data), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in error.path) or "<root>"
        yield problem(f"{where}: {error.message}", *error.path)
    yield from _metadata(document)


def _metadata(document: Document) -> Iterator[Problem]:
    """The CRD schemas leave metadata open; the API server does not."""
    metadata = document.get("metadata")
    if not isinstance(metadata, dict):
        yield problem("metadata: missing")
        return
    name = metadata.get("name")
    if not isinstance(name, str) or not DNS_1123.fullmatch(name):
        yield problem(f"metadata.name: {name!r} is not a valid DNS-1123 name", "metadata", "name")
    for field in sorted(set(metadata) - {"name", "namespace", "labels", "annotations"}):
        yield problem(f"metadata: unexpected field {field!r}", "metadata", field)


@check("kubernetes", "kustomization")
def kustomization(document: Document, run: Run) -> Iterator[Problem]:
    """Known fields; every resource exists inside the kustomization's folder (kustomize refuses files
    outside it); nothing beside it is left out except *.template.yaml placeholders, never applied."""
    if document.api_kind != KUSTOMIZATION:
        return
    base = document.path.parent
    for key in sorted(set(document.data) - KUSTOMIZATION_FIELDS):
        yield problem(f"unknown field {key!r}", key)
    resources = document.get("resources", default=[]) or []
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        yield problem("resources must be a list of paths", "resources")
        return
    if len(set(resources)) != len(resources):
        yield problem("resources lists a file twice", "resources")
    for position, entry in enumerate(resources):
        path = (base / entry).resolve()
        if ".." in Path(entry).parts or not path.is_relative_to(base.resolve()):
            yield problem(f"resource {entry} is outside {base} (kustomize refuses it)", "resources", position)
        elif not path.is_file():
            yield problem(f"resource {entry} does not exist", "resources", position)
        elif path.name.endswith(".template.yaml"):
            yield problem(
                f"resource {entry} is a placeholder template and must not be applied", "resources", position
            )
    listed = {(base / r).resolve() for r in resources}
    for path in sorted(p for p in base.rglob("*") if p.suffix in YAML_SUFFIXES and p.is_file()):
        if path.name in {"kustomization.yaml", "kustomization.yml"} or path.name.endswith(".template.yaml"):
            continue
        if path.resolve() not in listed:
            yield problem(f"{path.relative_to(base)} is not listed in resources: add it", "resources")
    for position, image in enumerate(document.get("images", default=[]) or []):
        if not isinstance(image, dict) or "name" not in image or not ({"newTag", "digest"} & set(image)):
            yield problem(f"images entry {image!r} needs a name and a newTag or digest", "images", position)


def _kustomized_namespace(document: Document, run: Run) -> str | None:
    """The namespace a Kustomization of the run sets for the files beneath its folder."""
    for kustomization in run.documents:
        folder = kustomization.path.parent.resolve()
        if kustomization.api_kind == KUSTOMIZATION and document.path.resolve().is_relative_to(folder):
            namespace = kustomization.get("namespace")
            if isinstance(namespace, str):
                return namespace
    return None


@check("kubernetes", "namespace")
def namespace(document: Document, run: Run) -> Iterator[Problem]:
    """Every namespaced object of the service sits in its namespace (harness/objectives.yaml)."""
    assert document.api_kind is not None
    expected = run.facts.identity.namespace
    found = document.get("metadata", "namespace") or _kustomized_namespace(document, run)
    if document.api_kind[1] not in CLUSTER_SCOPED and found != expected:
        yield problem(
            f"{document.api_kind[1]} {document.name} is in namespace {found!r}, not {expected}",
            "metadata",
            "namespace",
        )
