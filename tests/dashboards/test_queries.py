"""What the trickier panel queries compute, on made-up series, evaluated by Prometheus's own promtool."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.expressions import expand, variable_values

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool (Debian package prometheus) is not installed"
)
POD_A = 'job="tron-payment-service", instance="a"'
POD_B = 'job="tron-payment-service", instance="b"'


@dataclass(frozen=True)
class Case:
    title: str
    series: dict[str, str]  # series -> promtool's expanding notation of its values
    eval_time: str  # promtool evaluates on its 1m evaluation grid
    expected: dict[str, float]  # labels -> value
    interval: str = "15s"


CASES = {
    "network status is the worst pod's": Case(
        "TRON network status",
        {
            f'tron_network_status{{{POD_A}, status="healthy"}}': "1 1",
            f'tron_network_status{{{POD_A}, status="degraded"}}': "0 0",
            f'tron_network_status{{{POD_A}, status="down"}}': "0 0",
            f'tron_network_status{{{POD_B}, status="healthy"}}': "0 0",
            f'tron_network_status{{{POD_B}, status="degraded"}}': "1 0",
            f'tron_network_status{{{POD_B}, status="down"}}': "0 1",
        },
        "1m",
        {"{}": 2},  # "Down", once pod b reports it
        interval="1m",
    ),
    "error ratio is 5xx over all requests": Case(
        "Error ratio (5xx)",
        {
            # 1/s of 5xx and 9/s of 2xx to the API; the scrapes' errors are not the API's.
            f'http_requests_total{{{POD_A}, route="/api/v1/payouts", status="500"}}': "0+15x20",
            f'http_requests_total{{{POD_B}, route="/api/v1/payouts", status="202"}}': "0+135x20",
            f'http_requests_total{{{POD_B}, route="/metrics", status="500"}}': "0+150x20",
        },
        "5m",
        {"{}": 0.1},
    ),
    "queue depth is not added up over replicas": Case(
        "Payout queue depth",
        {
            f'tron_payout_queue_depth{{{POD_A}, priority="high"}}': "5",
            f'tron_payout_queue_depth{{{POD_B}, priority="high"}}': "5",
        },
        "0s",
        {'{priority="high"}': 5},
    ),
    "budget remaining skips slices without traffic": Case(
        "SLO: availability error budget remaining",
        {'slo:sli_error:ratio_rate5m{slo="api-availability"}': "0.0005 NaN 0.0005 NaN 0.0005"},
        "20m",
        {'{slo="api-availability"}': 0.5},
        interval="5m",
    ),
}


def _first_query(dashboard: dict[str, Any], title: str) -> str:
    (panel,) = [p for p in dashboard["panels"] if p["title"] == title]
    expr, undefined = expand(panel["targets"][0]["expr"], variable_values(dashboard["templating"]["list"]))
    assert not undefined
    return expr


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_query(dashboard: dict[str, Any], case: Case, tmp_path: Path) -> None:
    test = {
        "interval": case.interval,
        "input_series": [{"series": s, "values": v} for s, v in case.series.items()],
        "promql_expr_test": [
            {
                "expr": _first_query(dashboard, case.title),
                "eval_time": case.eval_time,
                "exp_samples": [
                    {"labels": labels, "value": value} for labels, value in case.expected.items()
                ],
            }
        ],
    }
    path = tmp_path / "test.yaml"
    path.write_text(yaml.safe_dump({"tests": [test]}))
    run = subprocess.run(
        [str(PROMTOOL), "test", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stdout + run.stderr
