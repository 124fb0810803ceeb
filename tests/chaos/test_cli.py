"""`tronops chaos list | run` and Chaos Toolkit's own `chaos validate`, where no stack runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from chaos import catalog
from harness import summary
from tests.cli.tronops_process import run_tronops

CHAOS = Path(sys.executable).with_name("chaos")


def test_list_names_each_experiment_first_with_what_it_breaks_and_expects() -> None:
    done = run_tronops("chaos", "list")
    assert done.code == 0 and done.service_modules == []
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [entry.name for entry in catalog.entries()]
    assert all(" breaks: " in line and " | expects: " in line for line in lines), lines


@pytest.mark.parametrize("entry", catalog.entries(), ids=lambda entry: entry.name)
def test_chaos_validate_passes_with_no_environment_set(entry: catalog.Entry) -> None:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp")}
    done = subprocess.run(
        [str(CHAOS), "--no-log-file", "validate", str(entry.path)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 and "look valid" in done.stderr + done.stdout, done.stderr


def test_a_run_without_a_stack_could_not_run_exits_2_and_reports(tmp_path: Path) -> None:
    out = tmp_path / "out"
    name = catalog.entries()[0].name
    done = run_tronops("chaos", "run", name, "--out", str(out), env={"TRONOPS_STACK_DIR": str(tmp_path)})
    assert done.code == 2, done.stdout + done.stderr
    assert f"{name}: could not run" in done.stdout and "tronops up --detach" in done.stdout
    assert done.service_modules == []
    suite = ElementTree.parse(out / "junit.xml").getroot()
    assert (suite.get("tests"), suite.get("errors")) == ("1", "1")
    document = json.loads((out / name / "summary.json").read_text())
    summary.validate(document)
    assert document["kind"] == "chaos" and document["verdict"] == "fail"
    assert (out / name / "journal.json").is_file()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "name experiments or give --all"),
        (("--all", "01-mesh-abort-payouts"), "name experiments or give --all"),
        (("no-such",), "no experiment 'no-such'"),
        (("--all", "--load", "no-such-profile"), "--load no-such-profile: unknown profile 'no-such-profile'"),
        (("--all", "--load", "smoke"), "--load smoke: no local stack recorded"),
    ],
)
def test_bad_usage_exits_2_and_says_what_to_fix(args: tuple[str, ...], says: str, tmp_path: Path) -> None:
    done = run_tronops(
        "chaos", "run", *args, "--out", str(tmp_path), env={"TRONOPS_STACK_DIR": str(tmp_path)}
    )
    assert done.code == 2 and says in done.stderr, done.stderr
    assert not (tmp_path / "junit.xml").exists()


def test_load_goes_to_loopback_only_a_cluster_target_is_refused_before_anything_runs(tmp_path: Path) -> None:
    target = tmp_path / "staging.yaml"
    target.write_text(
        "kind: kubernetes\ncontext: staging\nnamespace: lucid-payment\nselector: app=tron-payment-service\n"
        "base_url: https://payments.staging.example.com\nprometheus_url: https://prometheus.staging.example.com\n"
        "virtual_service: tron-payment-service\n"
    )
    out = tmp_path / "out"
    done = run_tronops(
        "chaos", "run", "03-one-pod-killed", "--load", "smoke", "--target", str(target), "--out", str(out)
    )
    assert done.code == 2, done.stderr
    assert (
        "--load smoke: the target's service is at https://payments.staging.example.com, not on loopback"
        in done.stderr
    )
    assert not out.exists()
