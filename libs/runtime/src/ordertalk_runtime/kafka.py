"""Kafka connection settings shared by every producer and consumer of the system."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)


class KafkaSettings(BaseSettings):
    """Where the Kafka cluster is and how to talk to it (``KAFKA_*`` environment variables)."""

    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    enable_idempotence: bool = Field(
        default=True,
        description="Idempotent producer; switch off for brokers without InitProducerId (the local stand-in).",
    )
    topic_partitions: int = Field(default=6, ge=1, description="Partitions of topics this system creates.")
    topic_replication: int = Field(default=1, ge=1)

    def client_kwargs(self) -> dict[str, Any]:
        """Connection arguments common to aiokafka producers, consumers and admin clients."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            kwargs |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password,
            }
        return kwargs

    def producer_kwargs(self) -> dict[str, Any]:
        """Arguments of a producer that loses nothing and keeps per-key order."""
        return self.client_kwargs() | {"acks": "all", "enable_idempotence": self.enable_idempotence}


async def ensure_topics(settings: KafkaSettings, topics: tuple[str, ...] | list[str]) -> None:
    """Create the topics that do not exist yet (retrying while the broker starts)."""
    for attempt in range(30):
        admin = AIOKafkaAdminClient(**settings.client_kwargs())
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in topics if t not in existing]
            if missing:
                new = [NewTopic(t, settings.topic_partitions, settings.topic_replication) for t in missing]
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(new)
            return
        except KafkaError as exc:
            if attempt == 29:
                raise
            log.info("broker not ready (%s); retrying", exc)
            await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
        finally:
            await admin.close()
