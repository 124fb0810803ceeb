"""Precision: on an upstream whose latencies are scripted, the percentiles a load run reports match the
exact ones of what the generator measured, to the stated precision (1 ms under 100 ms, 1 % above), and
are never faster than the script. Locust's own figures (two significant digits, failures mixed in)
are not what the gates read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.latency import ByGroup, exact_percentile, precision_ms
from stack.processes import REPO
from tests.mesh.scripted_upstream import Answer, ScriptedUpstream, Seen

# One request in a hundred takes each of these: 5..92 ms for most, then a tail to 400 ms, so the
# median, p95 and p99 fall in both precision regimes.
SCRIPT_MS = [5 + k for k in range(0, 90)] + [150, 180, 210, 240, 270, 300, 330, 360, 380, 400]
SECONDS = 8.0


@pytest.fixture
def upstream() -> Iterator[ScriptedUpstream]:
    count = iter(range(10**9))
    lock = threading.Lock()

    def script(_seen: Seen) -> Answer:
        with lock:
            n = next(count)
        return Answer(200, b'{"status":"healthy"}', SCRIPT_MS[(n * 37) % len(SCRIPT_MS)] / 1000)

    scripted = ScriptedUpstream("scripted", script)
    yield scripted
    scripted.stop()


def test_reported_percentiles_are_the_exact_ones(upstream: ScriptedUpstream, tmp_path: Path) -> None:
    results, samples = tmp_path / "results.json", tmp_path / "samples.json"
    env = {
        **os.environ,
        "TRONOPS_LOAD_RESULTS": str(results),
        "PRECISION_SAMPLES": str(samples),
        "PRECISION_SECONDS": str(SECONDS),
    }
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("precision_locustfile.py")),
         "--headless", "-H", upstream.url, "-u", "6", "-r", "6", "--run-time", f"{SECONDS:.0f}s",
         "--only-summary", "--loglevel", "WARNING"],
        capture_output=True, text=True, timeout=60, cwd=REPO, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    measured: list[float] = json.loads(samples.read_text())
    recorded = ByGroup.from_wire(json.loads(results.read_text())["latencies"])["tron"]
    assert recorded.ok == len(measured) > 300 and recorded.failed == 0
    for quantile in (0.5, 0.9, 0.95, 0.99):
        exact = exact_percentile(measured, quantile)
        reported = recorded.percentile(quantile)
        assert reported is not None
        assert abs(reported - exact) <= precision_ms(exact), f"p{quantile * 100:g}: {reported} vs {exact}"
        assert reported >= exact_percentile([float(ms) for ms in SCRIPT_MS], quantile) - 0.05
