"""What an experiment acts on, from its Chaos Toolkit `configuration` and `secrets` only, so the same
file runs on either target: `target_file` (a harness target YAML, harness/target.py; empty: the
local stack `tronops up` started, in TRONOPS_STACK_DIR or var/stack), `allow_production`,
`fault_ttl_s`, and the JWT secret to mint tokens (secret `jwt_secret`, else env JWT_SECRET, else the
local stack's)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ActivityFailed

from harness import target as targets
from harness.clients.kubernetes import KubernetesPods
from harness.target import KubernetesTarget, LocalTarget, PodControl, Target, TargetError
from stack.local import LOCAL_SECRETS

DEFAULT_FAULT_TTL_S = 300.0
# Rate windows the steady-state queries use: the local rules' profile divides production windows by 30.
WINDOW = {"local": "10s", "kubernetes": "5m"}


@dataclass(frozen=True)
class Settings:
    target: Target
    jwt_secret: str
    fault_ttl_s: float
    allow_production: bool
    kube_secrets: dict[str, Any]  # handed to chaostoolkit-kubernetes as its `secrets`

    @property
    def window(self) -> str:
        return WINDOW[self.target.kind]

    @property
    def rules_profile(self) -> str:
        """The alert rules the detection times are measured under: `local` scales windows down 30x."""
        return "local" if self.target.kind == "local" else "production"


def settings(configuration: dict[str, Any] | None, secrets: dict[str, Any] | None = None) -> Settings:
    """The settings of one activity; ActivityFailed says what to fix."""
    configuration, secrets = configuration or {}, secrets or {}
    target_file = str(configuration.get("target_file") or "")
    try:
        target: Target = (
            targets.load(Path(target_file))
            if target_file
            else LocalTarget(Path(os.environ.get("TRONOPS_STACK_DIR", targets.DEFAULT_STACK_DIR)))
        )
    except TargetError as error:
        raise ActivityFailed(str(error)) from None
    allow = str(configuration.get("allow_production", "false")).lower() in ("1", "true", "yes")
    if isinstance(target, KubernetesTarget) and target.production and not allow:
        raise ActivityFailed(
            f"{target_file}: the target is marked production; chaos refuses it unless allowed explicitly "
            "(tronops chaos run --allow-production, or configuration allow_production: true)"
        )
    kube = dict(secrets.get("kubernetes") or {})
    if isinstance(target, KubernetesTarget):
        kube.setdefault("KUBERNETES_CONTEXT", target.context)
    return Settings(
        target=target,
        jwt_secret=str(
            secrets.get("jwt_secret") or os.environ.get("JWT_SECRET") or LOCAL_SECRETS["JWT_SECRET"]
        ),
        fault_ttl_s=float(configuration.get("fault_ttl_s") or DEFAULT_FAULT_TTL_S),
        allow_production=allow,
        kube_secrets=kube,
    )


def pod_control(run: Settings) -> PodControl:
    """The target's pods; on Kubernetes connected as chaostoolkit-kubernetes connects (its secrets)."""
    if isinstance(run.target, KubernetesTarget):
        from kubernetes import client  # heavy: only for a cluster

        from chaos.istio import api_client

        api = client.CoreV1Api(api_client(run.kube_secrets))
        return KubernetesPods(run.target.namespace, run.target.selector, api)
    return run.target.pods()


def local(settings_: Settings) -> LocalTarget:
    """The local target, or ActivityFailed naming the activity's need."""
    if not isinstance(settings_.target, LocalTarget):
        raise ActivityFailed("this activity acts on the local stack only")
    return settings_.target
