"""The notifier's settings, read from the environment."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SmtpSettings(BaseSettings):
    """Where and how to deliver e-mail (``SMTP_*`` environment variables)."""

    model_config = SettingsConfigDict(env_prefix="SMTP_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=1025, ge=1, le=65535)
    tls: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = Field(default=10.0, gt=0)
    connections: int = Field(default=4, ge=1, le=64, description="Parallel SMTP connections (senders).")


class Settings(BaseSettings):
    """Everything the notifier needs besides Kafka, SMTP and auth (which have their own prefixes)."""

    model_config = SettingsConfigDict(extra="ignore")

    mongo_url: str = "mongodb://127.0.0.1:27017"
    mongo_db: str = "ordertalk"
    mail_from: str = "ordertalk@example.com"
    mail_from_name: str = "Order messages"
    store_notification_email: str = "store@example.com"
    admin_base_url: str = "http://127.0.0.1:8000/admin"
    storefront_base_url: str = "http://127.0.0.1:8000/store"
    cors_origins: str = "http://127.0.0.1:8000,http://localhost:8000"
    notifier_consumer_group: str = "ordertalk-notifier"
    notifier_fetch_max_wait_ms: int = Field(default=10, ge=0, le=1000)
    notifier_stall_seconds: float = Field(
        default=30.0,
        gt=0,
        description="/readyz answers 503 when the consumer has lag and its committed offsets have not moved for this"
        " long.",
    )
    notifier_retry_initial_seconds: float = Field(default=1.0, gt=0)
    notifier_retry_max_seconds: float = Field(default=60.0, gt=0)
    notifier_lease_seconds: float = Field(
        default=30.0, gt=0, description="How long a claimed e-mail stays hidden from other senders (crash recovery)."
    )
    notifier_poll_seconds: float = Field(default=1.0, gt=0, description="How often due outbox rows are looked for.")
    notifier_max_unmarked: int = Field(
        default=4,
        ge=1,
        le=1000,
        description="E-mails per SMTP connection handed to the server and not yet marked sent, at most: what a crash"
        " may send twice. Sending waits for the mark when this many are unmarked.",
    )
    notifier_probe_seconds: float = Field(
        default=1.0, gt=0, description="During an SMTP outage, how often the server is asked whether it answers."
    )

    @property
    def cors_origin_list(self) -> list[str]:
        """CORS_ORIGINS as a list."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
