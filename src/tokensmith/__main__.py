"""``python -m tokensmith``: the same command as the ``tokensmith`` console script."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
