"""What the use cases reach the outside through: the event store and its side tables, Kafka, wake-ups."""
