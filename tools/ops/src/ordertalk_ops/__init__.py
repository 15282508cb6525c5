"""Operator tooling of the order-messaging system."""
