"""HTTP command API of the messaging service."""
