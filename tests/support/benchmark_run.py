"""A benchmark module run the way its README command runs it, small enough for a test."""

from __future__ import annotations

import subprocess

from stack.processes import PYTHON, REPO


def run_benchmark(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m module args` from the checkout, its output captured; two minutes at most."""
    return subprocess.run(
        [PYTHON, "-m", module, *args], cwd=REPO, capture_output=True, text=True, timeout=120
    )
