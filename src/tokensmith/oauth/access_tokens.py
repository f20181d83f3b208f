"""RFC 9068 JWT access tokens: issue them, and a validator profile that enforces the profile."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from .._sentinels import NoAudience, Unchecked, UnsafeAnyAudience
from ..claims import VerifiedToken
from ..confirmation import Confirmation
from ..errors import ConfigurationError, InvalidClaim
from ..signer import IssuedToken, Signer
from ..validator import Validator

__all__ = [
    "ACCESS_TOKEN_REQUIRED_CLAIMS",
    "ACCESS_TOKEN_TYPE",
    "access_token_validator",
    "issue_access_token",
]

ACCESS_TOKEN_TYPE: Final = "at+jwt"
"""The ``typ`` header of an RFC 9068 access token (``application/at+jwt`` is accepted too)."""

ACCESS_TOKEN_REQUIRED_CLAIMS: Final = frozenset(
    {"iss", "exp", "aud", "sub", "client_id", "iat", "jti"}
)
"""Claims RFC 9068 §2.2 makes mandatory; the validator profile refuses a token missing any."""

_PROFILE_OPTIONS: Final = frozenset({"token_types"})


def issue_access_token(
    signer: Signer,
    *,
    client_id: str,
    audience: str | Iterable[str],
    subject: str | None = None,
    scopes: Iterable[str] | None = None,
    claims: Mapping[str, Any] | None = None,
    ttl: float | None = None,
    confirmation: Confirmation | None = None,
) -> IssuedToken:
    """Issue an RFC 9068 access token: ``typ: at+jwt``, ``client_id``, ``jti``, ``iat``, ``aud``.

    ``subject`` is the resource owner; when there is none (client credentials) it defaults to
    the ``client_id``, as RFC 9068 §2.2 prescribes. ``claims`` may add ``auth_time``, ``acr``,
    ``sid`` and the like, but not ``client_id``, which this function sets. ``confirmation``
    (the token request's verified DPoP proof, RFC 9449 §5) binds the token: it gets ``cnf``.
    """
    if not isinstance(client_id, str) or not client_id:
        raise ConfigurationError("client_id must be a non-empty string")
    if audience is None:
        raise ConfigurationError("an access token needs an audience (RFC 9068 §2.2)")
    extra = dict(claims or {})
    if "client_id" in extra:
        raise ConfigurationError("pass client_id as the argument, not as a custom claim")
    extra["client_id"] = client_id
    return signer.issue_token(
        client_id if subject is None else subject,
        audience=audience,
        scopes=scopes,
        claims=extra,
        ttl=ttl,
        token_type=ACCESS_TOKEN_TYPE,
        confirmation=confirmation,
    )


def access_token_validator(
    keys: Any,
    *,
    issuer: str | Iterable[str],
    audience: str | Iterable[str] | UnsafeAnyAudience,
    **options: Any,
) -> Validator:
    """A :class:`~tokensmith.Validator` that accepts RFC 9068 access tokens and nothing else.

    The ``typ`` header must be ``at+jwt`` (a missing ``typ`` is refused: an ID token or any
    other JWT signed by the same issuer cannot pass as an access token), every claim of
    :data:`ACCESS_TOKEN_REQUIRED_CLAIMS` must be present and ``client_id`` must be a string.
    ``issuer`` is mandatory (RFC 9068 §4). ``audience`` is this resource server's; an access
    token always names its audience (RFC 9068 §3), so ``NO_AUDIENCE`` is refused, and
    :data:`~tokensmith.UNSAFE_ANY_AUDIENCE` is only for an authorization server's own
    introspection or revocation endpoint, never for a resource server.
    Other keyword ``options`` are :class:`~tokensmith.Validator`'s; ``token_types`` is fixed.
    """
    fixed = _PROFILE_OPTIONS.intersection(options)
    if fixed:
        raise ConfigurationError(f"the RFC 9068 profile fixes {sorted(fixed)}")
    if isinstance(issuer, Unchecked):
        raise ConfigurationError("RFC 9068 §4: an access token's issuer must be checked")
    if isinstance(audience, NoAudience):
        raise ConfigurationError(
            "an RFC 9068 access token always names its audience: pass this resource server's "
            "(or UNSAFE_ANY_AUDIENCE for an authorization server's introspection endpoint)"
        )
    required = set(ACCESS_TOKEN_REQUIRED_CLAIMS)
    extra_required = options.pop("required_claims", ())
    required.update((extra_required,) if isinstance(extra_required, str) else extra_required)
    checks = (_check_client_id, *options.pop("checks", ()))
    return Validator(
        keys,
        issuer=issuer,
        audience=audience,
        token_types=(ACCESS_TOKEN_TYPE,),
        required_claims=required,
        checks=checks,
        **options,
    )


def _check_client_id(token: VerifiedToken) -> None:
    client_id = token.claims.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        raise InvalidClaim("'client_id' must be a non-empty string", claim="client_id")
