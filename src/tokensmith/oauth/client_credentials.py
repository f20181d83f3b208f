"""The client-credentials grant (RFC 6749 §4.4) for an already-authenticated client.

Scope rule (RFC 6749 §3.3), exactly:

1. ``scope`` must be space-separated scope tokens (``%x21 / %x23-5B / %x5D-7E``), single
   spaces between them; anything else is ``invalid_scope``.
2. When the request has no ``scope`` (or an empty one), the client's ``default_scopes`` are
   requested instead; a client without defaults gets ``invalid_scope``.
3. The granted scopes are the requested ones the client is allowed, in request order, without
   duplicates. Requested scopes outside ``allowed_scopes`` are dropped silently (the response's
   ``scope`` says what was granted), unless ``strict_scopes=True``, which refuses the request.
4. If nothing is left, the request is refused with ``invalid_scope``: a client never gets a
   token with fewer rights than it asked for *and none at all*.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ..confirmation import Confirmation
from ..errors import (
    ConfigurationError,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from ..signer import IssuedToken, Signer
from .access_tokens import issue_access_token
from .dpop_binding import access_token_type, require_dpop
from .params import request_param
from .responses import OAuthResponse, json_response

__all__ = [
    "Client",
    "client_credentials_grant",
    "grant_scopes",
    "parse_scope",
    "token_response",
]

_SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def _scope_set(name: str, value: Iterable[str]) -> frozenset[str]:
    values = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(v, str) and _SCOPE_TOKEN.fullmatch(v) for v in values):
        raise ConfigurationError(f"{name} must be scope tokens (RFC 6749 §3.3)")
    return frozenset(values)


@dataclass(frozen=True, slots=True)
class Client:
    """A registered client, as your client registry knows it (after authentication).

    :param client_id: the client's identifier.
    :param allowed_scopes: every scope this client may ever be granted.
    :param audience: the ``aud`` of access tokens issued to this client (the API it calls).
    :param default_scopes: granted when a request names no scope (empty: such requests fail).
    :param grant_types: grants this client may use.
    :param redirect_uris: registered redirect URIs (exact match) for the code flow.
    :param dpop_bound_access_tokens: the RFC 9449 §5.2 client metadata: every token request of
        this client must carry a DPoP proof (else
        :class:`~tokensmith.errors.DPoPProofRequired`).
    """

    client_id: str
    allowed_scopes: frozenset[str] = frozenset()
    audience: str | tuple[str, ...] = ()
    default_scopes: frozenset[str] = frozenset()
    grant_types: frozenset[str] = frozenset({"client_credentials"})
    redirect_uris: tuple[str, ...] = field(default=())
    dpop_bound_access_tokens: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.client_id, str) or not self.client_id:
            raise ConfigurationError("client_id must be a non-empty string")
        object.__setattr__(
            self, "allowed_scopes", _scope_set("allowed_scopes", self.allowed_scopes)
        )
        object.__setattr__(
            self, "default_scopes", _scope_set("default_scopes", self.default_scopes)
        )
        if not self.default_scopes <= self.allowed_scopes:
            raise ConfigurationError("default_scopes must be a subset of allowed_scopes")
        audience = self.audience
        audiences = (audience,) if isinstance(audience, str) else tuple(audience)
        if not all(isinstance(a, str) and a for a in audiences):
            raise ConfigurationError("audience must be a string or strings")
        object.__setattr__(self, "audience", audiences[0] if len(audiences) == 1 else audiences)
        object.__setattr__(self, "grant_types", frozenset(self.grant_types))
        object.__setattr__(self, "redirect_uris", tuple(self.redirect_uris))
        if not isinstance(self.dpop_bound_access_tokens, bool):
            raise ConfigurationError("dpop_bound_access_tokens must be a bool")


def parse_scope(scope: object) -> tuple[str, ...]:
    """The scope tokens of a request's ``scope`` parameter, in order, without duplicates.

    ``None`` or ``""`` give ``()``. Anything malformed raises
    :class:`~tokensmith.errors.InvalidScope`.
    """
    if scope is None or scope == "":
        return ()
    if not isinstance(scope, str):
        raise InvalidScope("scope must be a string")
    tokens = scope.split(" ")
    if not all(_SCOPE_TOKEN.fullmatch(t) for t in tokens):
        raise InvalidScope("scope is malformed (RFC 6749 §3.3)")
    return tuple(dict.fromkeys(tokens))


def grant_scopes(client: Client, scope: object, *, strict_scopes: bool = False) -> tuple[str, ...]:
    """Apply the module's scope rule: what ``client`` gets for the requested ``scope``."""
    requested = parse_scope(scope) or tuple(sorted(client.default_scopes))
    if not requested:
        raise InvalidScope("no scope requested and the client has no default scope")
    granted = tuple(s for s in requested if s in client.allowed_scopes)
    if not granted:
        raise InvalidScope("none of the requested scopes is allowed for this client")
    if strict_scopes and len(granted) != len(requested):
        raise InvalidScope("a requested scope is not allowed for this client")
    return granted


def token_response(
    issued: IssuedToken,
    *,
    scopes: Iterable[str] | None = None,
    refresh_token: str | None = None,
    id_token: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> OAuthResponse:
    """The RFC 6749 §5.1 success response (200, ``no-store``) for an issued access token.

    ``token_type`` is ``DPoP`` when the access token is DPoP-bound (RFC 9449 §5.1), ``Bearer``
    otherwise (see :func:`~tokensmith.oauth.access_token_type`).
    """
    body: dict[str, Any] = dict(extra or {})
    body["access_token"] = issued.token
    body["token_type"] = access_token_type(issued)
    body["expires_in"] = issued.expires_in
    if scopes is not None:
        body["scope"] = " ".join(scopes)
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    if id_token is not None:
        body["id_token"] = id_token
    return json_response(200, body)


def client_credentials_grant(
    signer: Signer,
    client: Client,
    params: Mapping[str, str],
    *,
    ttl: float | None = None,
    strict_scopes: bool = False,
    claims: Mapping[str, Any] | None = None,
    confirmation: Confirmation | None = None,
) -> OAuthResponse:
    """Answer a client-credentials token request for an *already authenticated* ``client``.

    ``params`` are the request's form parameters (read with
    :func:`~tokensmith.oauth.request_param`: repeated or non-text values are
    ``invalid_request``). Raises an
    :class:`~tokensmith.errors.OAuthError` subclass (turn it into the §5.2 response with
    :func:`~tokensmith.oauth.error_response`): ``invalid_request`` (no ``grant_type``,
    RFC 6749 §5.2), ``unsupported_grant_type`` (another one), ``unauthorized_client`` (the
    client may not use this grant), ``invalid_scope`` (see the module's scope rule). A client
    registered without ``audience`` is a :class:`~tokensmith.errors.ConfigurationError` (the
    server's mistake, not the client's).
    The access token is an RFC 9068 token whose ``sub`` is the client.

    ``confirmation`` is what the request proved (from
    :func:`~tokensmith.oauth.verify_token_request_proof`): the access token is bound to it and
    the response says ``token_type: DPoP`` (RFC 9449 §5). A client registered with
    ``dpop_bound_access_tokens`` and no DPoP key proven raises
    :class:`~tokensmith.errors.DPoPProofRequired` (``invalid_request``).
    """
    if not isinstance(client, Client):
        raise ConfigurationError("client must be a Client")
    if request_param(params, "grant_type", required=True) != "client_credentials":
        raise UnsupportedGrantType("this endpoint handles grant_type=client_credentials")
    if "client_credentials" not in client.grant_types:
        raise UnauthorizedClient("this client may not use the client_credentials grant")
    require_dpop(client, confirmation)
    if not client.audience:
        raise ConfigurationError("no audience is registered for this client")
    scopes = grant_scopes(client, request_param(params, "scope"), strict_scopes=strict_scopes)
    issued = issue_access_token(
        signer,
        client_id=client.client_id,
        audience=client.audience,
        scopes=scopes,
        claims=claims,
        ttl=ttl,
        confirmation=confirmation,
    )
    return token_response(issued, scopes=scopes)
