"""Whether the tests may start real Kafka, MongoDB and PostgreSQL containers (TESTCONTAINERS=1)."""

from __future__ import annotations

import os

import pytest


def docker_engine_problem() -> str | None:
    """Why no Docker engine can be used, or None when one answers."""
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception as exc:
        return f"no Docker engine answers ({type(exc).__name__}: {exc})"
    return None


def use_containers() -> bool:
    """True when TESTCONTAINERS=1; skips the calling test with the reason when no engine answers."""
    if os.environ.get("TESTCONTAINERS") != "1":
        return False
    problem = docker_engine_problem()
    if problem is not None:
        pytest.skip(f"TESTCONTAINERS=1 but {problem}: the container-backed servers cannot start here")
    return True
