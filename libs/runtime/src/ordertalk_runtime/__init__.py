"""Edge pieces shared by every ordertalk service (auth, problem errors, Kafka settings)."""
