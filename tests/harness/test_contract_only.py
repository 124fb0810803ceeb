"""The harness reaches a service only through its contract: importing every harness module loads no
module of the reference service (checked on sys.modules in a fresh interpreter, not by grep)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import harness
from harness.objectives import REPO

PROBE = """
import importlib, json, sys
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m == "service" or m.startswith("service."))))
"""


def test_no_harness_module_imports_the_service() -> None:
    modules = [info.name for info in pkgutil.walk_packages(harness.__path__, "harness.")]
    assert "harness.faults" in modules and "harness.clients.api" in modules
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(modules)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
