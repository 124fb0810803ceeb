"""`tronops report DIR`: rebuilds the same report from the run's JSON alone, and refuses a directory it
cannot read with exit 2 and one line naming the file and what is wrong."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.gameday.report_dirs import passing_steps, write_day
from tronops.cli import main

OUTPUTS = ("report.html", "summary.json", "junit.xml")


def tronops_report(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["report", str(run_dir)])
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_report_rebuilds_the_same_pages_from_the_json_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = write_day(tmp_path / "day", passing_steps(tmp_path / "day"))
    code, out, _ = tronops_report(run_dir, capsys)
    assert code == 0 and "verdict: PASS, resilience score 100.0%" in out
    first = {name: (run_dir / name).read_text() for name in OUTPUTS}
    for name in OUTPUTS:
        (run_dir / name).unlink()
    code, _, _ = tronops_report(run_dir, capsys)
    assert code == 0
    assert {name: (run_dir / name).read_text() for name in OUTPUTS} == first


def test_a_failed_day_exits_1_and_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    phases = passing_steps(tmp_path)
    phases[0]["steps"][0]["error"] = "smoke could not log in"
    code, out, _ = tronops_report(write_day(tmp_path, phases), capsys)
    assert code == 1
    assert "verdict: FAIL" in out and "smoke could not log in" in out


def break_day_json(run_dir: Path) -> None:
    (run_dir / "day.json").write_text("{not json")


def drop_verdict(run_dir: Path) -> None:
    day = json.loads((run_dir / "day.json").read_text())
    del day["verdict"]
    (run_dir / "day.json").write_text(json.dumps(day))


def drop_linked_summary(run_dir: Path) -> None:
    (run_dir / "load/baseline/summary.json").unlink()


def break_timeline(run_dir: Path) -> None:
    timeline = json.loads((run_dir / "timeline.json").read_text())
    timeline["series"][0]["name"] = "cpu"
    (run_dir / "timeline.json").write_text(json.dumps(timeline))


@pytest.mark.parametrize(
    ("damage", "file", "problem"),
    [
        (break_day_json, "day.json", "not JSON (the day's summary)"),
        (drop_verdict, "day.json", "'verdict' is a required property"),
        (drop_linked_summary, "load/baseline/summary.json", "missing (the summary of step load/baseline"),
        (break_timeline, "timeline.json", "series/0/name: 'cpu' is not one of"),
        (lambda d: (d / "timeline.json").unlink(), "timeline.json", "missing (the day's timeline)"),
    ],
)
def test_an_unreadable_run_directory_exits_2_naming_the_file_and_the_problem(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Callable[[Path], object],
    file: str,
    problem: str,
) -> None:
    run_dir = write_day(tmp_path, passing_steps(tmp_path))
    damage(run_dir)
    code, out, err = tronops_report(run_dir, capsys)
    assert code == 2, out
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"tronops report: {run_dir / file}: ") and problem in err, err
    assert not (run_dir / "report.html").exists()


def test_a_directory_that_is_not_there_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = tronops_report(tmp_path / "nowhere", capsys)
    assert code == 2 and "nowhere: not a directory" in err
