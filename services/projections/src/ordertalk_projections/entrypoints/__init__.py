"""Entrypoints: the HTTP API and the Kafka consumer handler."""
