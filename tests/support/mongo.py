"""Which MongoDB-wire server the suite starts itself: nx-27017 (the default) or SecantusDB (TEST_MONGO_SERVER)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ordertalk_devstack.processes import ManagedProcess, port_open, python_argv
from ordertalk_devstack.servers import start_mongo

SERVERS = ("nx-27017", "secantusdb")


def chosen_server() -> str:
    """TEST_MONGO_SERVER: ``nx-27017`` (default) or ``secantusdb``; a usage error for anything else."""
    name = os.environ.get("TEST_MONGO_SERVER", "nx-27017").strip().lower() or "nx-27017"
    if name not in SERVERS:
        raise pytest.UsageError(f"TEST_MONGO_SERVER={name!r}: choose one of {', '.join(SERVERS)}")
    return name


def start_secantusdb(port: int, data: Path, log_dir: Path) -> ManagedProcess:
    """SecantusDB (the MongoDB wire protocol on WiredTiger) on 127.0.0.1:port, kept in ``data``."""
    data.mkdir(parents=True, exist_ok=True)
    config = data / "secantusd.toml"  # an empty file of our own: no configuration is picked up from elsewhere
    config.touch()
    argv = python_argv(
        "-m",
        "secantus",
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--storage-path",
        str(data / "wiredtiger"),
        "--log-level",
        "WARNING",
    )
    proc = ManagedProcess("secantusdb", argv, log_dir / "secantusdb.log", cwd=data)
    return proc.start(lambda: port_open(port), timeout=60)


def start_test_mongo(port: int, data: Path, log_dir: Path) -> ManagedProcess:
    """The chosen server on 127.0.0.1:port (nx-27017 in memory, SecantusDB in ``data``)."""
    if chosen_server() == "secantusdb":
        return start_secantusdb(port, data, log_dir)
    return start_mongo(port, None, log_dir)
