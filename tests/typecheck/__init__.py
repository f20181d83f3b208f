"""Files that mypy --strict checks and pytest never runs: typed usage of the public API."""
