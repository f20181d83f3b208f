"""Issuer URLs with one tenant placeholder, e.g. ``https://login.example.com/{tid}/v2.0``.

Multi-tenant identity providers give every tenant its own issuer, the same URL with the
tenant's id inside. A template turns "any tenant of this provider" into a rule that a
validator can enforce, without listing the tenants:

* the placeholder's value is held to a narrow alphabet: always RFC 3986 *unreserved*
  characters only (ASCII letters, digits, ``-._~``), never ``.`` or ``..`` alone, at most
  :data:`MAX_TENANT_LENGTH` characters, and by default ``[A-Za-z0-9-]{1,64}``. A ``/``, a
  ``%2f``, a ``?``, an ``@`` or a non-ASCII look-alike can never reach the URL, so a "tenant"
  cannot add path segments, change the host or smuggle in another issuer;
* the tenant named in the issuer must be the tenant the token is about: the claim named like
  the placeholder (``tid`` above) must equal it, checked after the signature.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from .._http import check_url
from ..errors import ConfigurationError, InvalidClaim, InvalidIssuer, MissingClaim

if TYPE_CHECKING:
    from ..claims import VerifiedToken

__all__ = ["DEFAULT_TENANT_PATTERN", "MAX_TENANT_LENGTH", "IssuerTemplate", "TenantCheck"]

DEFAULT_TENANT_PATTERN: Final = r"[A-Za-z0-9-]{1,64}"
"""What a tenant id may be unless the template says otherwise (GUIDs and slugs)."""

MAX_TENANT_LENGTH: Final = 128
"""The longest tenant id any template accepts, whatever its pattern."""

_PLACEHOLDER: Final = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")
_UNRESERVED: Final = re.compile(r"[A-Za-z0-9._~-]+")
_SAMPLE: Final = "tenant"


class IssuerTemplate:
    """An issuer URL with exactly one ``{name}`` placeholder standing for a tenant id.

    :param template: the issuer with the placeholder, e.g.
        ``"https://login.example.com/{tid}/v2.0"``; https (plain http for loopback only), no
        query or fragment.
    :param pattern: a regular expression the whole tenant id must match (default
        :data:`DEFAULT_TENANT_PATTERN`); it can only narrow the unreserved alphabet above.
    :param claim: the claim that must equal the tenant id (default ``""``: the claim named like
        the placeholder), or ``None`` when the tokens carry no such claim (the issuer alone
        names the tenant).
    """

    __slots__ = ("_pattern", "_prefix", "_suffix", "claim", "template")

    def __init__(
        self,
        template: str,
        *,
        pattern: str = DEFAULT_TENANT_PATTERN,
        claim: str | None = "",
    ) -> None:
        if not isinstance(template, str):
            raise ConfigurationError("an issuer template must be a string")
        found = list(_PLACEHOLDER.finditer(template))
        if len(found) != 1 or template.count("{") != 1 or template.count("}") != 1:
            raise ConfigurationError("an issuer template has exactly one {name} placeholder")
        placeholder = found[0]
        prefix, suffix = template[: placeholder.start()], template[placeholder.end() :]
        if "://" not in prefix:
            raise ConfigurationError("the placeholder must come after the template's scheme")
        try:
            check_url(prefix + _SAMPLE + suffix, "issuer template")
            self._pattern = re.compile(pattern)
        except re.error:
            raise ConfigurationError("the tenant pattern is not a regular expression") from None
        if "?" in template or "#" in template:
            raise ConfigurationError("an issuer template may not have a query or fragment")
        if claim is not None and not isinstance(claim, str):
            raise ConfigurationError("claim must be a claim name or None")
        if claim == "":
            claim = placeholder.group(1)
        self.template = template
        """The template as given."""
        self.claim = claim
        """The claim that must equal the tenant id, or ``None``."""
        self._prefix = prefix
        self._suffix = suffix

    def __repr__(self) -> str:
        return f"IssuerTemplate({self.template!r}, claim={self.claim!r})"

    def tenant(self, issuer: str) -> str | None:
        """The tenant id ``issuer`` names under this template, or ``None`` if it does not fit."""
        prefix, suffix = self._prefix, self._suffix
        if (
            len(issuer) > len(prefix) + len(suffix) + MAX_TENANT_LENGTH
            or not issuer.startswith(prefix)
            or not issuer.endswith(suffix)
        ):
            return None
        value = issuer[len(prefix) : len(issuer) - len(suffix)]
        if (
            not _UNRESERVED.fullmatch(value)
            or not value.strip(".")
            or not self._pattern.fullmatch(value)
        ):
            return None
        return value

    def tenant_check(self, tenant: str) -> TenantCheck | None:
        """The custom check a validator for ``tenant``'s issuer runs (``None`` without a
        claim to compare)."""
        return None if self.claim is None else TenantCheck(self.claim, tenant)


class TenantCheck:
    """A claim check: the token's ``claim`` must be exactly ``tenant`` (the issuer's).

    Raises :class:`~tokensmith.errors.MissingClaim` when the claim is absent,
    :class:`~tokensmith.errors.InvalidClaim` when it is not a string and
    :class:`~tokensmith.errors.InvalidIssuer` when it names another tenant: the issuer is then
    not this tenant's, whoever signed it.
    """

    __slots__ = ("claim", "tenant")

    def __init__(self, claim: str, tenant: str) -> None:
        self.claim = claim
        self.tenant = tenant

    def __repr__(self) -> str:
        return f"TenantCheck({self.claim!r}, {self.tenant!r})"

    def __call__(self, token: VerifiedToken) -> None:
        value = token.claims.get(self.claim)
        if value is None:
            raise MissingClaim(f"the token has no {self.claim!r}", claim=self.claim)
        if value.__class__ is not str:
            raise InvalidClaim(f"{self.claim!r} must be a string", claim=self.claim)
        if value != self.tenant:
            raise InvalidIssuer(
                f"the token's {self.claim!r} is not the tenant its issuer names", claim=self.claim
            )
