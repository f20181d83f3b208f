"""The attack suite's two verbs, through the face under test (``validate`` or ``avalidate``,
chosen by the ``face`` fixture of conftest.py, which runs every attack through both):

``validated(validator, token)``: the accepted token; ``refused(validator, token, Error)``: the
exact refusal class, never a subclass or parent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest

from tokensmith import Validator, VerifiedToken
from tokensmith.errors import TokensmithError

FACES = ("validate", "avalidate")


class Face:
    """The face every attack goes through now; ``runner`` drives ``avalidate``."""

    name = "validate"
    runner: asyncio.Runner | None = None


def validated(
    validator: Validator, token: str | bytes, *, scopes: Iterable[str] = ()
) -> VerifiedToken:
    """``validator.validate(token)``, or the same through ``avalidate`` on an event loop."""
    if Face.name == "validate":
        return validator.validate(token, scopes=scopes)
    assert Face.runner is not None
    return Face.runner.run(validator.avalidate(token, scopes=scopes))


def refused(
    validator: Validator,
    token: str | bytes,
    error: type[TokensmithError],
    *,
    scopes: Iterable[str] = (),
) -> TokensmithError:
    """Validate ``token``; it must raise exactly ``error`` (``type(exc) is error``)."""
    with pytest.raises(error) as info:
        validated(validator, token, scopes=scopes)
    assert type(info.value) is error, f"expected {error.__name__}, got {type(info.value).__name__}"
    return info.value
