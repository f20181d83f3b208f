"""DPoP (RFC 9449): access tokens bound to a key the client proves it holds, request by request.

* client side: :class:`DPoPProofMaker` signs one proof per request;
  :func:`send_with_dpop` retries a request once when the server asks for a nonce;
* server side: :class:`DPoPVerifier` checks a proof (RFC 9449 §4.3) and spends its ``jti``;
  :class:`DPoPNonces` issues rotating, stateless server nonces (§8, §9);
  :func:`normalize_htu` is the URI comparison both sides use.

The resource server's HTTP side (``Authorization: DPoP``, ``WWW-Authenticate: DPoP``) is in
:mod:`tokensmith.web` (:class:`~tokensmith.web.Guard` with ``dpop=``). Every name is imported
on first use.
"""

import typing as _typing

from .._exports import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from .nonces import DPoPNonces as DPoPNonces
    from .proof import DPOP_JWT_TYPE as DPOP_JWT_TYPE
    from .proof import DPoPProofMaker as DPoPProofMaker
    from .proof import access_token_hash as access_token_hash
    from .retry import DPoPResponse as DPoPResponse
    from .retry import asend_with_dpop as asend_with_dpop
    from .retry import send_with_dpop as send_with_dpop
    from .uri import MAX_HTU_LENGTH as MAX_HTU_LENGTH
    from .uri import normalize_htu as normalize_htu
    from .verifier import DEFAULT_DPOP_ALGORITHMS as DEFAULT_DPOP_ALGORITHMS
    from .verifier import DEFAULT_MAX_PROOF_LENGTH as DEFAULT_MAX_PROOF_LENGTH
    from .verifier import DPoPProof as DPoPProof
    from .verifier import DPoPVerifier as DPoPVerifier

_LAZY = {
    "DPoPNonces": ".nonces",
    "DPOP_JWT_TYPE": ".proof",
    "DPoPProofMaker": ".proof",
    "access_token_hash": ".proof",
    "DPoPResponse": ".retry",
    "asend_with_dpop": ".retry",
    "send_with_dpop": ".retry",
    "MAX_HTU_LENGTH": ".uri",
    "normalize_htu": ".uri",
    "DEFAULT_DPOP_ALGORITHMS": ".verifier",
    "DEFAULT_MAX_PROOF_LENGTH": ".verifier",
    "DPoPProof": ".verifier",
    "DPoPVerifier": ".verifier",
}

__all__ = list(_LAZY)

if not _typing.TYPE_CHECKING:
    __getattr__, __dir__ = _lazy_exports(globals(), _LAZY, __all__)
