"""The docs and examples run as written, and the pages derived from code match it."""
