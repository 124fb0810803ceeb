"""The suite's options, shared fixtures, per-check latency budget and one-line report."""

from __future__ import annotations

import functools
from collections.abc import Callable, Generator
from pathlib import Path

import pytest

from smoke.client import SmokeClient
from smoke.expect import fail, one_line
from smoke.openapi import Document
from smoke.settings import NO_TOKEN, Settings, settings_from

SETTINGS = pytest.StashKey[Settings]()
CLIENT = pytest.StashKey[SmokeClient]()


def pytest_addoption(parser: pytest.Parser) -> None:
    # Prefixed so that they cannot clash with plugins (pytest-base-url owns --base-url).
    group = parser.getgroup("smoke")
    group.addoption("--smoke-base-url", help="the deployment, e.g. https://staging.example.com")
    group.addoption("--smoke-token", help="bearer token (default: SMOKE_TOKEN, else minted from JWT_SECRET)")
    group.addoption("--smoke-budget-ms", type=float, default=2000.0, help="latency budget per request")
    group.addoption("--smoke-write", action="store_true", help="also create and soft-delete a wallet")


def pytest_configure(config: pytest.Config) -> None:
    base_url = config.getoption("--smoke-base-url")
    if not base_url:
        raise pytest.UsageError("no base URL: pass --smoke-base-url (with tronops smoke: --base-url)")
    if not base_url.startswith(("http://", "https://")):
        raise pytest.UsageError(f"the base URL must be an http(s) URL, got {base_url!r}")
    settings = settings_from(
        base_url,
        config.getoption("--smoke-token"),
        config.getoption("--smoke-budget-ms"),
        config.getoption("--smoke-write"),
    )
    config.stash[SETTINGS] = settings
    config.stash[CLIENT] = SmokeClient(settings.base_url)


def pytest_unconfigure(config: pytest.Config) -> None:
    if CLIENT in config.stash:
        config.stash[CLIENT].close()


@pytest.fixture(scope="session")
def settings(pytestconfig: pytest.Config) -> Settings:
    return pytestconfig.stash[SETTINGS]


@pytest.fixture(scope="session")
def client(pytestconfig: pytest.Config) -> SmokeClient:
    return pytestconfig.stash[CLIENT]


@pytest.fixture
def token(settings: Settings) -> str:
    """The smoke token; without one, the check is reported as skipped, never passed."""
    if settings.token is None:
        pytest.skip(NO_TOKEN)
    return settings.token


@pytest.fixture(scope="session")
def openapi(client: SmokeClient) -> Callable[[], Document]:
    """The document, fetched by the first check that needs it: a failure to fetch is that check's."""

    @functools.cache  # caches the document, not a failure: a later check tries again
    def load() -> Document:
        return Document(client.get("/openapi.json"))

    return load


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Record each request's latency in the JUnit XML; fail a passing check whose request was too slow."""
    calls = item.config.stash[CLIENT].calls
    first = len(calls)
    try:
        outcome = yield
    finally:
        item.user_properties.extend((call.request, f"{call.elapsed_ms:.0f} ms") for call in calls[first:])
    budget = item.config.stash[SETTINGS].budget_ms
    slow = [f"{c.request} took {c.elapsed_ms:.0f} ms" for c in calls[first:] if c.elapsed_ms > budget]
    if slow:
        fail(f"over the {budget:.0f} ms latency budget: {'; '.join(slow)}")
    return outcome


def _check_id(report: pytest.TestReport | pytest.CollectReport) -> str:
    return report.nodeid.rsplit("::", 1)[-1].removeprefix("test_")


def _why(report: pytest.TestReport | pytest.CollectReport) -> str:
    if isinstance(report.longrepr, tuple):  # a skip: (file, line, "Skipped: reason")
        return report.longrepr[2].removeprefix("Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is None:
        return one_line(report.longreprtext)
    if crash.message.startswith("Failed: "):  # a check's own verdict, already one line
        return one_line(crash.message.removeprefix("Failed: "))
    # Anything else is a bug in the suite: say where (rerun with `pytest smoke --tb=short` for more).
    return one_line(f"{crash.message} ({Path(crash.path).name}:{crash.lineno})")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if SETTINGS not in config.stash:
        return
    settings = config.stash[SETTINGS]
    mode = "write" if settings.write else "read-only"
    write = terminalreporter.write_line
    write(
        f"smoke {settings.base_url}: {settings.token_source}, "
        f"budget {settings.budget_ms:.0f} ms per request, {mode}"
    )
    for kind, word in (("failed", "FAIL"), ("error", "ERROR"), ("skipped", "SKIP")):
        for report in terminalreporter.stats.get(kind, []):
            write(f"{word} {_check_id(report)}: {_why(report)}")
    if config.option.xmlpath:
        write(f"JUnit XML: {config.option.xmlpath}")
