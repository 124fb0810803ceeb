"""The drills on a local stack of their own (backups every 12 s: the CronJob's schedule x0.05): the
restore drill measures RTO and RPO and proves keys and funds survive; backup-check turns red with the
reason for a schedule slower than the RPO, a corrupt newest backup, and the seed's broken scripts."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from drills.runner import exit_code, write_outputs
from harness.summary import validate
from stack.devnet.config import MAINNET_MEMO_FEE
from tests.drills.runs import drill, drill_stack, verdicts

REPO = Path(__file__).resolve().parents[2]
OURS = [REPO / "deploy" / "k8s" / "backup-cronjob.yaml", REPO / "docs" / "dr-runbook.md"]


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with drill_stack(tmp_path_factory.mktemp("drill-stack")) as run_dir:
        yield run_dir


def test_restore_recovers_keys_and_funds_within_the_rto(stack_dir: Path, tmp_path: Path) -> None:
    result = drill(stack_dir, "restore")
    found = verdicts(result)
    assert not [s.error for s in result.timeline.steps if s.error]
    assert found["RTO"]["outcome"] == "pass" and float(found["RTO"]["measured"]) <= 60  # type: ignore[arg-type]
    assert found["post-backup wallet recovered"]["outcome"] == "pass"
    assert found["payout from the post-backup wallet broadcast"]["outcome"] == "pass"
    assert found["RPO wallet"]["outcome"] == "pass" and found["RPO funded wallet"]["outcome"] == "pass"
    assert result.figures["lost"] == 0
    assert found["a backup completed after recovery"]["outcome"] == "pass"
    assert found["audit findings"]["outcome"] == "pass", result.timeline.steps[-1].notes
    assert result.figures["audit"] == "clean"
    assert found["operations recovered from the chain"]["outcome"] == "pass"
    # the payout's memo named its operation: recovery put it back under its id, so the retried key is
    # answered with it (tests/drills/test_restore_without_memos.py: without memos it pays twice)
    assert found["retried idempotency keys paid twice"]["outcome"] == "pass"
    assert result.figures["memo_fee_sun"] == MAINNET_MEMO_FEE  # burned, on the chain, per transaction
    assert result.outcome == "PASS", result.timeline.verdicts()
    summary, junit = write_outputs([result], "local", tmp_path)
    validate(__import__("json").loads(summary.read_text()))
    assert 'name="restore"' in junit.read_text()


def test_backup_check_passes_on_our_backup_and_plan(stack_dir: Path) -> None:
    result = drill(stack_dir, "backup-check", ops_files=OURS)
    assert result.outcome == "PASS", result.timeline.verdicts()
    assert exit_code([result]) == 0


def test_a_schedule_slower_than_the_rpo_is_red(stack_dir: Path, tmp_path: Path) -> None:
    slow = tmp_path / "cronjob.yaml"
    slow.write_text(
        (REPO / "deploy" / "k8s" / "backup-cronjob.yaml")
        .read_text()
        .replace('"*/4 * * * *"', '"*/10 * * * *"')
    )
    result = drill(stack_dir, "backup-check", ops_files=OURS, cronjob=slow)
    worst = verdicts(result)["worst backup age (interval + late start + run)"]
    assert (worst["outcome"], worst["measured"], worst["threshold"]) == ("fail", 660.0, 300.0)
    assert result.outcome == "FAIL" and exit_code([result]) == 1


def test_a_corrupt_newest_backup_is_red(stack_dir: Path) -> None:
    backups = stack_dir / "backups"
    newest = sorted(backups.glob("tron-payment-*.archive.gz"))[-1]
    corrupt = backups / "tron-payment-29991231T000000.000Z.archive.gz"  # newer than any the agent writes
    shutil.copy(newest, corrupt)
    corrupt.write_bytes(corrupt.read_bytes()[:-40])
    try:
        result = drill(stack_dir, "backup-check", ops_files=OURS)
    finally:
        corrupt.unlink()
    broken = [s for s in result.timeline.steps if s.error]
    assert broken and broken[0].name == "the newest backup restores and verifies"
    assert "archive" in str(broken[0].error) and result.outcome == "FAIL"


def test_the_seeds_scripts_are_red_with_their_lines(stack_dir: Path) -> None:
    result = drill(stack_dir, "backup-check")
    step = next(s for s in result.timeline.steps if s.name.startswith("backup/restore scripts"))
    assert any(
        "restore-tron-payment-db.sh:" in note and "restore-reads-backup" in note for note in step.notes
    )
    assert any("maintenance-procedures.sh:21" in note for note in step.notes)
    assert result.outcome == "FAIL"
