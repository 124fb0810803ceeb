"""The harness reaches a service only through its contract: no `tronops` command imports `service`
(checked on the CLI process's sys.modules), and `tronops --help` loads no third-party package."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.processes import free_port
from tests.cli.tronops_process import run_tronops

# Each with the exit code it ends with here, where no stack runs.
COMMANDS: list[tuple[tuple[str, ...], int]] = [
    (("--help",), 0),
    (("token", "--sub", "probe", "--roles", "admin,user"), 0),
    (("smoke", "--help"), 0),
    (("up", "--help"), 0),
    (("run", "--help"), 0),
    (("bench", "--help"), 0),
    (("status",), 1),
    (("status", "--json"), 1),
    (("down",), 1),
    (("alerts", "lint"), 0),
    (("alerts", "build", "--check"), 0),
    (("dashboards", "lint"), 0),
    (("dashboards", "build", "--check"), 0),
    (("generate", "--check"), 0),
]


@pytest.mark.parametrize(("args", "code"), COMMANDS, ids=[" ".join(args) for args, _ in COMMANDS])
def test_a_harness_command_imports_no_service_module(
    args: tuple[str, ...], code: int, tmp_path: Path
) -> None:
    done = run_tronops(*args, env={"TRONOPS_STACK_DIR": str(tmp_path)})
    assert done.code == code, done.stdout + done.stderr
    assert done.service_modules == []


def test_a_smoke_run_imports_no_service_module(tmp_path: Path) -> None:
    """The whole suite, against a port where nothing listens: it fails every check, and loads no service."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    done = run_tronops(
        "smoke", "--base-url", nowhere, "--junit", str(tmp_path / "smoke.xml"), env={"JWT_SECRET": "s" * 40}
    )
    assert done.code == 1 and "FAIL" in done.stdout, done.stdout + done.stderr
    assert done.service_modules == []


def test_the_check_sees_a_service_import() -> None:
    done = run_tronops("--help", preload="service.money")
    assert done.code == 0 and "service.money" in done.service_modules


def test_help_loads_no_third_party_package() -> None:
    """`tronops --help` answers at once: it loads the standard library and this repo's packages only (a
    package such as `jwt` costs a tenth of a second or more before anything prints). Deterministic where
    a CPU budget was not: CI once measured 0.31 s against 0.3."""
    done = run_tronops("--help")
    assert done.code == 0, done.stdout + done.stderr
    assert done.third_party_modules == []


def test_the_check_sees_a_third_party_import() -> None:
    done = run_tronops("--help", preload="jwt")
    assert done.code == 0 and "jwt" in done.third_party_modules
