"""Lint checks for everything under deploy/: schema checks for every document and the semantic checks
that matter for this service. Each function returns a list of problems (empty: fine), so the tests can
feed both the real manifests and deliberately broken copies through the same code.
"""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from harness import objectives

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
# The CRD schemas are read where they live (shared/ beside the clone), never copied into the repo.
SCHEMA_DIR = REPO.parent / "shared" / "schemas"
KUBERNETES_VERSION = "1.30"

CRD_SCHEMAS: dict[tuple[str, str], str] = {
    ("networking.istio.io/v1", "VirtualService"): "networking.istio.io/virtualservice_v1.json",
    ("networking.istio.io/v1alpha3", "VirtualService"): "networking.istio.io/virtualservice_v1alpha3.json",
    ("networking.istio.io/v1", "DestinationRule"): "networking.istio.io/destinationrule_v1.json",
    ("networking.istio.io/v1alpha3", "DestinationRule"): "networking.istio.io/destinationrule_v1alpha3.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com/servicemonitor_v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "monitoring.coreos.com/prometheusrule_v1.json",
    ("argoproj.io/v1alpha1", "Application"): "argoproj.io/application_v1alpha1.json",
}
KUSTOMIZATION = ("kustomize.config.k8s.io/v1beta1", "Kustomization")

FACTS = objectives.current()
# The seed's route groups and their timeouts (seconds); every group retries where safe.
ROUTE_GROUP_TIMEOUTS = {
    f"{FACTS.identity.base_path}/{group.name}": group.timeout_seconds for group in FACTS.route_groups.values()
}
RETRY_ATTEMPTS = FACTS.retry_attempts
UNSAFE_METHODS = ("POST", "PATCH")  # not idempotent: repeat only with an Idempotency-Key
IDEMPOTENCY_HEADER = "idempotency-key"

# service/__main__.py defaults, used when the Deployment does not set them.
DEFAULT_DRAIN_SECONDS = 1.0
DEFAULT_GRACEFUL_TIMEOUT_SECONDS = 25.0
# What production mode refuses to start without (service/config.py), plus where to listen.
REQUIRED_SERVICE_ENV = {"MONGODB_URI", "REDIS_URL", "JWT_SECRET", "ENCRYPTION_KEY", "WEBHOOK_SECRET"}
RPO_DATABASE_SECONDS = int(FACTS.disaster_recovery.rpo_seconds["database"])
MIN_REPLICAS = FACTS.min_replicas
MIN_AVAILABLE = FACTS.min_available


# ---------------------------------------------------------------------------------------------- loading
def yaml_files(root: Path = DEPLOY) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())


def load_documents(path: Path) -> list[dict[str, Any]]:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    for index, document in enumerate(documents):
        if not isinstance(document, dict):
            raise ValueError(f"{path} document {index} is a {type(document).__name__}, not a mapping")
    return documents


def all_documents(root: Path = DEPLOY) -> list[tuple[Path, int, dict[str, Any]]]:
    return [(path, i, doc) for path in yaml_files(root) for i, doc in enumerate(load_documents(path))]


def find(kind: str, name: str | None = None, root: Path = DEPLOY) -> dict[str, Any]:
    """The one document of this kind (and name); a copy, so tests may break it freely."""
    found = [
        doc
        for _, _, doc in all_documents(root)
        if doc.get("kind") == kind and (name is None or doc.get("metadata", {}).get("name") == name)
    ]
    if len(found) != 1:
        raise LookupError(f"expected one {kind} {name or ''} under {root}, found {len(found)}")
    return copy.deepcopy(found[0])


def service_env_names() -> set[str]:
    """Every environment variable name the service reads: the upper-case string literals of
    service/config.py and service/__main__.py (the only modules that read the environment)."""
    names: set[str] = set()
    for module in ("config.py", "__main__.py"):
        tree = ast.parse((REPO / "service" / module).read_text())
        names |= {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+|[A-Z]{4,}", node.value)
        }
    return names


# ------------------------------------------------------------------------------------- schema checks
@cache
def _crd_schema(filename: str) -> dict[str, Any]:
    path = SCHEMA_DIR / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: the CRD schemas are read from shared/schemas beside the repository"
        )
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def _metadata_problems(doc: Mapping[str, Any]) -> list[str]:
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        return ["metadata: missing"]
    problems = []
    name = metadata.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name):
        problems.append(f"metadata.name: {name!r} is not a valid DNS-1123 name")
    unknown = set(metadata) - {"name", "namespace", "labels", "annotations"}
    if unknown:
        problems.append(f"metadata: unexpected field(s) {sorted(unknown)}")
    return problems


def schema_problems(doc: Mapping[str, Any], source: Path | None = None) -> list[str]:
    """Validate one document against the schema of its kind; a kind without a validator is a problem."""
    api_version, kind = doc.get("apiVersion"), doc.get("kind")
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return ["apiVersion and kind are required"]
    if (api_version, kind) == KUSTOMIZATION:
        return kustomization_problems(doc, (source or DEPLOY / "kustomization.yaml").parent)
    if (api_version, kind) in CRD_SCHEMAS:
        schema = _crd_schema(CRD_SCHEMAS[(api_version, kind)])
        validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
        errors = sorted(validator_class(schema).iter_errors(dict(doc)), key=lambda e: list(e.path))
        return [f"{'.'.join(str(p) for p in e.path) or '<root>'}: {e.message}" for e in errors] + (
            _metadata_problems(doc)
        )
    try:
        kubernetes_validate.validate(dict(doc), KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"no validator for kind {kind} (apiVersion {api_version}): nothing passes unvalidated"]
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(str(p) for p in exc.path) or '<root>'}: {exc.message}"]
    return []


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


def kustomization_problems(doc: Mapping[str, Any], base: Path) -> list[str]:
    """kustomize has no JSON Schema here: check its fields, that every resource exists inside the
    kustomization's folder (kustomize refuses files outside it), and that nothing under it is left
    out except the *.template.yaml Secrets, which must never be applied."""
    problems = [f"unknown field {key!r}" for key in sorted(set(doc) - KUSTOMIZATION_FIELDS)]
    resources = doc.get("resources") or []
    if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
        return [*problems, "resources must be a list of paths"]
    if len(set(resources)) != len(resources):
        problems.append("resources lists a file twice")
    for entry in resources:
        path = (base / entry).resolve()
        if ".." in Path(entry).parts or not path.is_relative_to(base.resolve()):
            problems.append(f"resource {entry} is outside {base} (kustomize refuses it)")
        elif not path.is_file():
            problems.append(f"resource {entry} does not exist")
        elif path.name.endswith(".template.yaml"):
            problems.append(f"resource {entry} is a placeholder template and must not be applied")
    listed = {(base / r).resolve() for r in resources}
    # A folder with its own kustomization is applied on its own (`kubectl apply -k deploy/loadtests`).
    own = {p.parent for p in base.rglob("kustomization.y*ml") if p.parent != base}
    for path in yaml_files(base):
        if path.name in {"kustomization.yaml", "kustomization.yml"} or path.name.endswith(".template.yaml"):
            continue
        if any(path.is_relative_to(folder) for folder in own):
            continue
        if path.resolve() not in listed:
            problems.append(f"{path.relative_to(base)} is not listed in resources: add it")
    for image in doc.get("images") or []:
        if not isinstance(image, dict) or "name" not in image or not ({"newTag", "digest"} & set(image)):
            problems.append(f"images entry {image!r} needs a name and a newTag or digest")
    return problems


# ------------------------------------------------------------------------------------ semantic checks
def _container(deployment: Mapping[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = deployment["spec"]["template"]["spec"]["containers"]
    return containers[0]


def _env(container: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env") or []}


def _prestop_seconds(container: Mapping[str, Any]) -> float:
    pre_stop = (container.get("lifecycle") or {}).get("preStop") or {}
    if "sleep" in pre_stop:
        return float(pre_stop["sleep"]["seconds"])
    command = (pre_stop.get("exec") or {}).get("command") or []
    text = " ".join(str(c) for c in command)
    match = re.search(r"\bsleep\s+(\d+(?:\.\d+)?)\b", text)
    return float(match.group(1)) if match else 0.0


def deployment_problems(
    deployment: Mapping[str, Any],
    *,
    env_names: set[str],
    secret: Mapping[str, Any] | None = None,
    config_map: Mapping[str, Any] | None = None,
) -> list[str]:
    problems: list[str] = []
    pod = deployment["spec"]["template"]["spec"]
    container = _container(deployment)
    liveness = ((container.get("livenessProbe") or {}).get("httpGet") or {}).get("path")
    if liveness != "/health/live":
        problems.append(
            f"liveness probe path is {liveness!r}, must be '/health/live' (the deep /health depends on "
            "MongoDB, Redis and the TRON node: their outage would restart every pod)"
        )
    readiness = ((container.get("readinessProbe") or {}).get("httpGet") or {}).get("path")
    if readiness != "/health/ready":
        problems.append(f"readiness probe path is {readiness!r}, must be '/health/ready'")

    pod_security = pod.get("securityContext") or {}
    security = container.get("securityContext") or {}
    if not (security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
        problems.append("container may run as root: set runAsNonRoot: true")
    if 0 in (security.get("runAsUser"), pod_security.get("runAsUser")):
        problems.append("runAsUser is 0 (root)")
    if security.get("readOnlyRootFilesystem") is not True:
        problems.append("container root filesystem is writable: set readOnlyRootFilesystem: true")
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append("allowPrivilegeEscalation must be false")
    if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
        problems.append("capabilities must drop ALL")
    seccomp = (security.get("seccompProfile") or pod_security.get("seccompProfile") or {}).get("type")
    if seccomp not in {"RuntimeDefault", "Localhost"}:
        problems.append(f"seccompProfile is {seccomp!r}, must be RuntimeDefault")
    if pod.get("automountServiceAccountToken") is not False:
        problems.append("automountServiceAccountToken must be false (the service never calls the API)")
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    tmp = [m for m in container.get("volumeMounts") or [] if m.get("mountPath") == "/tmp"]
    if not tmp or "emptyDir" not in volumes.get(tmp[0]["name"], {}):
        problems.append("/tmp must be an emptyDir (the root filesystem is read-only)")

    env = _env(container)
    values = {name: str(e.get("value", "")) for name, e in env.items()}
    prestop = _prestop_seconds(container)
    drain = float(values.get("DRAIN_SECONDS") or DEFAULT_DRAIN_SECONDS)
    graceful = float(values.get("GRACEFUL_TIMEOUT_SECONDS") or DEFAULT_GRACEFUL_TIMEOUT_SECONDS)
    grace = float(pod.get("terminationGracePeriodSeconds", 30))
    if prestop <= 0:
        problems.append("no preStop sleep: endpoints may still send traffic after SIGTERM")
    if grace <= prestop + drain + graceful:
        problems.append(
            f"terminationGracePeriodSeconds {grace:g} must exceed preStop {prestop:g} + DRAIN_SECONDS "
            f"{drain:g} + GRACEFUL_TIMEOUT_SECONDS {graceful:g} = {prestop + drain + graceful:g}"
        )

    for name in sorted(set(env) - env_names):
        problems.append(f"env {name} is not read by the service (service/config.py, service/__main__.py)")
    for name in sorted(REQUIRED_SERVICE_ENV - set(env)):
        problems.append(f"env {name} is missing: production mode refuses to start without it")
    if values.get("NODE_ENV") != "production":
        problems.append("NODE_ENV must be 'production'")
    if values.get("HOST") != "0.0.0.0":
        problems.append("HOST must be 0.0.0.0 (the service binds 127.0.0.1 by default)")
    for name, entry in env.items():
        source = entry.get("valueFrom") or {}
        for ref_kind, provided in (("secretKeyRef", secret), ("configMapKeyRef", config_map)):
            ref = source.get(ref_kind)
            if ref is None or provided is None:
                continue
            keys = set((provided.get("data") or {}) | (provided.get("stringData") or {}))
            if ref.get("name") != provided["metadata"]["name"] or ref.get("key") not in keys:
                problems.append(
                    f"env {name} reads {ref_kind} {ref.get('name')}/{ref.get('key')}, "
                    f"which {provided['metadata']['name']} does not provide"
                )
    return problems


def pdb_problems(pdb: Mapping[str, Any], deployment: Mapping[str, Any]) -> list[str]:
    replicas = int(deployment["spec"].get("replicas", 1))
    spec = pdb["spec"]
    problems = []
    if "minAvailable" in spec:
        value = spec["minAvailable"]
        kept = (
            int(replicas * int(str(value).rstrip("%")) / 100 + 0.999999)
            if str(value).endswith("%")
            else int(value)
        )
    elif "maxUnavailable" in spec:
        value = spec["maxUnavailable"]
        lost = (
            int(replicas * int(str(value).rstrip("%")) / 100 + 0.999999)
            if str(value).endswith("%")
            else int(value)
        )
        kept = replicas - lost
    else:
        kept = 0
    if kept < MIN_AVAILABLE:
        problems.append(
            f"PodDisruptionBudget keeps {kept} of {replicas} pods, must keep at least {MIN_AVAILABLE}"
        )
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    if not selector or any(labels.get(k) != v for k, v in selector.items()):
        problems.append(f"PodDisruptionBudget selector {selector} does not select the Deployment's pods")
    return problems


def hpa_problems(hpa: Mapping[str, Any], deployment: Mapping[str, Any]) -> list[str]:
    spec = hpa["spec"]
    problems = []
    if int(spec.get("minReplicas", 1)) < MIN_REPLICAS:
        problems.append(f"HPA minReplicas {spec.get('minReplicas', 1)} is below {MIN_REPLICAS}")
    if int(spec["maxReplicas"]) < int(spec.get("minReplicas", 1)):
        problems.append("HPA maxReplicas is below minReplicas")
    target = spec["scaleTargetRef"]
    if (target.get("kind"), target.get("name")) != ("Deployment", deployment["metadata"]["name"]):
        problems.append(f"HPA scales {target}, not the Deployment")
    return problems


def _string_matches(matcher: Mapping[str, Any], text: str) -> bool:
    if "exact" in matcher:
        return text == matcher["exact"]
    if "prefix" in matcher:
        return text.startswith(matcher["prefix"])
    if "regex" in matcher:
        return re.fullmatch(matcher["regex"], text) is not None
    return True


def _admits_unsafe_without_key(match: Mapping[str, Any]) -> bool:
    """Whether this match entry lets a POST/PATCH through without an Idempotency-Key."""
    method = match.get("method")
    if method is not None and not any(_string_matches(method, m) for m in UNSAFE_METHODS):
        return False
    return IDEMPOTENCY_HEADER not in {h.lower() for h in match.get("headers") or {}}


def _seconds(duration: Any) -> float | None:
    found = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", str(duration))
    if not found:
        return None
    return float(found.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[found.group(2)]


def virtual_service_problems(vs: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    routes = vs["spec"].get("http") or []
    routes_of_group = dict.fromkeys(ROUTE_GROUP_TIMEOUTS, 0)
    retryable_of_group = dict.fromkeys(ROUTE_GROUP_TIMEOUTS, 0)
    for index, route in enumerate(routes):
        name = route.get("name", f"http[{index}]")
        matches = route.get("match") or [{}]  # no match: matches everything
        attempts = (route.get("retries") or {}).get("attempts")
        if "fault" in route:
            problems.append(
                f"route {name} has a fault: fault injection belongs to chaos runs, not production"
            )
        timeout = _seconds(route.get("timeout"))
        if timeout is None:
            problems.append(f"route {name} has no timeout")
        unsafe = any(_admits_unsafe_without_key(m) for m in matches)
        if unsafe and attempts != 0:
            problems.append(
                f"route {name} lets POST/PATCH through without an Idempotency-Key but retries "
                f"(attempts {attempts!r}; a missing `retries` means Istio's default retries): "
                "it must have attempts: 0"
            )
        if not unsafe and attempts != RETRY_ATTEMPTS:
            problems.append(f"retryable route {name} has attempts {attempts!r}, must be {RETRY_ATTEMPTS}")
        if not unsafe and not (route.get("retries") or {}).get("perTryTimeout"):
            problems.append(f"retryable route {name} has no perTryTimeout")
        prefixes = {(m.get("uri") or {}).get("prefix") for m in matches}
        for prefix, expected in ROUTE_GROUP_TIMEOUTS.items():
            if prefix not in prefixes:
                continue
            routes_of_group[prefix] += 1
            retryable_of_group[prefix] += not unsafe
            if timeout != expected:
                problems.append(
                    f"route {name} ({prefix}) has timeout {route.get('timeout')!r}, "
                    f"the seed's is {expected:g}s"
                )
    for prefix in ROUTE_GROUP_TIMEOUTS:
        if not routes_of_group[prefix]:
            problems.append(f"no route for {prefix}")
        elif not retryable_of_group[prefix]:
            problems.append(f"{prefix} has no retryable route ({RETRY_ATTEMPTS} attempts for safe requests)")
    return problems


def _minutes(field: str) -> list[int]:
    minutes: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base == "*":
            low, high = 0, 59
        elif "-" in base:
            low, high = (int(x) for x in base.split("-"))
        else:
            low = int(base)
            high = 59 if step_text else low
        minutes.update(range(low, high + 1, step))
    return sorted(minutes)


def schedule_interval_seconds(schedule: str) -> int:
    """The longest gap between two runs of a cron schedule, in seconds (minute-level schedules only)."""
    fields = schedule.split()
    if len(fields) != 5:
        raise ValueError(f"schedule {schedule!r} is not a 5-field cron expression")
    if any(f != "*" for f in fields[1:]):
        return 24 * 3600  # restricted to some hours or days: gaps of hours at least
    minutes = _minutes(fields[0])
    gaps = [b - a for a, b in pairwise(minutes)] + [60 - minutes[-1] + minutes[0]]
    return max(gaps) * 60


def backup_cronjob_problems(cronjob: Mapping[str, Any], rpo_seconds: int = RPO_DATABASE_SECONDS) -> list[str]:
    spec = cronjob["spec"]
    problems = []
    interval = schedule_interval_seconds(spec["schedule"])
    if interval > rpo_seconds:
        problems.append(
            f"backup schedule {spec['schedule']!r} leaves up to {interval}s between backups; "
            f"the database RPO is {rpo_seconds}s"
        )
    start = int(spec.get("startingDeadlineSeconds", 0))
    active = int(spec["jobTemplate"]["spec"].get("activeDeadlineSeconds", 0))
    if not start:
        problems.append("startingDeadlineSeconds is unset: a late backup may start any time later")
    if not active:
        problems.append("jobTemplate activeDeadlineSeconds is unset: a hung backup holds the RPO hostage")
    if interval + start + active > rpo_seconds:
        problems.append(
            f"interval {interval}s + startingDeadlineSeconds {start}s + activeDeadlineSeconds {active}s "
            f"= {interval + start + active}s exceeds the RPO of {rpo_seconds}s"
        )
    if spec.get("concurrencyPolicy") != "Forbid":
        problems.append("concurrencyPolicy must be Forbid (overlapping dumps)")
    pod = spec["jobTemplate"]["spec"]["template"]
    if (pod.get("metadata", {}).get("annotations") or {}).get("sidecar.istio.io/inject") != "false":
        problems.append("backup pods need sidecar.istio.io/inject: 'false' (a sidecar never exits)")
    commands = json.dumps([c.get("args") or c.get("command") for c in _pod_containers(pod["spec"])])
    if "mongodump" not in commands:
        problems.append("no container runs mongodump")
    return problems


def _pod_containers(pod_spec: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    return [*(pod_spec.get("initContainers") or []), *(pod_spec.get("containers") or [])]


def service_monitor_problems(monitor: Mapping[str, Any], service: Mapping[str, Any]) -> list[str]:
    problems = []
    selector = monitor["spec"]["selector"].get("matchLabels") or {}
    labels = service["metadata"].get("labels") or {}
    if not selector or any(labels.get(k) != v for k, v in selector.items()):
        problems.append(
            f"ServiceMonitor selector {selector} does not select Service {service['metadata']['name']}"
        )
    ports = {p.get("name") for p in service["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        if endpoint.get("port") not in ports:
            problems.append(
                f"ServiceMonitor port {endpoint.get('port')!r} is not a named port of the Service"
            )
        if endpoint.get("path", "/metrics") != "/metrics":
            problems.append(f"ServiceMonitor scrapes {endpoint.get('path')!r}, not /metrics")
    return problems


def namespace_problems(
    documents: Iterable[Mapping[str, Any]], namespace: str = FACTS.identity.namespace
) -> list[str]:
    cluster_scoped = {"Namespace", "Kustomization"}
    return [
        f"{doc['kind']} {doc['metadata'].get('name')} is in namespace "
        f"{doc['metadata'].get('namespace')!r}, not {namespace}"
        for doc in documents
        if doc.get("kind") not in cluster_scoped and doc.get("metadata", {}).get("namespace") != namespace
    ]
