"""The mesh as a real child process on free loopback ports, configs written for a test, and readers for
its admin API and metrics."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from stack.processes import mesh_command
from tests.support.ready_line import launch_with_ready_line

REPO = Path(__file__).resolve().parents[2]
PRODUCTION_VS = REPO / "deploy/istio/virtual-service.yaml"
PRODUCTION_DR = REPO / "deploy/istio/destination-rule.yaml"
STOP_TIMEOUT = 15.0
HOST = "tron-payment-service"


def route(name: str, **fields: Any) -> dict[str, Any]:
    """One VirtualService http route to the payment service; `fields` as in Istio (match, timeout, ...)."""
    return {"name": name, "route": [{"destination": {"host": HOST, "port": {"number": 8085}}}], **fields}


def virtual_service(*routes: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "test-vs", "namespace": "lucid-payment"},
        "spec": {"hosts": [HOST], "http": list(routes)},
    }


def destination_rule(**traffic_policy: Any) -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "test-dr", "namespace": "lucid-payment"},
        "spec": {
            "host": HOST,
            "trafficPolicy": {"loadBalancer": {"simple": "ROUND_ROBIN"}, **traffic_policy},
        },
    }


class Mesh:
    def __init__(self, process: subprocess.Popen[str], ready: dict[str, Any], log: Path) -> None:
        self.process = process
        self.log = log
        self.url = f"http://{ready['listen']}"
        self.admin_url = f"http://{ready['admin']}"
        self.http = httpx.Client(base_url=self.url, timeout=30.0)
        self.admin = httpx.Client(base_url=self.admin_url, timeout=10.0)

    def metric(self, sample: str, **labels: str) -> float:
        """The sum of `sample` (e.g. istio_requests_total) over series carrying all of `labels`."""
        text = self.admin.get("/metrics").text
        return sum(
            s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
        )

    def requests(self, **labels: str) -> int:
        return int(self.metric("istio_requests_total", **labels))

    def endpoints(self) -> dict[str, dict[str, Any]]:
        return {ep["name"]: ep for ep in self.admin.get("/endpoints").json()["endpoints"]}

    def stop(self) -> int:
        self.http.close()
        self.admin.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def write_config(document: dict[str, Any] | Path, path: Path) -> Path:
    if isinstance(document, Path):
        return document
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def launch(
    run_dir: Path,
    vs: dict[str, Any] | Path = PRODUCTION_VS,
    dr: dict[str, Any] | Path = PRODUCTION_DR,
    endpoints: list[tuple[str, str]] | None = None,
    endpoints_url: str | None = None,
) -> Mesh:
    argv = mesh_command(
        "127.0.0.1:0",
        "127.0.0.1:0",
        virtual_service=write_config(vs, run_dir / "virtual-service.yaml"),
        destination_rule=write_config(dr, run_dir / "destination-rule.yaml"),
        endpoints_url=endpoints_url,
        endpoints=endpoints or [],
    )
    log = run_dir / "mesh.log"
    process, ready = launch_with_ready_line(argv, "mesh_ready", REPO, log)
    return Mesh(process, ready, log)
