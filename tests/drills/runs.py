"""A local stack of the drills' own (backups every 12 s: the CronJob's schedule x0.05, fast blocks)
and running one drill on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from drills.agent import read_status
from drills.context import DrillContext
from drills.runner import Result, run
from harness.target import LocalTarget
from harness.waiting import wait_for
from stack import topology
from stack.processes import free_port


@contextmanager
def drill_stack(run_dir: Path, *service_env: tuple[str, str], chain_url: str | None = None) -> Iterator[Path]:
    """With `chain_url`: a second region on the devnet another stack runs (one shared chain)."""
    options = topology.StackOptions(
        run_dir=run_dir, port=free_port(), block_interval=0.5, confirmations=2, service_env=service_env,
        chain_url=chain_url,
    )  # fmt: skip
    topology.up(options, progress=lambda _line: None)
    try:
        wait_for(
            lambda: read_status(run_dir / "backups" / "agent-status.json")["last_success"],
            30,
            "a first backup",
        )
        yield run_dir
    finally:
        topology.down(run_dir)


def drill(stack_dir: Path, name: str, **options: object) -> Result:
    """Its progress lines go to stdout: pytest shows them when the test fails."""
    ctx = DrillContext(LocalTarget(stack_dir), say=print)
    for key, value in options.items():
        setattr(ctx, key, value)
    return run([name], ctx)[0]


def verdicts(result: Result) -> dict[str, dict[str, object]]:
    return {v["name"]: v for v in result.timeline.verdicts()}


def assert_recovered(result: Result) -> None:
    """What a data-loss drill must show after recovery: no step broke, the fault acted (the primary was
    gone), the RTO held, keys and operations came back, nothing was paid twice or lost, the audit clean."""
    found = verdicts(result)
    assert not [s.error for s in result.timeline.steps if s.error]
    assert found["primary answering"]["outcome"] == "pass"
    assert found["RTO"]["outcome"] == "pass" and float(found["RTO"]["measured"]) <= 60  # type: ignore[arg-type]
    assert found["post-backup wallet recovered"]["outcome"] == "pass"
    assert found["operations recovered from the chain"]["outcome"] == "pass"
    assert found["retried idempotency keys paid twice"]["outcome"] == "pass"
    assert found["payout from the post-backup wallet broadcast"]["outcome"] == "pass"
    assert found["RPO wallet"]["outcome"] == "pass" and result.figures["lost"] == 0
    assert result.figures["audit"] == "clean", result.timeline.steps[-1].notes
