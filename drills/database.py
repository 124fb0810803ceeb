"""Which database a backup command acts on, and how to reach it: the deployment's own settings
(MONGODB_URI / MONGODB_DB as the service reads them, the database name from deploy/'s ConfigMap), or
the local stack's store."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from harness.objectives import REPO

CONFIGMAP = REPO / "deploy" / "k8s" / "configmap.yaml"


@cache
def default_database() -> str:
    """MONGODB_DB, else the ConfigMap's (the name the deployment gives the service)."""
    if name := os.environ.get("MONGODB_DB"):
        return name
    data: dict[str, Any] = yaml.safe_load(CONFIGMAP.read_text())["data"]
    return str(data["MONGODB_DB"])


def store_uri(stack_dir: Path) -> str:
    """MONGODB_URI, else the local stack's store; raises harness.target.TargetError when neither."""
    if uri := os.environ.get("MONGODB_URI"):
        return uri
    from harness.target import StackState

    return StackState.read(stack_dir).url("store")


def service_name() -> str:
    from harness.objectives import load

    return load().identity.app
