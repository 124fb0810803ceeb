"""The region-loss drill on two local stacks it starts itself (one shared devnet, blocks every 0.5 s,
backups every 12 s: the CronJob's schedule x0.05): the secondary restores the primary's shipped backup
and escrowed keys, recovers from the chain, serves within the RTO; without the shipped backups it is red
with the reason. About a minute each on an idle machine."""

from __future__ import annotations

from pathlib import Path

from drills.runner import exit_code, write_outputs
from harness.summary import validate
from tests.drills.runs import assert_recovered, drill


def test_the_secondary_region_takes_over_within_the_rto(tmp_path: Path) -> None:
    result = drill(tmp_path, "region-loss")
    assert_recovered(result)
    assert result.outcome == "PASS", result.timeline.verdicts()
    summary, junit = write_outputs([result], "local", tmp_path / "out")
    validate(__import__("json").loads(summary.read_text()))
    assert 'name="region-loss"' in junit.read_text()
    assert not list((tmp_path / "regions").glob("*/stack.json"))  # both regions stopped


def test_a_secondary_without_the_shipped_backups_is_red(tmp_path: Path) -> None:
    elsewhere = tmp_path / "not-shipped-here"
    elsewhere.mkdir()
    result = drill(tmp_path, "region-loss", shipped=str(elsewhere))
    broken = [s for s in result.timeline.steps if s.error]
    assert broken and broken[0].name == "the secondary finds the newest shipped backup"
    assert "no backup there" in str(broken[0].error)
    assert result.outcome == "FAIL" and exit_code([result]) == 1
