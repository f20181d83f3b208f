"""Refresh tokens: the manager and every store."""
