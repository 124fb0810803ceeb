"""`tronops status --json` against a real stack: each part's name, pid, URL and state, the mesh's
admin URL included, in keys scripts can rely on; the table for people says the same."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from stack.processes import free_port, port_open
from tests.cli.tronops_process import run_tronops
from tests.support.stack_parts import STACK_PARTS
from tronops.commands.stack import STATUS_FIELDS

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    run_dir = tmp_path_factory.mktemp("status-stack")
    env = {"TRONOPS_STACK_DIR": str(run_dir)}
    up = run_tronops("up", "--detach", "--port", str(free_port()), env=env, timeout=300)
    try:
        assert up.code == 0, up.stdout + up.stderr
        yield run_dir
    finally:
        run_tronops("down", env=env, timeout=120)


def _status(stack_dir: Path, *args: str) -> tuple[int, str]:
    done = run_tronops("status", *args, env={"TRONOPS_STACK_DIR": str(stack_dir)})
    assert done.service_modules == [], "status reads the stack's record; it needs nothing of the service"
    return done.code, done.stdout


def test_every_part_with_its_pid_url_and_state(stack_dir: Path) -> None:
    code, out = _status(stack_dir, "--json")
    document: dict[str, Any] = json.loads(out)
    assert code == 0
    parts = {part["name"]: part for part in document["parts"]}
    assert set(parts) == set(STACK_PARTS)
    for part in parts.values():
        assert tuple(part) == STATUS_FIELDS
        assert part["state"] == "running" and Path(f"/proc/{part['pid']}").exists(), part
        where = urlsplit(part["url"])
        assert where.hostname and where.port and port_open(where.port, where.hostname), part
    assert document["service_url"] == parts["mesh"]["url"]
    assert httpx.get(f"{document['service_url']}/health/live").status_code == 200
    routes = httpx.get(f"{parts['mesh']['admin_url']}/routes").json()["routes"]
    assert routes, "the mesh's admin URL answers with the routes it serves"
    assert [name for name, part in parts.items() if part["admin_url"]] == ["mesh"]


def test_the_table_shows_the_same_parts(stack_dir: Path) -> None:
    _, out = _status(stack_dir, "--json")
    pids = {part["name"]: part["pid"] for part in json.loads(out)["parts"]}
    code, table = _status(stack_dir)
    assert code == 0
    rows = [line.split() for line in table.splitlines()]
    assert {row[0]: int(row[3]) for row in rows} == pids
    assert all(row[1] == "running" and row[2] == "pid" for row in rows)
