"""Adapters of the notifier to real servers: MongoDB, SMTP, Kafka."""
