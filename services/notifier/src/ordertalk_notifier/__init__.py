"""The notifier: e-mails about order threads (through an outbox) and live bell alerts (SSE)."""
