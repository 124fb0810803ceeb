"""A pod killed again and again comes back later each time: kubelet's CrashLoopBackOff, scaled."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from harness.waiting import wait_for
from stack.pods.backoff import INITIAL_SECONDS
from tests.pods.harness import TIME_SCALE, Pods, launch, stop


@pytest.fixture
def own_pods(env_file: Path, tmp_path: Path) -> Iterator[Pods]:
    pods = launch(tmp_path, env_file)  # its own: the back-off history must start empty
    yield pods
    assert stop(pods) == 0, pods.log_tail()


def new_container(pods: Pods, name: str, old_pid: int) -> dict[str, Any] | None:
    pod = pods.pod(name)
    return pod if pod["pid"] not in (None, old_pid) else None


def test_restarts_come_at_once_then_after_10_then_20_seconds_scaled(own_pods: Pods) -> None:
    name = own_pods.pods()[0]["name"]
    gaps = []
    for kills in range(3):
        pid = own_pods.pod(name)["pid"]
        own_pods.kill(f"/pods/{name}/kill")
        if kills:  # after the first failure the pod waits, and says so
            wait_for(
                lambda: own_pods.pod(name)["phase"] == "CrashLoopBackOff", timeout=1, what="CrashLoopBackOff"
            )
        pod = wait_for(
            functools.partial(new_container, own_pods, name, pid),
            timeout=15,
            what=f"a new container of {name}",
        )
        ended = datetime.fromisoformat(pod["last_termination"]["at"])
        gaps.append((datetime.fromisoformat(pod["started_at"]) - ended).total_seconds())
    step = INITIAL_SECONDS * TIME_SCALE
    expected = [0.0, step, 2 * step]  # the first restart is immediate, as kubelet's
    for gap, want in zip(gaps, expected, strict=True):
        assert want - 0.05 <= gap <= want + 0.75, f"restart gaps {gaps}, expected about {expected}"
    assert own_pods.pod(name)["restarts"] == 3
