"""The tokensmith command."""
