"""`tronops chaos run EXPERIMENT --load PROFILE`: the Locust profile runs through the whole experiment,
its own summary and HTML land beside the experiment's, and the service saw its requests. One pod
killed (fault held 20 s) under the smoke profile (8 users); about 70 s."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.clients.prometheus import Prometheus
from tests.chaos.live import LiveStack, live_stack, run_to_end

EXPERIMENT = "03-one-pod-killed"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    yield from live_stack(tmp_path_factory.mktemp("chaos-load"))


def test_the_load_runs_through_the_experiment_and_is_served(stack: LiveStack, tmp_path: Path) -> None:
    done = run_to_end(stack, EXPERIMENT, tmp_path, ("--load", "smoke"))
    assert done.code == 0, done
    assert f"{EXPERIMENT}: held" in done.stdout and "load: " in done.stdout
    assert "[load] load smoke against the local stack" in done.stderr

    summary = json.loads((tmp_path / EXPERIMENT / "summary.json").read_text())
    (phase,) = [p for p in summary["phases"] if p["name"] == "load"]
    (step,) = phase["steps"]
    assert "error" not in step, step
    carried = step["measured"]["requests"]
    assert carried > 100, step
    beside = tmp_path / EXPERIMENT / "load"
    assert summary["artefacts"]["load_summary"] == str(beside / "summary.json")
    assert summary["artefacts"]["load_html"] == str(beside / "locust.html")
    load_summary = json.loads((beside / "summary.json").read_text())
    assert load_summary["kind"] == "load" and load_summary["name"] == "smoke"
    assert "<html" in (beside / "locust.html").read_text()[:2000].lower()
    results = json.loads((beside / "results.json").read_text())
    assert results["aborted"] is None, "errors under a fault never stop the load"
    assert results["seconds"] >= 0.8 * summary_seconds(summary), "the load ran through the experiment"

    # The service's own counter over the run saw at least the load's requests (increase()
    # extrapolates at the window's edges: a tenth of slack).
    seconds = int(summary_seconds(summary)) + 10
    served = Prometheus(stack.state.url("prometheus")).query(
        f'sum(increase(http_requests_total{{route=~"/api/v1/.*"}}[{seconds}s]))'
    )
    assert float(served[0]["value"][1]) >= 0.9 * carried, (served, carried)


def summary_seconds(summary: dict[str, object]) -> float:
    from datetime import datetime

    started = datetime.fromisoformat(str(summary["started_at"]).replace("Z", "+00:00"))
    ended = datetime.fromisoformat(str(summary["ended_at"]).replace("Z", "+00:00"))
    return (ended - started).total_seconds()
