"""Kafka connection settings shared by every producer and consumer of the system."""

from __future__ import annotations

import contextlib
import socket
from typing import Any, Literal

import aiokafka.admin.client
import aiokafka.client
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.protocol.metadata import MetadataRequest
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ordertalk_runtime.retry import retrying


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
    topic_check_seconds: float = Field(
        default=3.0, gt=0, description="How often each service checks its topics exist with their partition count."
    )

    static_membership: bool = Field(
        default=False,
        description="KIP-345 static group membership: a consumer restarted with the same instance id gets its "
        "partitions back without a rebalance (Kafka 2.3+). Off on the local stand-in, which holds every "
        "static JoinGroup and SyncGroup 3 s each.",
    )
    group_instance_id: str | None = Field(
        default=None,
        description="This process's stable name for static membership (the pod name); the host name if unset. "
        "Each consumer appends its own name.",
    )
    session_timeout_ms: int = Field(
        default=10_000,
        ge=1,
        description="A consumer that stops heartbeating leaves its group after this long (Kafka accepts "
        "6000-1800000 by default; the local stand-in anything).",
    )
    heartbeat_interval_ms: int = Field(default=3_000, ge=1, description="Below a third of the session timeout.")

    def client_kwargs(self) -> dict[str, Any]:
        """Connection arguments common to aiokafka producers, consumers and admin clients.

        Building them also makes every aiokafka client of the process ask metadata without creating topics
        (see ``forbid_implicit_topic_creation``): aiokafka 0.14 has no setting for it.
        """
        forbid_implicit_topic_creation()
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

    def consumer_group_kwargs(self, consumer_name: str) -> dict[str, Any]:
        """Consumer-group timing arguments (aiokafka's and FastStream's subscriber's) for consumer ``consumer_name``.

        With static membership the instance id is ``<group_instance_id or host name>-<consumer_name>``: stable
        across restarts of the process, distinct for each consumer in it.
        """
        if self.heartbeat_interval_ms >= self.session_timeout_ms:
            raise ValueError("KAFKA_HEARTBEAT_INTERVAL_MS must be below KAFKA_SESSION_TIMEOUT_MS")
        instance = None
        if self.static_membership:
            instance = f"{self.group_instance_id or socket.gethostname()}-{consumer_name}"
        return {
            "group_instance_id": instance,
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
        }


class NoAutoCreateMetadataRequest(MetadataRequest):  # type: ignore[misc]
    """A metadata request that never asks the broker to create the topics it names (v4+ of the API)."""

    def __init__(self, topics: list[str] | None = None, allow_auto_topic_creation: bool | None = None) -> None:
        super().__init__(topics, False if allow_auto_topic_creation is None else allow_auto_topic_creation)


def forbid_implicit_topic_creation() -> None:
    """Make aiokafka's clients (producers, consumers, admin, FastStream's) send metadata requests with
    ``allow_auto_topic_creation=false``.

    aiokafka 0.14 always sends ``true`` (its ``MetadataRequest`` default) and offers no option, so a
    producer or a consumer asking about a topic the broker lost re-creates it with the broker's default
    partition count. The request class its modules use is swapped for one whose default is ``false``;
    idempotent. Brokers that speak only metadata v0-v3 cannot be told; there the topic check catches it.
    """
    aiokafka.client.MetadataRequest = NoAutoCreateMetadataRequest
    aiokafka.admin.client.MetadataRequest = NoAutoCreateMetadataRequest


async def ensure_topics(settings: KafkaSettings, topics: tuple[str, ...] | list[str]) -> None:
    """Create the topics that do not exist yet (retried by the one policy while the broker starts, up to a minute)."""
    await retrying(_create_missing, settings, topics, on=(KafkaError,), what="checking the topics", within=60.0)


async def _create_missing(settings: KafkaSettings, topics: tuple[str, ...] | list[str]) -> None:
    admin = AIOKafkaAdminClient(**settings.client_kwargs())
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            new = [NewTopic(t, settings.topic_partitions, settings.topic_replication) for t in missing]
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
    finally:
        await admin.close()
