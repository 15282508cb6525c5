"""Fault injection against the whole running system (``make test-faults``)."""
