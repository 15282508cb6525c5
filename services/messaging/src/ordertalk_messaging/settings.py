"""Settings of the messaging service, read from the environment listed in docs/interfaces.md."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ordertalk_runtime.auth import AuthSettings
from ordertalk_runtime.kafka import KafkaSettings

DEFAULT_CORS = "http://127.0.0.1:8000,http://localhost:8000"


class Settings(BaseSettings):
    """Everything the service needs to wire itself (see bootstrap.py)."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    event_store: Literal["sqlite", "postgres"] = Field(default="sqlite", alias="EVENT_STORE")
    sqlite_path: Path = Field(default=Path("var/eventstore.sqlite"), alias="EVENT_STORE_SQLITE_PATH")
    postgres_host: str = Field(default="127.0.0.1", alias="POSTGRES_HOST")
    postgres_port: int = Field(default=5432, alias="POSTGRES_PORT")
    postgres_user: str = Field(default="postgres", alias="POSTGRES_USER")
    postgres_password: str = Field(default="", alias="POSTGRES_PASSWORD")
    postgres_db: str = Field(default="postgres", alias="POSTGRES_DB")
    postgres_pool_size: int = Field(default=10, ge=1, alias="POSTGRES_POOL_SIZE")
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        default="FULL",
        alias="SQLITE_SYNCHRONOUS",
        description="FULL: every commit reaches the disk before it is answered or published.",
    )
    writer_max_queue: int = Field(default=5000, ge=1, alias="WRITER_MAX_QUEUE")
    aggregate_cache_maxsize: int = Field(default=10_000, ge=0, alias="AGGREGATE_CACHE_MAXSIZE")
    snapshot_interval: int = Field(
        default=100,
        ge=0,
        alias="SNAPSHOT_INTERVAL",
        description="Snapshot a thread every this many events, so a cold load reads fewer than that many (0: off).",
    )
    cors_origins: str = Field(default=DEFAULT_CORS, alias="CORS_ORIGINS")
    relay_enabled: bool = Field(default=True, alias="RELAY_ENABLED", description="Run the relay inside serve.")
    relay_republish_on_start: bool = Field(default=False, alias="RELAY_REPUBLISH_ON_START")
    relay_poll_seconds: float = Field(default=1.0, gt=0, alias="RELAY_POLL_SECONDS")
    relay_linger_seconds: float = Field(default=0.005, ge=0, le=0.04, alias="RELAY_LINGER_SECONDS")
    relay_record_seconds: float = Field(default=0.5, ge=0, alias="RELAY_RECORD_SECONDS")
    relay_batch_size: int = Field(default=500, ge=1, alias="RELAY_BATCH_SIZE")
    orders_consumer_enabled: bool = Field(default=True, alias="ORDERS_CONSUMER_ENABLED")
    orders_consumer_group: str = Field(default="ordertalk-messaging-orders", alias="ORDERS_CONSUMER_GROUP")
    kafka: KafkaSettings = Field(default_factory=KafkaSettings, exclude=True)
    auth: AuthSettings = Field(default_factory=AuthSettings, exclude=True)

    def postgres_conninfo(self) -> str:
        """A libpq connection string for the PostgreSQL event store."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(
            host=self.postgres_host,
            port=self.postgres_port,
            user=self.postgres_user,
            password=self.postgres_password,
            dbname=self.postgres_db,
            connect_timeout=10,
        )

    def cors_origin_list(self) -> list[str]:
        """The allowed browser origins."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]

    def eventsourcing_env(self) -> dict[str, str]:
        """The environment of the eventsourcing Application (persistence module and its options)."""
        env = {"AGGREGATE_CACHE_MAXSIZE": str(self.aggregate_cache_maxsize)} if self.aggregate_cache_maxsize else {}
        # Only the writer thread changes cached threads, and it restores a thread whose save failed. A thread
        # another process changed meanwhile is not read again before each command (no fast-forward query):
        # its save then conflicts on the version, and the writer catches it up and decides again.
        env["AGGREGATE_CACHE_FASTFORWARD"] = "n"
        env["DEEPCOPY_FROM_AGGREGATE_CACHE"] = "n"
        # Snapshots in the library's snapshots table, written by MessagingStore in the events' own commit.
        env["SNAPSHOT_INTERVAL"] = str(self.snapshot_interval)
        env["IS_SNAPSHOTTING_ENABLED"] = "y" if self.snapshot_interval else "n"
        if self.event_store == "postgres":
            from ordertalk_messaging.adapters.storage.postgres_recorder import RECORDER_TOPIC as POSTGRES_RECORDER

            return env | {
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "APPLICATION_RECORDER_TOPIC": POSTGRES_RECORDER,
                "POSTGRES_DBNAME": self.postgres_db,
                "POSTGRES_HOST": self.postgres_host,
                "POSTGRES_PORT": str(self.postgres_port),
                "POSTGRES_USER": self.postgres_user,
                "POSTGRES_PASSWORD": self.postgres_password,
                "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
                "POSTGRES_MAX_OVERFLOW": str(self.postgres_pool_size),
                "POSTGRES_LOCK_TIMEOUT": "10",
                "POSTGRES_CONNECT_TIMEOUT": "10",
            }
        from ordertalk_messaging.adapters.storage.sqlite_recorder import RECORDER_TOPIC  # imports eventsourcing.sqlite

        return env | {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "APPLICATION_RECORDER_TOPIC": RECORDER_TOPIC,
            "SQLITE_DBNAME": str(self.sqlite_path),
            "SQLITE_LOCK_TIMEOUT": "30",
        }
