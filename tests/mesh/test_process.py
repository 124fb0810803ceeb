"""The mesh as a program: its ready line, clear errors at start, HTTP/1.1 towards clients (keep-alive,
pipelining, HTTP/1.0, 100-continue, HEAD, malformed requests) and the Istio metrics it exports."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from harness.waiting import wait_for
from stack.mesh.metrics import ISTIO_BUCKETS
from stack.processes import mesh_command
from tests.mesh.mesh_process import REPO, Mesh, route, virtual_service, write_config
from tests.mesh.scripted_upstream import Answer, ScriptedUpstream

MeshFactory = Callable[..., Mesh]
UpstreamFactory = Callable[..., ScriptedUpstream]
START_TIMEOUT = 30.0


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _exchange(url: str, data: bytes) -> bytes:
    """Send raw bytes to the mesh and read until it closes the connection."""
    with _connect(url) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            mesh_command(f"127.0.0.1:{port}", "127.0.0.1:0", endpoints=[("a", "http://127.0.0.1:9")]),
            cwd=REPO, capture_output=True, text=True, timeout=START_TIMEOUT,
        )  # fmt: skip
    assert done.returncode == 1
    assert f"cannot listen for proxy on 127.0.0.1:{port}" in done.stderr and "in use" in done.stderr
    assert done.stdout == ""  # no ready line


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    vs = write_config(virtual_service(route("r", mirror={"host": "x"})), tmp_path / "vs.yaml")
    done = subprocess.run(
        mesh_command("127.0.0.1:0", "127.0.0.1:0", virtual_service=vs, endpoints=[("a", "http://127.0.0.1:9")]),
        cwd=REPO, capture_output=True, text=True, timeout=START_TIMEOUT,
    )  # fmt: skip
    assert done.returncode == 1
    assert "mirror not implemented by the local mesh" in done.stderr


def test_sigint_stops_cleanly(mesh: MeshFactory, upstream: UpstreamFactory) -> None:
    m = mesh(endpoints=[("pod-0", upstream("pod-0").url)])
    assert m.http.get("/health/live").status_code == 200
    m.process.send_signal(signal.SIGINT)
    assert m.process.wait(15) == 0


def test_sigterm_lets_requests_in_flight_finish(mesh: MeshFactory, upstream: UpstreamFactory) -> None:
    pod = upstream("slow", lambda seen: Answer(200, b"finished", delay=0.5))
    m = mesh(endpoints=[("slow", pod.url)])
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(m.http.get, "/api/v1/tron/network/info")
        wait_for(lambda: pod.hits == 1, 5.0, "the request to reach the pod")
        m.process.send_signal(signal.SIGTERM)
        assert pending.result(10).text == "finished"
    assert m.process.wait(15) == 0


def test_client_side_http11(mesh: MeshFactory, upstream: UpstreamFactory) -> None:
    pod = upstream("pod-0", lambda seen: Answer(200, b"hello", headers={"content-type": "text/plain"}))
    m = mesh(endpoints=[("pod-0", pod.url)])
    # Keep-alive and pipelining: two requests in one write, answered in order on one connection.
    raw = _exchange(
        m.url, b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert raw.count(b"HTTP/1.1 200 OK\r\n") == 2 and raw.endswith(b"hello")
    assert [s.path for s in pod.seen] == ["/a", "/b"]
    # HTTP/1.0 without keep-alive: one answer, then the mesh closes.
    raw = _exchange(m.url, b"GET /c HTTP/1.0\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n") and b"connection: close\r\n" in raw.lower()
    # Expect: 100-continue: the mesh says continue, then the client sends the body.
    with _connect(m.url) as sock:
        sock.sendall(b"POST /d HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hi")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
    assert pod.seen[-1].body == b"hi" and "expect" not in pod.seen[-1].headers
    # HEAD: the length of the body it would have had, and no body.
    head = m.http.head("/e")
    assert head.status_code == 200 and head.headers["content-length"] == "5" and head.content == b""
    # A malformed request: 400 and the connection closes.
    raw = _exchange(m.url, b"GET /f HTTP/1.1\r\nbad header line\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    # One keep-alive client for many requests.
    assert all(m.http.get(f"/g{i}").status_code == 200 for i in range(20))


def test_istio_metrics(mesh: MeshFactory, upstream: UpstreamFactory) -> None:
    m = mesh(endpoints=[("pod-0", upstream("pod-0").url)])
    for _ in range(3):
        m.http.get("/api/v1/usdt/balance/T1")
    families = {f.name: f for f in text_string_to_metric_families(m.admin.get("/metrics").text)}
    (sample,) = [s for s in families["istio_requests"].samples if s.name == "istio_requests_total"]
    assert sample.value == 3
    assert sample.labels == {
        "reporter": "destination",
        "source_workload": "unknown",
        "destination_workload": "tron-payment-service",
        "destination_service": "tron-payment-service.lucid-payment.svc.cluster.local",
        "destination_service_name": "tron-payment-service",
        "request_protocol": "http",
        "response_code": "200",
        "response_flags": "-",
        "route_name": "usdt-retryable",
    }
    histogram = families["istio_request_duration_milliseconds"]
    bounds = [float(s.labels["le"]) for s in histogram.samples if s.name.endswith("_bucket")]
    assert bounds == [*map(float, ISTIO_BUCKETS), float("inf")]
    count = [s for s in histogram.samples if s.name.endswith("_count")]
    assert count[0].value == 3 and count[0].labels["route_name"] == "usdt-retryable"
    assert m.metric("tron_mesh_endpoint_ejected", endpoint="pod-0") == 0
