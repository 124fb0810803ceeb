"""Real parts for the tests: store (nx-27017), Redis and the TRON devnet as processes, and the service.
Also: each test's marker by what it needs (`make test-fast` is `-m unit`), and the shuffle's seed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

import pytest

from harness.clients.api import Api
from harness.clients.devnet import Devnet
from stack.local import Backends, start_backends
from stack.processes import Part

BLOCK_INTERVAL = 0.2
CONFIRMATIONS = 2
# Fast workers and short leases so crash recovery is seen within a test's time.
FAST_SERVICE = {"WORKER_POLL_SECONDS": "0.1", "WORKER_LEASE_SECONDS": "3", "BALANCE_CACHE_SECONDS": "0.2"}

TESTS = Path(__file__).parent
# What the tests under each path need, as a marker (registered in pyproject.toml); the longest
# matching path wins, and a marker the test sets itself wins over both:
#   unit       no process of ours beyond a short tool run (promtool, compose config, the CLI)
#   component  one part of the stack as a real process (devnet, mesh, pod supervisor)
#   e2e        the service as a process, with its store, Redis and devnet
#   stack      the whole local stack, as `tronops up` starts it
#   live       alerts firing and resolving through the stack's Prometheus and Alertmanager
NEEDS = {
    "unit": "unit",
    # The worker and its chain port against the real store and devnet: processes, so not the fast loop.
    "unit/test_chain_answers.py": "component",
    "unit/test_operations.py": "component",
    "unit/test_worker.py": "component",
    "unit/test_confirmation_wait.py": "component",
    "alerts": "unit",
    "audit": "e2e",
    "audit/test_torture.py": "stack",
    "audit/test_checks.py": "unit",
    "dashboards": "unit",
    "deploy": "unit",
    "lint": "unit",
    "lint/test_live.py": "component",
    "cli": "unit",
    "harness": "unit",
    "harness/test_faults.py": "component",
    "devnet": "component",
    "mesh": "component",
    "mesh/test_config.py": "unit",
    "mesh/test_http1.py": "unit",
    "pods": "component",
    "pods/test_backoff.py": "unit",
    "pods/test_manifest.py": "unit",
    "integration": "e2e",
    "e2e": "e2e",
    "smoke": "e2e",
    "stack": "stack",
    "stack/test_monitoring_config.py": "unit",
    "stack/test_ports.py": "unit",
    "stack/test_store_server.py": "component",
    "observability": "live",
    "load": "unit",
    "load/test_precision.py": "component",
    "load/test_pace.py": "component",
    "load/test_store_benchmark.py": "component",
    "load/test_history_benchmark.py": "component",
    "load/test_payout_store_benchmark.py": "component",
    "load/test_hop_benchmark.py": "component",
    "load/test_live.py": "stack",
    "chaos": "live",
    "chaos/test_kubernetes_path.py": "unit",
    "chaos/test_cli.py": "unit",
    "drills": "component",
    "drills/test_restore_without_memos.py": "stack",
    "drills/test_maintenance_drill.py": "stack",
    "drills/test_maintenance_kube.py": "stack",
    "drills/test_restore_kube.py": "stack",
    "drills/test_archive.py": "unit",
    "drills/test_probe.py": "unit",
    "drills/test_escrow_service.py": "e2e",
    "drills/test_drill_runs.py": "stack",
    "drills/test_region_loss_drill.py": "stack",
    "drills/test_region_loss_kube.py": "stack",
    "gameday": "unit",
    "gameday/test_day_live.py": "live",
    "gameday/test_report_verdict.py": "unit",
    "gameday/test_report_cli.py": "unit",
    "gameday/test_report_browser.py": "component",
    "gameday/test_report_real_run.py": "stack",
}
NEEDS_MARKERS = frozenset(NEEDS.values())


def needs(path: Path) -> str | None:
    """The marker for a test file: its longest path prefix in NEEDS, or None for a path not listed."""
    relative = PurePosixPath(path.relative_to(TESTS).as_posix())
    return next((NEEDS[p.as_posix()] for p in (relative, *relative.parents) if p.as_posix() in NEEDS), None)


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if not item.path.is_relative_to(TESTS) or any(item.get_closest_marker(m) for m in NEEDS_MARKERS):
            continue
        marker = needs(item.path)
        if marker is None:
            raise pytest.UsageError(f"{item.path}: no marker for what it needs: add its folder to NEEDS")
        item.add_marker(marker)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The order's seed, also under -q: a failure that depends on order is replayed with it."""
    if config.pluginmanager.hasplugin("randomly") and config.getoption("randomly_reorganize", True):
        seed = config.getoption("randomly_seed")
        terminalreporter.write_line(
            f"tests ran shuffled: replay this order with -p randomly --randomly-seed={seed}"
        )


@pytest.fixture(scope="session")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    run_dir: Path = tmp_path_factory.mktemp("stack")
    started = start_backends(
        run_dir,
        block_interval=BLOCK_INTERVAL,
        confirmations=CONFIRMATIONS,
        devnet_args=["--unfreeze-delay", "1"],
    )
    yield started
    started.stop()


@pytest.fixture(scope="session")
def service(backends: Backends) -> Part:
    return backends.start_replica("svc-0", **FAST_SERVICE)


@pytest.fixture(scope="session")
def devnet(backends: Backends) -> Devnet:
    return Devnet(backends.devnet.url)


@pytest.fixture
def api_as(backends: Backends, service: Part) -> Callable[..., Api]:
    secret = backends.service_env()["JWT_SECRET"]

    def make(*roles: str, sub: str | None = None, base_url: str | None = None) -> Api:
        return Api(base_url or service.url, secret, sub, roles or ("admin",))

    return make


@pytest.fixture
def api(api_as: Callable[..., Api]) -> Api:
    return api_as("admin")
