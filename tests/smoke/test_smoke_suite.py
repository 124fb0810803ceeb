"""`tronops smoke`, the real CLI in a subprocess: green against a healthy service, and failing with the
right one-line reason against a stack with a broken part (our own stack, so other tests never see it)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from harness.tokens import mint_token
from harness.waiting import wait_for
from smoke.settings import NO_TOKEN
from stack.local import Backends, start_backends
from stack.processes import Part

TRONOPS_SMOKE = [sys.executable, "-m", "tronops.cli", "smoke"]
CHECKS = 23
AUTHENTICATED = 13  # every check that needs the smoke token, the --write one included
SUITE_CEILING_SECONDS = 30.0  # the stated requirement for a whole run


@dataclass
class Run:
    """One `tronops smoke` run: exit code, output and the JUnit <testsuite>."""

    code: int
    out: str
    suite: ET.Element

    def lines(self, prefix: str) -> dict[str, str]:
        """`FAIL check: why` lines as {check: why}."""
        found = {}
        for line in self.out.splitlines():
            if line.startswith(prefix + " "):
                check, _, why = line.removeprefix(prefix + " ").partition(": ")
                found[check] = why
        return found

    def count(self, what: str) -> int:
        return int(self.suite.attrib[what])


def smoke(base_url: str, workdir: Path, *args: str, **env: str) -> Run:
    """One run from `workdir` (so the JUnit XML lands in its default place), with only the given secrets."""
    clean = {k: v for k, v in os.environ.items() if k not in ("JWT_SECRET", "SMOKE_TOKEN", "PYTEST_ADDOPTS")}
    started = time.monotonic()
    done = subprocess.run(
        [*TRONOPS_SMOKE, "--base-url", base_url, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=workdir,
        env={**clean, **env},
    )
    seconds = time.monotonic() - started
    # Every run, green or not, start-up included: the requirement is on what CI waits for.
    assert seconds < SUITE_CEILING_SECONDS, f"the run took {seconds:.1f} s:\n{done.stdout}"
    junit = workdir / "var" / "smoke-junit.xml"
    assert junit.exists(), f"no JUnit XML (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    return Run(done.returncode, done.stdout + done.stderr, suite)


def test_green_against_a_healthy_service(service: Part, backends: Backends, tmp_path: Path) -> None:
    run = smoke(service.url, tmp_path, "--write", JWT_SECRET=backends.service_env()["JWT_SECRET"])
    assert run.code == 0, run.out
    totals = {what: run.count(what) for what in ("tests", "failures", "errors", "skipped")}
    assert totals == {"tests": CHECKS, "failures": 0, "errors": 0, "skipped": 0}, run.out
    assert f"{CHECKS} passed" in run.out and "token minted from JWT_SECRET" in run.out
    cases = run.suite.findall("testcase")
    assert {"test_readiness[/ready]", "test_read_contract[wallets-list]", "test_wallet_roundtrip"} <= {
        case.attrib["name"] for case in cases
    }
    # Every check recorded the latency of each request it made.
    assert all(case.find("properties/property[@value]") is not None for case in cases)


def test_without_credentials_the_authenticated_checks_are_skipped(service: Part, tmp_path: Path) -> None:
    run = smoke(service.url, tmp_path, "--write")
    assert run.code == 0, run.out
    skipped = run.lines("SKIP")
    assert run.count("skipped") == len(skipped) == AUTHENTICATED + 1, run.out  # + the 403 check
    assert sum(why == NO_TOKEN for why in skipped.values()) == AUTHENTICATED, run.out
    assert "liveness" not in skipped and run.count("failures") == 0


def test_a_wrong_token_fails_the_authenticated_checks_with_401_explained(
    service: Part, tmp_path: Path
) -> None:
    forged = mint_token("not-the-secret-of-this-deployment-0123456789", "smoke-ci", ["admin"])
    run = smoke(service.url, tmp_path, "--token", forged)
    assert run.code == 1, run.out
    failed = run.lines("FAIL")
    assert len(failed) == AUTHENTICATED - 1, run.out  # the --write check is skipped in a read-only run
    for check, why in failed.items():
        assert "answered 401" in why and "Signature verification failed" in why, check
        assert "the smoke token was rejected" in why, check
    assert "liveness" not in failed and "auth_wrong_secret_401" not in failed


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Backends, Part]]:
    """A stack of our own to break: the session's backends are shared with every other test."""
    backends = start_backends(tmp_path_factory.mktemp("smoke-stack"), block_interval=0.5, confirmations=2)
    try:
        yield backends, backends.start_replica("smoke-target-0")
    finally:
        backends.stop()


def _status(url: str) -> int:
    try:
        return httpx.get(url, timeout=2.0).status_code
    except httpx.HTTPError:
        return 0


def test_tron_devnet_down_fails_health_and_network_status(
    own_stack: tuple[Backends, Part], tmp_path: Path
) -> None:
    backends, replica = own_stack
    control = httpx.Client(base_url=backends.devnet.url, timeout=5.0)
    try:
        control.post("/control/down", json={"down": True}).raise_for_status()
        wait_for(lambda: _status(f"{replica.url}/health") == 503, 10, "/health to see the node down")
        run = smoke(replica.url, tmp_path, JWT_SECRET=backends.service_env()["JWT_SECRET"])
    finally:
        control.post("/control/reset-faults").raise_for_status()
        wait_for(lambda: _status(f"{replica.url}/health") == 200, 10, "/health to recover")
        control.close()
    assert run.code == 1, run.out
    failed = run.lines("FAIL")
    health = failed["health_components"]
    assert health.startswith("GET /health answered 503, expected 200 (tron_network: down"), run.out
    assert failed["tron_network_healthy"].startswith("TRON network down"), run.out
    assert "liveness" not in failed and "readiness[/ready]" not in failed


def test_redis_stopped_fails_health_naming_redis_and_keeps_readiness(
    own_stack: tuple[Backends, Part], tmp_path: Path
) -> None:
    """[decided] Redis is no readiness dependency (rate limits fall back to a per-pod cap): the pod
    stays ready, and the smoke run fails on /health, naming Redis."""
    backends, replica = own_stack
    backends.redis.stop()
    try:
        wait_for(lambda: _status(f"{replica.url}/health") == 503, 10, "/health to see Redis gone")
        run = smoke(replica.url, tmp_path, JWT_SECRET=backends.service_env()["JWT_SECRET"])
    finally:
        backends.redis.start()
        wait_for(lambda: _status(f"{replica.url}/health") == 200, 10, "/health to recover")
    assert run.code == 1, run.out
    failed = run.lines("FAIL")
    assert failed["health_components"].startswith("GET /health answered 503, expected 200 (redis: down"), (
        run.out
    )
    assert (
        "liveness" not in failed
        and "readiness[/ready]" not in failed
        and "readiness[/health/ready]" not in failed
    )


def test_a_base_url_that_is_no_url_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [*TRONOPS_SMOKE, "--base-url", "staging.example.com"], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 4 and "must be an http(s) URL" in done.stderr, done.stdout + done.stderr
