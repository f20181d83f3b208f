"""Revocation lists: memory, SQLite, Redis."""
