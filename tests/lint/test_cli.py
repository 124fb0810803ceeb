"""`tronops lint` as CI runs it: output formats, exit codes, what it checked and skipped."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lint.helpers import DEPLOY, REPO, SEED
from tronops import cli


def lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit:
        cli.main(["lint", *args])
    out, err = capsys.readouterr()
    return int(exit.value.code or 0), out, err


def test_clean_exits_0_and_says_what_it_checked_and_skipped(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = lint(capsys, str(DEPLOY), str(REPO / "alerts"))
    assert (code, out) == (0, "")
    assert re.search(
        r"^checked 2 istio, \d+ kubernetes, \d+ prometheus-rules; 0 finding\(s\)$", err, re.MULTILINE
    )
    assert "alerts/slos.yaml" in err and "alerts/lint.py" in err  # skipped, and listed


def test_findings_exit_1_as_file_line_check_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, str(SEED / "maintenance-procedures.sh"))
    assert code == 1
    assert out.startswith(
        "tests/lint/fixtures/seed/maintenance-procedures.sh:22: [maintenance-keeps-replicas] "
    )


def test_json_is_one_object_with_findings_checked_and_skipped(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "notes.cfg").write_text("x = 1\n")
    code, out, _ = lint(capsys, "--format", "json", str(SEED / "virtual-service.yaml"), str(tmp_path))
    report = json.loads(out)
    assert code == 1 and report["checked"] == {"istio": 1, "kubernetes": 1}
    assert report["skipped"] == [str(tmp_path / "notes.cfg")]
    fault = next(f for f in report["findings"] if f["check"] == "istio-fault")
    assert (fault["path"], fault["line"]) == ("tests/lint/fixtures/seed/virtual-service.yaml", 26)
    assert set(fault) == {"path", "line", "check", "message"}


def test_github_format_annotates_file_and_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(capsys, "--format", "github", str(SEED / "maintenance-procedures.sh"))
    assert code == 1
    assert out.startswith(
        "::error file=tests/lint/fixtures/seed/maintenance-procedures.sh,line=22,"
        "title=maintenance-keeps-replicas::`kubectl"
    )


def test_unreadable_input_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: Deployment\nspec: [unclosed\n")
    code, out, err = lint(capsys, str(broken), str(DEPLOY))
    assert code == 2 and "[unreadable] not YAML" in out and "1 file(s) could not be read" in err
    code, _, err = lint(capsys, str(tmp_path / "missing"))
    assert code == 2


def test_nothing_checked_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "README.rst").write_text("nothing to lint\n")
    code, _, err = lint(capsys, str(tmp_path))
    assert code == 2 and "checked nothing" in err


def test_disable_skips_a_check_and_refuses_an_unknown_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = lint(
        capsys, "--disable", "maintenance-keeps-replicas", str(SEED / "maintenance-procedures.sh")
    )
    assert (code, out) == (0, "")
    code, _, err = lint(capsys, "--disable", "no-such-check", str(DEPLOY))
    assert code == 2 and "no-such-check: no such check" in err


def test_a_file_can_disable_a_check_for_itself(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    script = tmp_path / "down.sh"
    script.write_text(
        "#!/bin/sh\n# tronops-lint: disable=maintenance-keeps-replicas\nkubectl scale d --replicas=0\n"
    )
    assert lint(capsys, str(script))[0] == 0


def test_the_installed_command_runs_as_ci_calls_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tronops.cli", "lint", "deploy", "alerts", "dashboards", "docker-compose.yml"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(
        r"checked 1 compose, \d+ grafana-dashboard, 2 istio, \d+ kubernetes, \d+ prometheus-rules",
        result.stderr,
    )


def test_bad_options_exit_2_and_say_what_to_fix(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert "knows 1.25 to" in lint(capsys, "--kubernetes-version", "1.9", str(DEPLOY))[2]
    assert "not a duration" in lint(capsys, "--scrape-interval", "soon", str(DEPLOY))[2]
    assert "not a folder" in lint(capsys, "--schemas", str(tmp_path / "none"), str(DEPLOY))[2]
    (tmp_path / "objectives.yaml").write_text("identity: {}\n")
    code, _, err = lint(capsys, "--objectives", str(tmp_path / "objectives.yaml"), str(DEPLOY))
    assert code == 2 and "--objectives:" in err and "missing 'route_groups'" in err


def test_objectives_give_another_teams_facts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--objectives: the checks read the service's facts from the file given, not from ours."""
    ours = (REPO / "harness" / "objectives.yaml").read_text()
    stricter = tmp_path / "objectives.yaml"
    stricter.write_text(ours.replace("min_replicas: 3", "min_replicas: 4"))
    code, out, _ = lint(capsys, "--objectives", str(stricter), str(DEPLOY))
    assert (
        code == 1
        and "[service-pod] replicas 3 is below 4" in out
        and "[autoscaler] minReplicas 3 is below 4" in out
    )


def test_stdin_and_helm_templates(tmp_path: Path) -> None:
    """`helm template CHART | tronops lint -`: rendered manifests come on stdin; the chart's templates
    themselves are not YAML yet, so a folder's are skipped, not unreadable."""
    (tmp_path / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "d.yaml").write_text(
        "kind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"
    )
    folder = subprocess.run(
        [sys.executable, "-m", "tronops.cli", "lint", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert folder.returncode == 2 and "checked nothing" in folder.stderr and "d.yaml" in folder.stderr
    piped = subprocess.run(
        [sys.executable, "-m", "tronops.cli", "lint", "-"],
        input=(SEED / "virtual-service.yaml").read_text(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert piped.returncode == 1
    assert "<stdin>:26: [istio-fault] route http[0] injects a fault" in piped.stdout
