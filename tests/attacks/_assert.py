"""``refused(validator, token, Error)``: the exact refusal class, never a subclass or parent."""

from __future__ import annotations

import pytest

from tokensmith import Validator
from tokensmith.errors import TokensmithError


def refused(
    validator: Validator, token: str | bytes, error: type[TokensmithError]
) -> TokensmithError:
    """Validate ``token``; it must raise exactly ``error`` (``type(exc) is error``)."""
    with pytest.raises(error) as info:
        validator.validate(token)
    assert type(info.value) is error, f"expected {error.__name__}, got {type(info.value).__name__}"
    return info.value
