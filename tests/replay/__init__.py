"""Replay stores for single-use token ids."""
