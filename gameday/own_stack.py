"""Where the day runs: a target file, or the local stack, started for the day when none runs and
stopped at the end (also on Ctrl-C or SIGTERM) only when the day started it."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from harness.target import LocalTarget, Target, TargetError
from harness.target import load as load_target

# The day's own stack keeps the chain quick (a block every 0.5 s, 2 confirmations, as the live tests
# run it) so payouts settle within the day; a stack already running is used as it is.
BLOCK_INTERVAL_S = 0.5
CONFIRMATIONS = 2
# A SIGTERM through the local pods API is not a pod deletion: the pod stays an endpoint until its
# readiness probe failed 3 times (3 x 1 s, time-scaled), so its drain must outlast that, as the chaos
# tests run it (tests/chaos/test_experiments_hold.py); on a cluster the deletion removes it first.
SERVICE_ENV = (("DRAIN_SECONDS", "4"),)


class DayCannotRun(RuntimeError):
    """The day cannot start; the message, one line, says what to fix."""


@dataclass(frozen=True)
class Where:
    target: Target
    target_file: Path
    label: str
    started_stack: Path | None  # the run dir of the stack this day started (and will stop), or None


def _target_file(path: Path) -> Target:
    try:
        return load_target(path)
    except TargetError as error:
        raise DayCannotRun(f"--target {path}: {error}") from None


@contextlib.contextmanager
def where(
    target_file: Path | None, stack_dir: Path, out: Path, say: Callable[[str], None]
) -> Iterator[Where]:
    """The target for the day; the local stack in `stack_dir` when no file is given (started if none
    runs there, and then stopped on the way out, whatever ends the day)."""
    if target_file is not None:
        if not target_file.is_file():
            raise DayCannotRun(
                f"--target {target_file}: no such file; write a target YAML (harness/target.py)"
            )
        yield Where(_target_file(target_file), target_file, str(target_file), None)
        return
    from stack import topology
    from stack.processes import StartError, free_port

    started = None
    if topology.running(stack_dir) is None:
        say(f"no local stack runs in {stack_dir}: starting one for the day (stopped at its end)")
        options = topology.StackOptions(
            run_dir=stack_dir,
            port=free_port(),
            block_interval=BLOCK_INTERVAL_S,
            confirmations=CONFIRMATIONS,
            service_env=SERVICE_ENV,
        )
        try:
            topology.up(options, progress=lambda line: say(line.strip()))
        except (topology.StackError, StartError) as error:
            raise DayCannotRun(f"the local stack would not start: {error}") from None
        started = stack_dir
    else:
        say(f"using the local stack already running in {stack_dir} (left running)")
    out.mkdir(parents=True, exist_ok=True)
    local_file = out / "target.yaml"
    local_file.write_text(yaml.safe_dump({"kind": "local", "stack_dir": str(stack_dir)}))
    try:
        yield Where(LocalTarget(stack_dir), local_file, "local", started)
    finally:
        if started is not None:
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop `down`
            try:
                say(f"stopping the stack the day started: {', '.join(topology.down(started))}")
            finally:
                signal.signal(signal.SIGINT, previous)
