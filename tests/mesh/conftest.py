"""Fixtures: scripted upstreams and mesh processes, each stopped after its test (the mesh must stop
cleanly on SIGTERM, so every test also proves that)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mesh.mesh_process import Mesh, launch
from tests.mesh.scripted_upstream import Script, ScriptedUpstream

_runs = itertools.count()


@pytest.fixture
def upstream() -> Iterator[Callable[..., ScriptedUpstream]]:
    started: list[ScriptedUpstream] = []

    def start(name: str, script: Script | None = None) -> ScriptedUpstream:
        started.append(ScriptedUpstream(name, script))
        return started[-1]

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[Callable[..., Mesh]]:
    started: list[Mesh] = []

    def start(**kwargs: Any) -> Mesh:
        run_dir = tmp_path / f"mesh-{next(_runs)}"
        run_dir.mkdir()
        started.append(launch(run_dir, **kwargs))
        return started[-1]

    yield start
    for process in started:
        code = process.stop()
        assert code == 0, f"the mesh exited with {code} on SIGTERM; log:\n{process.log.read_text()}"
