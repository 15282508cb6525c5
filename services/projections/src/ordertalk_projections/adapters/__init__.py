"""Adapters: MongoDB read models and queries, the messaging event feed, the held-events voucher."""
