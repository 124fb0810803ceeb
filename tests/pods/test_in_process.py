"""The Supervisor class used inside the test process, without the CLI or the HTTP API."""

from __future__ import annotations

from pathlib import Path

from stack.local import Backends
from stack.pods.manifest import load_deployment
from stack.pods.supervisor import Supervisor
from tests.pods.harness import DEPLOYMENT, TIME_SCALE, gone


def test_start_wait_ready_and_stop_in_process(backends: Backends, tmp_path: Path) -> None:
    supervisor = Supervisor(
        load_deployment(DEPLOYMENT), backends.service_env(), tmp_path, replicas=1, time_scale=TIME_SCALE
    )
    supervisor.start()
    try:
        assert supervisor.wait_ready(30), supervisor.views()
        [pod] = supervisor.views()
        assert supervisor.endpoints() == [{"name": pod["name"], "url": pod["url"]}]
    finally:
        supervisor.stop()
    assert gone(pod["pid"]) and supervisor.endpoints() == []
