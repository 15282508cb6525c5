"""Settings of the projections service, from the environment."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ordertalk_runtime.auth import AuthSettings
from ordertalk_runtime.kafka import KafkaSettings

DEFAULT_CORS = "http://127.0.0.1:8000,http://localhost:8000"


class Settings(BaseSettings):
    """Everything the service wires from: servers, auth, consumer tuning."""

    model_config = SettingsConfigDict(extra="ignore")

    mongo_url: str = "mongodb://127.0.0.1:27017"
    mongo_db: str = "ordertalk"
    messaging_url: str | None = Field(default=None, description="Base URL of the messaging service's event feed.")
    cors_origins: str = DEFAULT_CORS
    projections_group: str = Field(default="ordertalk-projections", description="Consumer group of the workers.")
    projections_fetch_max_wait_ms: int = Field(default=20, ge=1, le=500)
    projections_batch: int = Field(default=500, ge=1, le=5000)
    projections_read_wait_seconds: float = Field(default=2.0, ge=0, le=10)
    projections_heal_after_seconds: float = Field(default=2.0, ge=0)
    projections_stall_seconds: float = Field(
        default=30.0,
        gt=0,
        description="/readyz answers 503 when the consumer has lag and its committed offsets have not moved for this"
        " long.",
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)

    @property
    def cors_origin_list(self) -> list[str]:
        """The allowed browser origins."""
        return [o.strip() for o in self.cors_origins.split(",") if o.strip()]
