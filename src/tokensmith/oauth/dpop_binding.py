"""The token endpoint's side of DPoP (RFC 9449 §5): verify the request's proof, bind what it
issues to the proof's key, and tell the client so.

The proof verifier itself (every check of RFC 9449 §4.3, replay of ``jti``, nonces) is not
here: any object with the :class:`DPoPProofVerifier` shape works, such as
``tokensmith.dpop.DPoPVerifier``. This module only fixes how the token endpoint calls it
(``htm`` ``POST``, ``htu`` the token endpoint, no access token, so no ``ath``) and what a
client registered with ``dpop_bound_access_tokens`` (RFC 9449 §5.2) may not do: ask for a token
without a proof. :func:`dpop_error_response` answers the verifier's refusals the token
endpoint's way (400 and a JSON body, not the resource server's 401 challenge).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from ..confirmation import JKT, Confirmation
from ..errors import ConfigurationError, DPoPProofRequired, TokensmithError
from ..signer import IssuedToken
from .responses import ERROR_DESCRIPTIONS, NO_STORE_HEADERS, OAuthResponse

if TYPE_CHECKING:  # client_credentials imports this module
    from .client_credentials import Client

__all__ = [
    "BEARER_TOKEN_TYPE",
    "DPOP_TOKEN_TYPE",
    "AsyncDPoPProofVerifier",
    "DPoPProofVerifier",
    "VerifiedDPoPProof",
    "access_token_type",
    "averify_token_request_proof",
    "dpop_error_response",
    "require_dpop",
    "verify_token_request_proof",
]

DPOP_TOKEN_TYPE: Final = "DPoP"
"""The ``token_type`` of a token response whose access token is DPoP-bound (RFC 9449 §5.1)."""

BEARER_TOKEN_TYPE: Final = "Bearer"
"""The ``token_type`` of every other access token (RFC 6750; certificate-bound ones too,
RFC 8705 §3)."""

_PROOF_ERRORS: Final = frozenset({"invalid_dpop_proof", "use_dpop_nonce"})
_NONCE: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")  # RFC 9449 §8.1 NQCHAR


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


class AsyncDPoPProofVerifier(Protocol):
    """The async face (``averify``) of a :class:`DPoPProofVerifier`, like
    ``tokensmith.dpop.DPoPVerifier``'s."""

    async def averify(
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

    :param verifier: the DPoP proof verifier; its refusals (``invalid_dpop_proof``,
        ``use_dpop_nonce``) propagate: answer them with :func:`dpop_error_response`.
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
    text = _proof_text(proof, client)
    if text is None:
        return None
    return _proven(verifier.verify(text, method="POST", uri=token_endpoint))


async def averify_token_request_proof(
    verifier: AsyncDPoPProofVerifier,
    proof: str | None,
    *,
    token_endpoint: str,
    client: Client | None = None,
) -> Confirmation | None:
    """The async twin of :func:`verify_token_request_proof`, through the verifier's
    ``averify`` (whose replay store may block)."""
    text = _proof_text(proof, client)
    if text is None:
        return None
    return _proven(await verifier.averify(text, method="POST", uri=token_endpoint))


def _proof_text(proof: object, client: Client | None) -> str | None:
    """The proof to verify, or ``None`` when the request has none (and may go without)."""
    if proof is None or proof == "":
        if client is not None:
            require_dpop(client, None)
        return None
    if not isinstance(proof, str):
        raise ConfigurationError("proof must be the DPoP header's value (a string) or None")
    return proof


def _proven(verified: object) -> Confirmation:
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


def dpop_error_response(exc: TokensmithError) -> OAuthResponse:
    """The token endpoint's answer when the DPoP verifier refused the request's proof.

    RFC 9449 §5 and §8: ``400`` with the RFC 6749 §5.2 JSON body, ``error`` the refusal's
    (``invalid_dpop_proof``, or ``use_dpop_nonce`` with the fresh nonce in a ``DPoP-Nonce``
    header), a fixed ``error_description`` and the no-store headers. (A resource server
    answers the same refusals with 401 and ``WWW-Authenticate: DPoP``.)
    """
    error = getattr(exc, "error", None)
    if not isinstance(exc, TokensmithError) or error not in _PROOF_ERRORS:
        raise ConfigurationError("dpop_error_response takes a DPoP proof refusal")
    headers = dict(NO_STORE_HEADERS)
    nonce = getattr(exc, "nonce", None)
    if error == "use_dpop_nonce":
        if not isinstance(nonce, str) or not _NONCE.fullmatch(nonce):
            raise ConfigurationError("a use_dpop_nonce refusal must carry the new nonce")
        headers["DPoP-Nonce"] = nonce
    body = {"error": error, "error_description": ERROR_DESCRIPTIONS[error]}
    return OAuthResponse(400, headers, MappingProxyType(body))
