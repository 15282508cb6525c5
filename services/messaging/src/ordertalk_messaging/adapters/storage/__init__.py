"""Tables kept beside the event store: idempotency keys, relay position, per-thread log."""
