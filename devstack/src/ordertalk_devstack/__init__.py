"""Local stand-in servers and the one-command stack of the order-messaging system."""
