"""The token endpoint's side of DPoP (RFC 9449 §5): verify the request's proof, bind what it
issues to the proof's key, and tell the client so.

The proof verifier itself (every check of RFC 9449 §4.3, replay of ``jti``, nonces) is not
here: any object with the :class:`DPoPProofVerifier` shape works, such as
``tokensmith.dpop.DPoPVerifier``. This module only fixes how the token endpoint calls it
(``htm`` ``POST``, ``htu`` the token endpoint, no access token, so no ``ath``) and what a
client registered with ``dpop_bound_access_tokens`` (RFC 9449 §5.2) may not do: ask for a token
without a proof.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from ..confirmation import JKT, Confirmation
from ..errors import ConfigurationError, DPoPProofRequired
from ..signer import IssuedToken

if TYPE_CHECKING:  # client_credentials imports this module
    from .client_credentials import Client

__all__ = [
    "BEARER_TOKEN_TYPE",
    "DPOP_TOKEN_TYPE",
    "DPoPProofVerifier",
    "VerifiedDPoPProof",
    "access_token_type",
    "require_dpop",
    "verify_token_request_proof",
]

DPOP_TOKEN_TYPE: Final = "DPoP"
"""The ``token_type`` of a token response whose access token is DPoP-bound (RFC 9449 §5.1)."""

BEARER_TOKEN_TYPE: Final = "Bearer"
"""The ``token_type`` of every other access token (RFC 6750; certificate-bound ones too,
RFC 8705 §3)."""


@runtime_checkable
class VerifiedDPoPProof(Protocol):
    """What a verified DPoP proof tells the token endpoint: its key's RFC 7638 thumbprint
    (``jkt``) and the :class:`~tokensmith.Confirmation` that binds a token to that key."""

    @property
    def jkt(self) -> str:
        """The proof key's RFC 7638 SHA-256 thumbprint."""
        ...

    @property
    def confirmation(self) -> Confirmation:
        """``Confirmation(jkt=...)`` of the proof key."""
        ...


class DPoPProofVerifier(Protocol):
    """Anything that verifies a DPoP proof by RFC 9449 §4.3 and raises when it fails, like
    ``tokensmith.dpop.DPoPVerifier``."""

    def verify(
        self, proof: str, *, method: str, uri: str, access_token: str | None = None
    ) -> VerifiedDPoPProof:
        """Verify ``proof`` for a ``method`` request to ``uri``; raise if it does not hold."""
        ...


def verify_token_request_proof(
    verifier: DPoPProofVerifier,
    proof: str | None,
    *,
    token_endpoint: str,
    client: Client | None = None,
) -> Confirmation | None:
    """Verify a token request's ``DPoP`` header and return what to bind the tokens to.

    :param verifier: the DPoP proof verifier (its errors, ``invalid_dpop_proof``, propagate).
    :param proof: the request's single ``DPoP`` header value, or ``None`` when it had none.
    :param token_endpoint: the token endpoint's URL as clients address it (the proof's
        ``htu``); the method is always ``POST`` and no access token is presented (RFC 9449 §5).
    :param client: the authenticated client; if it is registered with
        ``dpop_bound_access_tokens``, a request without a proof raises
        :class:`~tokensmith.errors.DPoPProofRequired` (``invalid_request``, RFC 9449 §5.2).
    :returns: the proof key's :class:`~tokensmith.Confirmation` (pass it as ``confirmation=``
        to the grant helpers and :class:`~tokensmith.refresh.RefreshManager`), or ``None``
        without a proof: the tokens are then bearer tokens, as before.
    """
    if proof is None or proof == "":
        if client is not None:
            require_dpop(client, None)
        return None
    if not isinstance(proof, str):
        raise ConfigurationError("proof must be the DPoP header's value (a string) or None")
    verified = verifier.verify(proof, method="POST", uri=token_endpoint)
    confirmation = getattr(verified, "confirmation", None)
    if (
        not isinstance(confirmation, Confirmation)
        or confirmation.jkt is None
        or confirmation.jkt != getattr(verified, "jkt", None)
    ):
        raise ConfigurationError("the DPoP verifier must return a proof with jkt and confirmation")
    return confirmation


def require_dpop(client: Client, confirmation: Confirmation | None) -> None:
    """Refuse a token request of a client registered with ``dpop_bound_access_tokens`` that
    proved no DPoP key (:class:`~tokensmith.errors.DPoPProofRequired`, RFC 9449 §5.2)."""
    if client.dpop_bound_access_tokens and (confirmation is None or confirmation.jkt is None):
        raise DPoPProofRequired("this client must send a DPoP proof with every token request")


def access_token_type(issued: IssuedToken) -> str:
    """The response's ``token_type`` for ``issued``: ``DPoP`` when its ``cnf`` names a DPoP key
    (RFC 9449 §5.1), ``Bearer`` otherwise. Read from the token's own claims, so the response
    never says ``Bearer`` for a bound token or the reverse."""
    cnf: Any = issued.claims.get("cnf")
    if isinstance(cnf, Mapping) and JKT in cnf:
        return DPOP_TOKEN_TYPE
    return BEARER_TOKEN_TYPE
