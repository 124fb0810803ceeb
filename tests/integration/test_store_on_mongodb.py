"""The same store checks against a real MongoDB through testcontainers, where a Docker engine runs."""

from __future__ import annotations

import pytest

from tests.integration.test_ports import check_store_semantics


def _docker_engine_problem() -> str | None:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return None
    except Exception as exc:
        return f"no Docker engine reachable ({type(exc).__name__}); real-MongoDB tests need one"


@pytest.mark.docker
async def test_store_semantics_on_real_mongodb() -> None:
    problem = _docker_engine_problem()
    if problem:
        print(f"SKIP: {problem}")
        pytest.skip(problem)
    from testcontainers.mongodb import MongoDbContainer

    with MongoDbContainer("mongo:7.0") as mongo:
        await check_store_semantics(mongo.get_connection_url())
