"""Connection parameters of the PostgreSQL server the tests use."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class PostgresParams:
    """Host, port, credentials and database of a PostgreSQL server."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    dbname: str = "postgres"

    @classmethod
    def from_env(cls) -> PostgresParams:
        """From POSTGRES_HOST/PORT/USER/PASSWORD/DB, defaulting to the machine's server."""
        return cls(
            host=os.environ.get("POSTGRES_HOST", "127.0.0.1"),
            port=int(os.environ.get("POSTGRES_PORT", "5432")),
            user=os.environ.get("POSTGRES_USER", "postgres"),
            password=os.environ.get("POSTGRES_PASSWORD", ""),
            dbname=os.environ.get("POSTGRES_DB", "postgres"),
        )

    def with_db(self, dbname: str) -> PostgresParams:
        """The same server, another database."""
        return replace(self, dbname=dbname)

    def conninfo(self) -> str:
        """A libpq connection string."""
        return f"host={self.host} port={self.port} user={self.user} password={self.password} dbname={self.dbname}"

    def env(self) -> dict[str, str]:
        """POSTGRES_* variables naming this database."""
        return {
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_DB": self.dbname,
        }
