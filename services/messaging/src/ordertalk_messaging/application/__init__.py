"""Use cases of the messaging service, the ports they need and the single writer (the unit of work)."""
