"""FastStream's KafkaBroker built from the system's Kafka settings (servers, security, producer guarantees)."""

from __future__ import annotations

import logging
import ssl
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from ordertalk_runtime.kafka import KafkaSettings, forbid_implicit_topic_creation


def security_for(kafka: KafkaSettings) -> BaseSecurity | None:
    """FastStream's security object for the configured protocol and SASL mechanism (None: plaintext)."""
    protocol = kafka.security_protocol
    if protocol == "PLAINTEXT":
        return None
    use_ssl = protocol in ("SSL", "SASL_SSL")
    context = ssl.create_default_context() if use_ssl else None
    if protocol == "SSL":
        return BaseSecurity(ssl_context=context, use_ssl=True)
    user, password = kafka.sasl_username or "", kafka.sasl_password or ""
    mechanism = (kafka.sasl_mechanism or "PLAIN").upper()
    if mechanism == "SCRAM-SHA-256":
        return SASLScram256(user, password, ssl_context=context, use_ssl=use_ssl)
    if mechanism == "SCRAM-SHA-512":
        return SASLScram512(user, password, ssl_context=context, use_ssl=use_ssl)
    return SASLPlaintext(user, password, ssl_context=context, use_ssl=use_ssl)


def broker_for(kafka: KafkaSettings, *, description: str | None = None) -> KafkaBroker:
    """A broker that never creates topics (they are the system's own), with an acks=all producer.

    FastStream's per-message log lines go to DEBUG: the runtime logs each handled batch itself. Handlers get the
    decoded body as their one argument, without FastStream's dependency injection (``apply_types=False``): it
    resolves a context-injected argument such as ``KafkaMessage`` in a worker thread, for every batch (a thread
    hop and an anyio task group on the way to each handler: ~2 ms of each bell alert's latency in the notifier).
    """
    forbid_implicit_topic_creation()  # its aiokafka clients ask for metadata without creating topics too
    return KafkaBroker(
        kafka.bootstrap_servers,
        security=security_for(kafka),
        allow_auto_create_topics=False,
        acks="all",
        enable_idempotence=kafka.enable_idempotence,
        description=description,
        log_level=logging.DEBUG,
        apply_types=False,
    )


def group_kwargs(kafka: KafkaSettings, name: str) -> dict[str, Any]:
    """The consumer-group timing arguments for consumer ``name`` (static membership, session timeout)."""
    method = getattr(kafka, "consumer_group_kwargs", None)
    return dict(method(name)) if callable(method) else {}
