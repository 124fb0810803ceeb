"""The Supervisor class used inside the test process, without the CLI or the HTTP API."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

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


def test_a_pod_whose_port_is_taken_starts_its_container_on_another(
    backends: Backends, tmp_path: Path
) -> None:
    supervisor = Supervisor(
        load_deployment(DEPLOYMENT), backends.service_env(), tmp_path, replicas=1, time_scale=TIME_SCALE
    )
    [pod] = supervisor.pods
    with socket.socket() as squatter:  # another process's listener, on the port the pod was given
        squatter.bind(("127.0.0.1", pod.port))
        squatter.listen()
        taken = pod.port
        supervisor.start()
        try:
            assert supervisor.wait_ready(30), supervisor.views()
            [view] = supervisor.views()
            assert view["restarts"] == 0 and view["url"] != f"http://127.0.0.1:{taken}", view
            assert supervisor.endpoints() == [{"name": view["name"], "url": view["url"]}]
            assert httpx.get(f"{view['url']}/health/ready").status_code == 200
        finally:
            supervisor.stop()
