"""The monitoring configs: generated from one source, up to date, and valid to the real tools."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from stack import monitoring
from stack.processes import REPO


def test_compose_configs_are_up_to_date() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "stack.monitoring", "--check"], capture_output=True, text=True, cwd=REPO
    )
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize(("tool", "args"), [("promtool", ["check", "config"]), ("amtool", ["check-config"])])
@pytest.mark.parametrize("profile", ["compose", "local"])
def test_configs_pass_the_real_checkers(tool: str, args: list[str], profile: str, tmp_path: Path) -> None:
    binary = shutil.which(tool)
    if binary is None:
        pytest.skip(f"{tool} is not installed (make setup installs prometheus and prometheus-alertmanager)")
    if tool == "promtool":
        config = monitoring.prometheus_config(
            pods={"http_sd_configs": [{"url": "http://127.0.0.1:1/sd"}]}
            if profile == "local"
            else {"dns_sd_configs": [{"names": ["tron-payment-service"], "type": "A", "port": 8085}]},
            mesh="127.0.0.1:15000" if profile == "local" else None,
            devnet="127.0.0.1:8090",
            alertmanager="127.0.0.1:9093",
            rule_files=[],
            self_target="127.0.0.1:9090",
            intervals=monitoring.LOCAL if profile == "local" else monitoring.PRODUCTION,
        )
    else:
        config = monitoring.alertmanager_config(
            "http://127.0.0.1:9095/webhook", monitoring.LOCAL if profile == "local" else monitoring.PRODUCTION
        )
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config))
    done = subprocess.run([binary, *args, str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
