"""The types of the named option values of a validation policy (``UNCHECKED``,
``NO_AUDIENCE``, ``UNSAFE_ANY_AUDIENCE``; the values themselves are in
:mod:`tokensmith.policy`). Other modules check for them by type, e.g. the RFC 9068 profile.
"""

from __future__ import annotations

from typing import ClassVar, Self, cast

__all__ = ["NoAudience", "Sentinel", "Unchecked", "UnsafeAnyAudience"]


class Sentinel:
    """A named option value, one instance per subclass, compared by identity."""

    __slots__ = ()
    _name: ClassVar[str]
    _instances: ClassVar[dict[type, Sentinel]] = {}

    def __new__(cls) -> Self:
        instance = Sentinel._instances.get(cls)
        if instance is None:
            instance = Sentinel._instances[cls] = super().__new__(cls)
        return cast(Self, instance)

    def __repr__(self) -> str:
        return self._name


class Unchecked(Sentinel):
    """Sentinel type of :data:`~tokensmith.UNCHECKED`."""

    __slots__ = ()
    _name = "UNCHECKED"


class NoAudience(Sentinel):
    """``audience=NO_AUDIENCE``: this service has no audience of its own.

    A token without ``aud`` (or with an empty list) passes; a token naming any audience is
    meant for some other service and is refused (:class:`~tokensmith.errors.InvalidAudience`),
    as RFC 7519 §4.1.3 requires of a principal that is not in the token's ``aud``.
    """

    __slots__ = ()
    _name = "NO_AUDIENCE"


class UnsafeAnyAudience(Sentinel):
    """``audience=UNSAFE_ANY_AUDIENCE``: accept a token whatever audience it names. Dangerous.

    A token issued for another service is accepted here, against RFC 7519 §4.1.3. Only for a
    component that legitimately serves every audience of its issuer (an authorization server's
    own introspection or revocation endpoint); a resource server names its audience, or uses
    :data:`~tokensmith.NO_AUDIENCE`. The shape of ``aud`` is still checked.
    """

    __slots__ = ()
    _name = "UNSAFE_ANY_AUDIENCE"
