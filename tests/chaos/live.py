"""What the live chaos tests share: a local stack of their own (one per module), a target file that
names it, and `tronops chaos run` as an operator runs it, in a subprocess. Time scales: the local
alert rules (windows and `for` divided by 30), a devnet block every 0.5 s, faults held 20 s."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from harness.clients.mesh import MeshAdmin
from harness.target import LocalTarget, StackState
from stack import topology
from stack.processes import free_port

TRONOPS = Path(sys.executable).with_name("tronops")
HOLD_S = "20"  # how long each fault is held: long enough for its alert to fire (bounds ~25 s)


@dataclass(frozen=True)
class LiveStack:
    run_dir: Path
    target_file: Path

    @property
    def state(self) -> StackState:
        return LocalTarget(self.run_dir).state()

    @property
    def mesh(self) -> MeshAdmin:
        return MeshAdmin(self.state.admin_url("mesh"))


def live_stack(run_dir: Path, **variant: Any) -> Iterator[LiveStack]:
    """A stack for one module; `variant` changes StackOptions (rule files, Deployment, VirtualService,
    the pods' environment) to break what an experiment checks."""
    options = topology.StackOptions(run_dir=run_dir, port=free_port(), block_interval=0.5, confirmations=2)
    topology.up(replace(options, **variant), progress=lambda _line: None)
    target_file = run_dir / "target.yaml"
    target_file.write_text(yaml.safe_dump({"kind": "local", "stack_dir": str(run_dir)}))
    try:
        yield LiveStack(run_dir, target_file)
    finally:
        if topology.running(run_dir):
            topology.down(run_dir)


def chaos_run(stack: LiveStack, *args: str, out: Path, **env: str) -> subprocess.Popen[str]:
    """`tronops chaos run ARGS --target FILE --out OUT`, started; the caller waits or signals it."""
    return subprocess.Popen(
        [str(TRONOPS), "chaos", "run", *args, "--target", str(stack.target_file), "--out", str(out)],
        env={**os.environ, "TRONOPS_CHAOS_HOLD_S": HOLD_S, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclass(frozen=True)
class Finished:
    code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:  # what an assertion shows
        return f"exit {self.code}\n{self.stdout}\n{self.stderr[-4000:]}"


def run_to_end(
    stack: LiveStack, experiment: str, out: Path, options: tuple[str, ...] = (), **env: str
) -> Finished:
    runner = chaos_run(stack, experiment, *options, out=out, **env)
    try:
        stdout, stderr = runner.communicate(timeout=400)
    finally:
        runner.kill()
    return Finished(runner.returncode, stdout, stderr)


def variant_of(source: Path, folder: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """A copy of a manifest (the Deployment, the VirtualService) with `change` made to its document."""
    document = yaml.safe_load(source.read_text())
    change(document)
    path = folder / source.name
    path.write_text(yaml.safe_dump(document))
    return path


def deviates(
    stack: LiveStack, experiment: str, out: Path, says: tuple[str, ...], never: tuple[str, ...] = ()
) -> str:
    """Run `experiment` to its end and check it deviated (exit 1), saying each of `says` and none of
    `never`; its standard output."""
    done = run_to_end(stack, experiment, out)
    assert done.code == 1, done
    assert f"{experiment}: deviated" in done.stdout, done
    missing = [phrase for phrase in says if phrase not in done.stdout]
    present = [phrase for phrase in never if phrase in done.stdout]
    assert not missing and not present, f"missing {missing}, present {present}\n{done}"
    return done.stdout
