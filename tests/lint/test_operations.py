"""Scripts and DR plans: the seed's backup, restore, maintenance and DR plan (fixtures/seed) have the
mistakes; fixtures/fixed has them fixed (clean beside deploy/: test_project_is_clean.py)."""

from __future__ import annotations

from pathlib import Path

from harness.lint.operations import commands
from tests.lint.helpers import DEPLOY, FIXED, SEED, caught, of, run


def test_a_restore_that_cannot_read_the_backup_is_caught() -> None:
    findings = run(SEED / "backup-tron-payment-db.sh", SEED / "restore-tron-payment-db.sh").findings
    found = caught(findings, "restore-reads-backup", "a folder of BSON files", "gzip-compressed")
    assert found.path.endswith("restore-tron-payment-db.sh") and found.line == 35
    # The seed's restore against our backup CronJob's archive: caught too.
    caught(run(SEED / "restore-tron-payment-db.sh", DEPLOY).findings, "restore-reads-backup", "one archive")
    # Our fixed restore reads what the CronJob writes.
    assert of(run(FIXED / "restore-tron-payment-db.sh", DEPLOY).findings, "restore-reads-backup") == []


def test_a_maintenance_step_that_takes_every_replica_away_is_caught(tmp_path: Path) -> None:
    found = caught(
        run(SEED / "maintenance-procedures.sh").findings, "maintenance-keeps-replicas", "every replica"
    )
    assert found.line == 22
    script = tmp_path / "drain.sh"
    script.write_text(
        "#!/bin/sh\nN=1\nkubectl -n x scale deploy/a \\\n  --replicas=$N\nkubectl delete pods -l app=a\n"
    )
    findings = run(script).findings
    assert caught(findings, "maintenance-keeps-replicas", "leaves 1 replica(s)", "floor of 2").line == 3
    caught(findings, "maintenance-keeps-replicas", "deletes every matching pod")


def test_an_rpo_no_backup_schedule_meets_is_caught(tmp_path: Path) -> None:
    found = caught(run(SEED / "dr-plan.yaml").findings, "rpo-backup-schedule", "Database 300s", "no CronJob")
    assert "Database: 5 minutes" in (SEED / "dr-plan.yaml").read_text().splitlines()[found.line - 1]
    assert (
        of(run(SEED / "dr-plan.yaml", DEPLOY).findings, "rpo-backup-schedule") == []
    )  # */4 + 60 s holds 5 min
    tight = tmp_path / "plan.md"
    tight.write_text("# Plan\n## Recovery Point Objectives (RPO)\n- Database: 2 minutes\n- Logs: 1 hour\n")
    caught(run(tight, DEPLOY).findings, "rpo-backup-schedule", "Database 120s", "up to 300s old")


def test_commands_follow_continuations_assignments_and_separators() -> None:
    found = commands('X=0\nkubectl scale d --replicas=${X} && echo "a # b" # c\nmongodump \\\n --gzip\n')
    assert [(c.line, c.argv) for c in found] == [
        (2, ("kubectl", "scale", "d", "--replicas=0")),
        (2, ("echo", "a # b")),
        (3, ("mongodump", "--gzip")),
    ]


def test_a_plans_own_steps_are_checked_too(tmp_path: Path) -> None:
    """The restore and maintenance steps in a plan's code blocks, in a file or a ConfigMap."""
    steps = (
        "```bash\nmongorestore --uri=$MONGODB_URI --dir=/tmp/dump --drop\n"
        "kubectl scale deployment tron-payment-service --replicas=0\n```\n"
    )
    plan = tmp_path / "plan.md"
    plan.write_text("# Plan\n## Recovery Point Objectives\n- Database: 5 minutes\n## Restore\n" + steps)
    findings = run(plan, DEPLOY).findings
    assert caught(findings, "restore-reads-backup", "one archive").line == 6
    assert caught(findings, "maintenance-keeps-replicas", "every replica").line == 7
    config_map = tmp_path / "plan.yaml"
    indented = "".join(f"    {line}\n" for line in plan.read_text().splitlines())
    config_map.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plan, namespace: lucid-payment}\n"
        "data:\n  plan.md: |\n" + indented
    )
    assert caught(run(config_map, DEPLOY).findings, "restore-reads-backup", "one archive").line == 11
