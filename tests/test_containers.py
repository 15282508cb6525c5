"""Real Kafka, MongoDB and PostgreSQL containers answer (TESTCONTAINERS=1 with a Docker engine)."""

from __future__ import annotations

import os

import psycopg
import pytest
from pymongo import MongoClient

from tests.support.containers import docker_engine_problem

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module", autouse=True)
def containers_wanted() -> None:
    if os.environ.get("TESTCONTAINERS") != "1":
        pytest.skip("container-backed servers run only with TESTCONTAINERS=1 (and a Docker engine)")
    problem = docker_engine_problem()
    if problem is not None:
        pytest.skip(f"TESTCONTAINERS=1 but {problem}")


def test_postgres_container_answers() -> None:
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:16", driver=None) as pg, psycopg.connect(pg.get_connection_url()) as conn:
        assert conn.execute("select 1").fetchone() == (1,)


def test_mongo_container_answers() -> None:
    from testcontainers.mongodb import MongoDbContainer

    with MongoDbContainer("mongo:7") as mongo:
        client: MongoClient[dict[str, object]] = MongoClient(mongo.get_connection_url())
        try:
            assert client.admin.command("ping")["ok"] == 1
        finally:
            client.close()
