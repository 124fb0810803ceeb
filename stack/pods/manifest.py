"""What the pod supervisor takes from a Kubernetes Deployment manifest: replicas, probes, shutdown.

Read: replicas, the first container's port, its startup, liveness and readiness probes (httpGet),
a preStop hook that sleeps, terminationGracePeriodSeconds, and the durations its env declares
(`value`s of variables named *_SECONDS: the container's own shutdown timings, which must fit in the
grace period and so are scaled with it). Where the manifest is silent,
Kubernetes' defaults apply (periodSeconds 10, timeoutSeconds 1, successThreshold 1, failureThreshold
3, initialDelaySeconds 0, terminationGracePeriodSeconds 30). What the supervisor cannot honour (exec
or tcpSocket probes, other preStop hooks) is refused with the field's path, never ignored.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Kubernetes' rand.SafeEncodeString alphabet: no vowels (no words), no 0/1/3 (look like o/l/e).
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


class ManifestError(ValueError):
    """The manifest is missing something the supervisor needs, or asks for what it cannot do."""


@dataclass(frozen=True)
class Probe:
    """An httpGet probe; times in seconds."""

    path: str
    initial_delay: float
    period: float
    timeout: float
    success_threshold: int
    failure_threshold: int

    def scaled(self, factor: float) -> Probe:
        return dataclasses.replace(
            self,
            initial_delay=self.initial_delay * factor,
            period=self.period * factor,
            timeout=self.timeout * factor,
        )


@dataclass(frozen=True)
class Deployment:
    name: str
    namespace: str
    labels: Mapping[str, str]
    replicas: int
    container_port: int
    template_hash: str
    startup: Probe | None
    liveness: Probe | None
    readiness: Probe | None
    pre_stop_sleep: float
    termination_grace: float
    durations_env: Mapping[str, float]  # the container's env values named *_SECONDS
    source: Path

    def startup_allowance(self) -> float:
        """Seconds a container may take to first answer before a probe has it killed (inf: never).

        Scaling shrinks this too, but not the real start time of the process: keep it above that.
        """
        probe = self.startup or self.liveness
        if probe is None:
            return math.inf
        return probe.initial_delay + (probe.failure_threshold - 1) * probe.period

    def scaled(self, factor: float) -> Deployment:
        """Every probe timing, shutdown delay and declared duration times `factor` (0.1: ten times
        faster). The durations too, or a container draining for its declared time would outlast a
        scaled grace period and be killed where Kubernetes would let it finish."""
        return dataclasses.replace(
            self,
            startup=self.startup.scaled(factor) if self.startup else None,
            liveness=self.liveness.scaled(factor) if self.liveness else None,
            readiness=self.readiness.scaled(factor) if self.readiness else None,
            pre_stop_sleep=self.pre_stop_sleep * factor,
            termination_grace=self.termination_grace * factor,
            durations_env={name: seconds * factor for name, seconds in self.durations_env.items()},
        )

    def container_env(self) -> dict[str, str]:
        """The declared durations as the container's environment sees them."""
        return {name: f"{seconds:g}" for name, seconds in self.durations_env.items()}

    def new_pod_name(self, rng: random.Random) -> str:
        """`<deployment>-<pod-template-hash>-<5 safe characters>`, as a ReplicaSet names its pods."""
        return f"{self.name}-{self.template_hash}-{''.join(rng.choices(SAFE_ALPHABET, k=5))}"


def load_deployment(path: Path) -> Deployment:
    try:
        documents = list(yaml.safe_load_all(path.read_text()))
    except (OSError, yaml.YAMLError) as exc:
        raise ManifestError(f"cannot read {path}: {exc}") from exc
    deployment = next((d for d in documents if isinstance(d, dict) and d.get("kind") == "Deployment"), None)
    if deployment is None:
        raise ManifestError(f"{path} holds no `kind: Deployment` document")
    where = _Where(path)
    metadata = where.mapping(deployment, "metadata")
    spec = where.mapping(deployment, "spec")
    template = where.mapping(spec, "spec.template")
    pod_spec = where.mapping(template, "spec.template.spec")
    containers = pod_spec.get("containers")
    if not isinstance(containers, list) or not containers or not isinstance(containers[0], dict):
        raise ManifestError(f"{path}: spec.template.spec.containers must list at least one container")
    container: dict[str, Any] = containers[0]
    ports = container.get("ports") or []
    if not ports or not isinstance(ports[0], dict) or not isinstance(ports[0].get("containerPort"), int):
        raise ManifestError(f"{path}: spec.template.spec.containers[0].ports[0].containerPort is required")
    port_names = {p.get("name"): p["containerPort"] for p in ports if isinstance(p, dict)}
    base = "spec.template.spec.containers[0]"
    startup = where.probe(container, f"{base}.startupProbe", port_names)
    liveness = where.probe(container, f"{base}.livenessProbe", port_names)
    for key, probe in (("startupProbe", startup), ("livenessProbe", liveness)):
        if probe is not None and probe.success_threshold != 1:
            raise ManifestError(f"{path}: {base}.{key}.successThreshold must be 1 (as Kubernetes requires)")
    labels = metadata.get("labels") or {}
    return Deployment(
        name=str(where.required(metadata, "metadata", "name")),
        namespace=str(metadata.get("namespace", "default")),
        labels={str(k): str(v) for k, v in labels.items()},
        replicas=where.number(spec, "spec", "replicas", 1, minimum=0),
        container_port=ports[0]["containerPort"],
        template_hash=_template_hash(template),
        startup=startup,
        liveness=liveness,
        readiness=where.probe(container, f"{base}.readinessProbe", port_names),
        pre_stop_sleep=where.pre_stop_sleep(container, f"{base}.lifecycle.preStop"),
        termination_grace=where.number(pod_spec, "spec.template.spec", "terminationGracePeriodSeconds", 30),
        durations_env=where.durations_env(container, f"{base}.env"),
        source=path,
    )


def _template_hash(template: Mapping[str, Any]) -> str:
    """Stable while the pod template is unchanged, like a ReplicaSet's pod-template-hash."""
    return hashlib.sha256(json.dumps(template, sort_keys=True, default=str).encode()).hexdigest()[:10]


@dataclass(frozen=True)
class _Where:
    """Reads fields, naming the file and the field's path in every error."""

    path: Path

    def required(self, mapping: Mapping[str, Any], at: str, key: str) -> Any:
        if key not in mapping:
            raise ManifestError(f"{self.path}: {at}.{key} is required")
        return mapping[key]

    def mapping(self, parent: Mapping[str, Any], at: str) -> dict[str, Any]:
        """The mapping at path `at`, whose last segment is its key in `parent`."""
        value = parent.get(at.rsplit(".", 1)[-1])
        if not isinstance(value, dict):
            raise ManifestError(f"{self.path}: {at} must be a mapping")
        return value

    def number(self, mapping: Mapping[str, Any], at: str, key: str, default: int, minimum: int = 0) -> int:
        value = mapping.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise ManifestError(f"{self.path}: {at}.{key} must be an integer >= {minimum}, not {value!r}")
        return value

    def probe(self, container: Mapping[str, Any], at: str, port_names: Mapping[Any, int]) -> Probe | None:
        probe = container.get(at.rsplit(".", 1)[-1])
        if probe is None:
            return None
        if not isinstance(probe, dict) or not isinstance(probe.get("httpGet"), dict):
            raise ManifestError(
                f"{self.path}: {at} must be an httpGet probe (exec and tcpSocket are not run here)"
            )
        http_get = probe["httpGet"]
        if str(http_get.get("scheme", "HTTP")).upper() != "HTTP":
            raise ManifestError(f"{self.path}: {at}.httpGet.scheme must be HTTP here")
        port = self.required(http_get, f"{at}.httpGet", "port")
        if port not in port_names and port not in port_names.values():
            raise ManifestError(
                f"{self.path}: {at}.httpGet.port {port!r} is not a port of the container "
                f"(ports: {sorted(str(p) for p in [*port_names.values(), *port_names] if p)})"
            )
        path = str(http_get.get("path", "/"))
        return Probe(
            path=path if path.startswith("/") else f"/{path}",
            initial_delay=self.number(probe, at, "initialDelaySeconds", 0),
            period=self.number(probe, at, "periodSeconds", 10, minimum=1),
            timeout=self.number(probe, at, "timeoutSeconds", 1, minimum=1),
            success_threshold=self.number(probe, at, "successThreshold", 1, minimum=1),
            failure_threshold=self.number(probe, at, "failureThreshold", 3, minimum=1),
        )

    def durations_env(self, container: Mapping[str, Any], at: str) -> dict[str, float]:
        """Seconds, by name, of the env entries named *_SECONDS that set a `value`."""
        durations = {}
        for index, entry in enumerate(container.get("env") or []):
            name = entry.get("name", "") if isinstance(entry, dict) else ""
            if not str(name).endswith("_SECONDS") or "value" not in entry:
                continue
            try:
                durations[str(name)] = float(entry["value"])
            except (TypeError, ValueError):
                raise ManifestError(
                    f"{self.path}: {at}[{index}] ({name}) must be a number of seconds, not {entry['value']!r}"
                ) from None
        return durations

    def pre_stop_sleep(self, container: Mapping[str, Any], at: str) -> float:
        """Seconds a preStop hook waits: `sleep: {seconds: N}` or `exec: {command: [sleep, N]}`."""
        hook = (container.get("lifecycle") or {}).get("preStop")
        if hook is None:
            return 0.0
        if isinstance(hook, dict) and isinstance(hook.get("sleep"), dict):
            return float(self.number(hook["sleep"], f"{at}.sleep", "seconds", 0))
        command = hook.get("exec", {}).get("command") if isinstance(hook, dict) else None
        if isinstance(command, list) and len(command) == 2 and Path(str(command[0])).name == "sleep":
            with contextlib.suppress(ValueError):
                return float(command[1])
        raise ManifestError(
            f"{self.path}: {at} must sleep (exec [sleep, N] or sleep.seconds) to run here, not {hook!r}"
        )
