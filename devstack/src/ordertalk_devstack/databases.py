"""Throw-away PostgreSQL databases for the tests and the benchmarks: created empty, dropped with all they hold."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql


def create_database(conninfo: str, prefix: str) -> str:
    """A new empty database, named ``<prefix>_<12 hex digits>``, on the server ``conninfo`` connects to."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_database(conninfo: str, name: str) -> None:
    """Drop ``name`` and everything in it, closing its sessions (none left behind to block the drop)."""
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def throwaway_database(conninfo: str, prefix: str) -> Iterator[str]:
    """A new empty database for the duration of the block (its name), dropped afterwards."""
    name = create_database(conninfo, prefix)
    try:
        yield name
    finally:
        drop_database(conninfo, name)
