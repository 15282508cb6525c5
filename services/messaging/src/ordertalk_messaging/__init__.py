"""Write side of order conversation threads: event-sourced commands, HTTP API, relay to Kafka."""
