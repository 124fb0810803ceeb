"""`tronops` in a subprocess, as an operator runs it, reporting which `service` modules and which
third-party packages it imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from stack.processes import REPO

# This repo's top-level packages: what the CLI loads from here is not a third-party import.
_PROJECT = sorted(p.name for p in REPO.iterdir() if (p / "__init__.py").exists())

# Runs the real entry point, and whatever way it ends, records the `service` modules and the third-party
# packages then loaded.
_PROBE = """
import json, sys
from tronops.cli import main
try:
    main(sys.argv[1:])
finally:
    tops = {m.split(".")[0] for m in sys.modules}
    # Private names are the interpreter's and site-packages' .pth hooks, not packages the CLI chose to load.
    outside = {t for t in tops - set(sys.stdlib_module_names) if not t.startswith("_")} - set(PROJECT)
    loaded = {
        "service": sorted(m for m in sys.modules if m == "service" or m.startswith("service.")),
        "third_party": sorted(outside),
    }
    with open(REPORT, "w") as report:
        json.dump(loaded, report)
"""


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    service_modules: list[str]  # every `service` module the CLI process imported
    third_party_modules: list[str]  # the top-level packages it loaded from neither the stdlib nor this repo


def run_tronops(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, preload: str = ""
) -> Run:
    """`tronops ARGS`; `preload` imports a module first (to prove the report sees what is imported)."""
    with tempfile.TemporaryDirectory(prefix="tronops-probe-") as scratch:
        report = Path(scratch) / "modules.json"
        prelude = f"import {preload}\n" if preload else ""
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                f"{prelude}REPORT = {str(report)!r}\nPROJECT = {_PROJECT!r}\n{_PROBE}",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            env={**os.environ, **(env or {})},
        )
        missing = ["(the probe wrote no report)"]
        loaded = (
            json.loads(report.read_text())
            if report.exists()
            else {"service": missing, "third_party": missing}
        )
    return Run(done.returncode, done.stdout, done.stderr, loaded["service"], loaded["third_party"])
