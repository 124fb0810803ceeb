"""Workloads and what keeps them available: pod security, the service's probes, shutdown timing and
environment, disruption budgets, autoscalers, the backup CronJob and the ServiceMonitor.

Checks marked "the service's" apply to the Deployment named as the service's identity in
harness/objectives.yaml; the others to every workload in the run.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

from harness.lint.documents import Document, Key
from harness.lint.findings import Problem, problem
from harness.lint.registry import check
from harness.lint.run import Run

REPO = Path(__file__).resolve().parents[2]
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
# service/__main__.py defaults, used when the Deployment does not set them.
DEFAULT_DRAIN_SECONDS = 1.0
DEFAULT_GRACEFUL_TIMEOUT_SECONDS = 25.0
DEFAULT_WORKER_STOP_SECONDS = 10.0  # service/config.py
# What production mode refuses to start without (service/config.py).
REQUIRED_SERVICE_ENV = {"MONGODB_URI", "REDIS_URL", "JWT_SECRET", "ENCRYPTION_KEY", "WEBHOOK_SECRET"}


@cache
def service_env_names() -> frozenset[str]:
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
    return frozenset(names)


def pod_spec_at(document: Document) -> tuple[Key, ...] | None:
    """The key path of a workload's pod spec."""
    if document.api_kind is None or document.api_kind[1] not in WORKLOADS:
        return None
    if document.api_kind[1] == "CronJob":
        return ("spec", "jobTemplate", "spec", "template", "spec")
    return ("spec", "template", "spec")


def containers(document: Document) -> Iterator[tuple[tuple[Key, ...], dict[str, Any]]]:
    """(key path, container) of every init and app container of a workload."""
    pod = pod_spec_at(document)
    if pod is None:
        return
    for field in ("initContainers", "containers"):
        listed = document.get(*pod, field, default=[])
        for position, container in enumerate(listed if isinstance(listed, list) else []):
            if isinstance(container, dict):  # anything else is the schema check's finding
                yield (*pod, field, position), container


def app_container(document: Document) -> tuple[tuple[Key, ...], dict[str, Any]] | None:
    """The first app (not init) container: the service's own."""
    return next(((at, c) for at, c in containers(document) if at[-2] == "containers"), None)


def is_the_service(document: Document, run: Run) -> bool:
    return document.api_kind == ("apps/v1", "Deployment") and document.name == run.facts.identity.app


def matches(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


@check("kubernetes", "security-context")
def security_context(document: Document, run: Run) -> Iterator[Problem]:
    """Every container runs as non-root, read-only, without privilege escalation or capabilities,
    under the RuntimeDefault seccomp profile."""
    pod = pod_spec_at(document)
    if pod is None:
        return
    pod_security = document.get(*pod, "securityContext", default={}) or {}
    for at, container in containers(document):
        security = container.get("securityContext") or {}
        name, here = container.get("name"), (*at, "securityContext")
        if not (security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
            yield problem(f"container {name} may run as root: set runAsNonRoot: true", *here)
        if 0 in (security.get("runAsUser"), pod_security.get("runAsUser")):
            yield problem(f"container {name}: runAsUser is 0 (root)", *here)
        if security.get("readOnlyRootFilesystem") is not True:
            yield problem(
                f"container {name}: root filesystem is writable: set readOnlyRootFilesystem: true", *here
            )
        if security.get("allowPrivilegeEscalation") is not False:
            yield problem(f"container {name}: allowPrivilegeEscalation must be false", *here)
        if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
            yield problem(f"container {name}: capabilities must drop ALL", *here)
        seccomp = (security.get("seccompProfile") or pod_security.get("seccompProfile") or {}).get("type")
        if seccomp not in {"RuntimeDefault", "Localhost"}:
            yield problem(f"container {name}: seccompProfile is {seccomp!r}, must be RuntimeDefault", *here)


@check("kubernetes", "probes")
def probes(document: Document, run: Run) -> Iterator[Problem]:
    """The service's liveness probe asks only whether the process answers; readiness asks for the database."""
    if not is_the_service(document, run) or (found := app_container(document)) is None:
        return
    at, container = found
    liveness = ((container.get("livenessProbe") or {}).get("httpGet") or {}).get("path")
    if liveness != "/health/live":
        yield problem(
            f"liveness probe path is {liveness!r}, must be '/health/live' (the deep /health depends on "
            "MongoDB, Redis and the TRON node: their outage would restart every pod)",
            *at,
            "livenessProbe",
        )
    readiness = ((container.get("readinessProbe") or {}).get("httpGet") or {}).get("path")
    if readiness != "/health/ready":
        yield problem(
            f"readiness probe path is {readiness!r}, must be '/health/ready'", *at, "readinessProbe"
        )


def prestop_seconds(container: Mapping[str, Any]) -> float:
    pre_stop = (container.get("lifecycle") or {}).get("preStop") or {}
    if "sleep" in pre_stop:
        return float(pre_stop["sleep"]["seconds"])
    command = " ".join(str(c) for c in (pre_stop.get("exec") or {}).get("command") or [])
    found = re.search(r"\bsleep\s+(\d+(?:\.\d+)?)\b", command)
    return float(found.group(1)) if found else 0.0


def env_values(container: Mapping[str, Any]) -> dict[str, str]:
    return {e["name"]: str(e.get("value", "")) for e in container.get("env") or []}


@check("kubernetes", "drain-timing")
def drain_timing(document: Document, run: Run) -> Iterator[Problem]:
    """The service's pods leave the endpoints before SIGTERM (preStop sleep) and get the time to drain
    and stop their worker: terminationGracePeriodSeconds > preStop + DRAIN_SECONDS +
    GRACEFUL_TIMEOUT_SECONDS + 2 x WORKER_STOP_SECONDS (the step in flight, then the leases handed
    back; service/worker.py bounds each by it)."""
    if not is_the_service(document, run) or (found := app_container(document)) is None:
        return
    at, container = found
    values = env_values(container)
    prestop = prestop_seconds(container)
    drain = float(values.get("DRAIN_SECONDS") or DEFAULT_DRAIN_SECONDS)
    graceful = float(values.get("GRACEFUL_TIMEOUT_SECONDS") or DEFAULT_GRACEFUL_TIMEOUT_SECONDS)
    worker_stop = float(values.get("WORKER_STOP_SECONDS") or DEFAULT_WORKER_STOP_SECONDS)
    grace = float(document.get("spec", "template", "spec", "terminationGracePeriodSeconds", default=30))
    if prestop <= 0:
        yield problem("no preStop sleep: endpoints may still send traffic after SIGTERM", *at)
    needed = prestop + drain + graceful + 2 * worker_stop
    if grace <= needed:
        yield problem(
            f"terminationGracePeriodSeconds {grace:g} must exceed preStop {prestop:g} + DRAIN_SECONDS "
            f"{drain:g} + GRACEFUL_TIMEOUT_SECONDS {graceful:g} + 2 x WORKER_STOP_SECONDS {worker_stop:g} "
            f"= {needed:g}, or a pod still stopping its worker is killed (set WORKER_STOP_SECONDS lower "
            "or the grace period higher)",
            "spec",
            "template",
            "spec",
            "terminationGracePeriodSeconds",
        )


@check("kubernetes", "service-env")
def service_env(document: Document, run: Run) -> Iterator[Problem]:
    """The service's container sets every variable production needs, and none the service never reads."""
    if not is_the_service(document, run) or (found := app_container(document)) is None:
        return
    at, container = found
    names = [e.get("name") for e in container.get("env") or []]
    values = env_values(container)
    for position, name in enumerate(names):
        if name not in service_env_names():
            yield problem(
                f"env {name} is not read by the service (service/config.py, service/__main__.py)",
                *at, "env", position,
            )  # fmt: skip
    for name in sorted(REQUIRED_SERVICE_ENV - set(names)):
        yield problem(f"env {name} is missing: production mode refuses to start without it", *at, "env")
    if values.get("NODE_ENV") != "production":
        yield problem("NODE_ENV must be 'production'", *at, "env")
    if values.get("HOST") != "0.0.0.0":
        yield problem("HOST must be 0.0.0.0 (the service binds 127.0.0.1 by default)", *at, "env")


@check("kubernetes", "env-references")
def env_references(document: Document, run: Run) -> Iterator[Problem]:
    """Every secretKeyRef and configMapKeyRef names a key its Secret or ConfigMap provides (when that
    object is in the run)."""
    provided: dict[tuple[str, str], set[str]] = {}
    for source in run.objects("Secret", "ConfigMap"):
        data = (source.get("data") or {}) | (source.get("stringData") or {})
        provided[(source.api_kind[1] if source.api_kind else "", source.name)] = set(data)
    for at, container in containers(document):
        for position, entry in enumerate(container.get("env") or []):
            for ref_kind, object_kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
                ref = (entry.get("valueFrom") or {}).get(ref_kind)
                keys = provided.get((object_kind, str((ref or {}).get("name"))))
                if ref is None or keys is None or ref.get("optional"):
                    continue
                if ref.get("key") not in keys:
                    yield problem(
                        f"env {entry.get('name')} reads {ref_kind} {ref.get('name')}/{ref.get('key')}, "
                        f"which that {object_kind} does not provide",
                        *at, "env", position,
                    )  # fmt: skip


@check("kubernetes", "service-pod")
def service_pod(document: Document, run: Run) -> Iterator[Problem]:
    """The service's pods: at least the minimum replicas, no API token mounted, /tmp an emptyDir."""
    if not is_the_service(document, run):
        return
    pod = ("spec", "template", "spec")
    replicas = document.get("spec", "replicas", default=1)
    if replicas < run.facts.min_replicas:
        yield problem(f"replicas {replicas} is below {run.facts.min_replicas}", "spec", "replicas")
    if document.get(*pod, "automountServiceAccountToken") is not False:
        yield problem("automountServiceAccountToken must be false (the service never calls the API)", *pod)
    found = app_container(document)
    if found is None:
        return
    at, container = found
    volumes = {v.get("name"): v for v in document.get(*pod, "volumes", default=[]) or []}
    tmp = [m for m in container.get("volumeMounts") or [] if m.get("mountPath") == "/tmp"]
    if not tmp or "emptyDir" not in volumes.get(tmp[0].get("name"), {}):
        yield problem("/tmp must be an emptyDir (the root filesystem is read-only)", *at)


def _count(value: Any, replicas: int) -> int:
    """A PodDisruptionBudget figure as pods: percentages round up, as the disruption controller does."""
    text = str(value)
    if text.endswith("%"):
        return -(-replicas * int(text.rstrip("%")) // 100)
    return int(value)


@check("kubernetes", "disruption-budget")
def disruption_budget(document: Document, run: Run) -> Iterator[Problem]:
    """A PodDisruptionBudget selects a Deployment of the run, and keeps the service's availability floor."""
    if document.api_kind is None or document.api_kind[1] != "PodDisruptionBudget":
        return
    spec = document.get("spec") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    deployments = run.objects("Deployment")
    selected = [
        d for d in deployments if matches(selector, d.get("spec", "template", "metadata", "labels") or {})
    ]
    if deployments and not selected:
        yield problem(
            f"selector {selector} selects the pods of no Deployment in this run", "spec", "selector"
        )
    for deployment in selected:
        replicas = int(deployment.get("spec", "replicas", default=1))
        if "minAvailable" in spec:
            kept = _count(spec["minAvailable"], replicas)
        elif "maxUnavailable" in spec:
            kept = replicas - _count(spec["maxUnavailable"], replicas)
        else:
            kept = 0
        floor = run.facts.min_available if is_the_service(deployment, run) else 1
        if kept < floor:
            yield problem(
                f"keeps {kept} of {deployment.name}'s {replicas} pods, must keep at least {floor}", "spec"
            )


@check("kubernetes", "autoscaler")
def autoscaler(document: Document, run: Run) -> Iterator[Problem]:
    """A HorizontalPodAutoscaler scales a workload of the run and never below the service's minimum."""
    if document.api_kind is None or document.api_kind[1] != "HorizontalPodAutoscaler":
        return
    spec = document.get("spec") or {}
    low = int(spec.get("minReplicas", 1))
    if int(spec.get("maxReplicas", 0)) < low:
        yield problem("maxReplicas is below minReplicas", "spec", "maxReplicas")
    target = spec.get("scaleTargetRef") or {}
    scaled = [d for d in run.objects(str(target.get("kind"))) if d.name == target.get("name")]
    if run.objects("Deployment") and not scaled:
        yield problem(
            f"scales {target.get('kind')} {target.get('name')}, which is not in this run",
            "spec",
            "scaleTargetRef",
        )
    if any(is_the_service(d, run) for d in scaled) and low < run.facts.min_replicas:
        yield problem(f"minReplicas {low} is below {run.facts.min_replicas}", "spec", "minReplicas")


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


def runs_mongodump(document: Document) -> bool:
    return "mongodump" in json.dumps([[c.get("command"), c.get("args")] for _, c in containers(document)])


def worst_backup_age_seconds(cronjob: Document) -> int:
    """How old the newest complete backup can be: the longest gap, a late start, the longest run."""
    spec = cronjob.get("spec") or {}
    return (
        schedule_interval_seconds(str(spec.get("schedule")))
        + int(spec.get("startingDeadlineSeconds", 0))
        + int(cronjob.get("spec", "jobTemplate", "spec", "activeDeadlineSeconds", default=0))
    )


@check("kubernetes", "backup-schedule")
def backup_schedule(document: Document, run: Run) -> Iterator[Problem]:
    """A CronJob running mongodump holds the database RPO (harness/objectives.yaml): its longest gap,
    plus a late start, plus the longest run, never leave the newest backup older than the RPO."""
    if document.api_kind is None or document.api_kind[1] != "CronJob" or not runs_mongodump(document):
        return
    rpo = int(run.facts.disaster_recovery.rpo_seconds["database"])
    spec = document.get("spec") or {}
    interval = schedule_interval_seconds(str(spec.get("schedule")))
    start = int(spec.get("startingDeadlineSeconds", 0))
    active = int(document.get("spec", "jobTemplate", "spec", "activeDeadlineSeconds", default=0))
    if interval > rpo:
        yield problem(
            f"backup schedule {spec.get('schedule')!r} leaves up to {interval}s between backups; "
            f"the database RPO is {rpo}s",
            "spec", "schedule",
        )  # fmt: skip
    if not start:
        yield problem("startingDeadlineSeconds is unset: a late backup may start any time later", "spec")
    if not active:
        yield problem(
            "jobTemplate activeDeadlineSeconds is unset: a hung backup holds the RPO hostage",
            "spec",
            "jobTemplate",
        )
    if interval + start + active > rpo:
        yield problem(
            f"interval {interval}s + startingDeadlineSeconds {start}s + activeDeadlineSeconds {active}s "
            f"= {interval + start + active}s exceeds the RPO of {rpo}s",
            "spec", "schedule",
        )  # fmt: skip
    if spec.get("concurrencyPolicy") != "Forbid":
        yield problem("concurrencyPolicy must be Forbid (overlapping dumps)", "spec")
    annotations = document.get("spec", "jobTemplate", "spec", "template", "metadata", "annotations") or {}
    if annotations.get("sidecar.istio.io/inject") != "false":
        yield problem(
            "backup pods need sidecar.istio.io/inject: 'false' (a sidecar never exits, nor does the Job)",
            "spec", "jobTemplate", "spec", "template",
        )  # fmt: skip


@check("kubernetes", "service-monitor")
def service_monitor(document: Document, run: Run) -> Iterator[Problem]:
    """A ServiceMonitor selects a Service of the run, by a named port of it, at /metrics."""
    if document.api_kind is None or document.api_kind[1] != "ServiceMonitor":
        return
    selector = document.get("spec", "selector", "matchLabels") or {}
    services = run.objects("Service")
    selected = [s for s in services if matches(selector, s.get("metadata", "labels") or {})]
    if services and not selected:
        yield problem(f"selector {selector} selects no Service in this run", "spec", "selector")
    ports = {p.get("name") for s in selected for p in s.get("spec", "ports") or []}
    for position, endpoint in enumerate(document.get("spec", "endpoints") or []):
        if selected and endpoint.get("port") not in ports:
            yield problem(
                f"port {endpoint.get('port')!r} is not a named port of the Service",
                "spec", "endpoints", position, "port",
            )  # fmt: skip
        if endpoint.get("path", "/metrics") != "/metrics":
            yield problem(
                f"scrapes {endpoint.get('path')!r}, not /metrics", "spec", "endpoints", position, "path"
            )
