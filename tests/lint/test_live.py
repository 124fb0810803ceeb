"""Live mode against a real Prometheus (the Debian `prometheus` binary, scraping itself every second):
a series it has passes, a metric it has under other labels and a metric it never scraped are findings.
Takes about 5 s: Prometheus's start and its first scrapes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.clients.prometheus import Prometheus
from harness.lint.run import Options
from stack.processes import Part, free_port, http_ok, require_binary, wait_until
from tests.lint.helpers import SEED, of, run
from tronops import cli


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    config = folder / "prometheus.yml"
    config.write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [
            {"job_name": "prometheus", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}
        ],
    }))  # fmt: skip
    ready = f"http://127.0.0.1:{port}/-/ready"
    part = Part(
        "prometheus",
        [require_binary("prometheus", "prometheus"), f"--config.file={config}",
         f"--storage.tsdb.path={folder / 'data'}", f"--web.listen-address=127.0.0.1:{port}"],
        folder / "prometheus.log",
        lambda: http_ok(ready),
    ).start()  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: bool(Prometheus(url).query('up{job="prometheus"}')), 30, "Prometheus's first scrape"
        )
        yield url
    finally:
        part.stop()


def test_every_series_read_must_exist(prometheus: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [
        {"record": "job:up:sum", "expr": 'sum by (job) (up{job="prometheus"})'},
        {"alert": "Present", "expr": "job:up:sum < 1"},
        {"alert": "OtherLabels", "expr": 'up{job="tron-payment-service"} == 0'},
        {"alert": "NeverScraped", "expr": "tron_devnet_up == 0"},
    ]}]}))  # fmt: skip
    findings = of(run(rules, options=Options(prometheus=prometheus)).findings, "live-series")
    messages = sorted(f.message for f in findings)
    assert messages == [
        f"tron_devnet_up is not in {prometheus}: nothing is scraped under that name",
        f'up is in {prometheus}, but no series matches up{{job="tron-payment-service"}}',
    ]
    lines = rules.read_text().splitlines()
    assert all("expr:" in lines[f.line - 1] for f in findings)  # each on its alert's expr


def test_a_dashboards_panels_are_asked_for_too(prometheus: str) -> None:
    findings = of(
        run(SEED / "dashboard.json", options=Options(prometheus=prometheus)).findings, "live-series"
    )
    assert any("http_requests_total is not in" in f.message for f in findings)
    assert any("tron_network_status is not in" in f.message for f in findings)


def test_an_unreachable_prometheus_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit:
        cli.main(
            ["lint", "--prometheus", f"http://127.0.0.1:{free_port()}", str(SEED / "tron-payment-rules.yml")]
        )
    assert exit.value.code == 2
    assert "cannot query Prometheus" in capsys.readouterr().err
