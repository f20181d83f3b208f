"""The client side of DPoP (RFC 9449 §4): signing one proof per request with a private key.

A client holds one asymmetric key for the life of its tokens (the authorization server binds
the tokens to its thumbprint, ``cnf.jkt``) and signs a fresh proof for every request: the
method and URI it is for, the time, a random ``jti``, the hash of the access token it
presents (``ath``) and the server's latest nonce, if it gave one.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any, Final

from .._b64 import b64url_encode
from ..confirmation import Confirmation
from ..errors import ConfigurationError, InvalidKey
from ..keys import Key
from .uri import normalize_htu

__all__ = ["DPOP_JWT_TYPE", "DPoPProofMaker", "access_token_hash"]

DPOP_JWT_TYPE: Final = "dpop+jwt"
"""The ``typ`` header of every DPoP proof (RFC 9449 §4.2)."""

_PUBLIC_MEMBERS: Final = frozenset({"kty", "crv", "x", "y", "n", "e"})
_JTI_BYTES: Final = 16  # 128 bits: RFC 9449 §4.2 asks for at least 96


def access_token_hash(access_token: str) -> str:
    """``ath``: the base64url SHA-256 of the access token's ASCII text (RFC 9449 §4.2)."""
    return b64url_encode(hashlib.sha256(access_token.encode("ascii")).digest())


class DPoPProofMaker:
    """Signs DPoP proofs with one private key (asymmetric algorithms only).

    :param key: a private :class:`~tokensmith.Key` (``ES256``, ``EdDSA``, ``PS256``...); its
        public JWK goes into every proof's header, never a private member.
    :param clock: seconds since the epoch, for ``iat`` (injected for tests).

    It remembers the last ``DPoP-Nonce`` each server (origin) sent, through
    :meth:`remember_nonce`, and puts it in later proofs for that server.
    """

    __slots__ = ("_clock", "_header", "_key", "_nonces", "jkt")

    def __init__(self, key: Key, *, clock: Callable[[], float] = time.time) -> None:
        if not isinstance(key, Key):
            raise ConfigurationError("key must be a tokensmith Key")
        if key.is_symmetric:
            raise InvalidKey("a DPoP proof needs an asymmetric key: HMAC proves nothing to others")
        if not key.is_private:
            raise InvalidKey("a DPoP proof needs the private key")
        public = {k: v for k, v in key.to_jwk().items() if k in _PUBLIC_MEMBERS}
        header = {"typ": DPOP_JWT_TYPE, "alg": key.alg, "jwk": public}
        self._key = key
        self._header = b64url_encode(_compact(header))
        self._clock = clock
        self._nonces: dict[str, str] = {}
        self.jkt = key.thumbprint()
        """The RFC 7638 thumbprint of the key: the ``cnf.jkt`` of tokens bound to it."""

    def __repr__(self) -> str:
        return f"DPoPProofMaker(alg={self._key.alg!r}, jkt={self.jkt!r})"

    @property
    def confirmation(self) -> Confirmation:
        """The :class:`~tokensmith.Confirmation` of this key (what a token bound to it holds)."""
        return Confirmation(jkt=self.jkt)

    def proof(
        self,
        method: str,
        uri: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
    ) -> str:
        """A fresh proof for one request: ``htm`` = ``method``, ``htu`` = ``uri`` without its
        query and fragment, ``ath`` when presenting ``access_token``, and ``nonce`` (else the
        last one remembered for this origin)."""
        htu = normalize_htu(uri)
        if htu is None:
            raise ConfigurationError("uri must be an absolute http or https URI")
        if not isinstance(method, str) or not method.isascii() or not method.isalpha():
            raise ConfigurationError("method must be an HTTP method such as 'GET'")
        claims: dict[str, Any] = {
            "jti": b64url_encode(secrets.token_bytes(_JTI_BYTES)),
            "htm": method,
            "htu": htu,
            "iat": int(self._clock()),
        }
        if access_token is not None:
            if not isinstance(access_token, str) or not access_token.isascii():
                raise ConfigurationError("access_token must be ASCII text")
            claims["ath"] = access_token_hash(access_token)
        chosen = nonce if nonce is not None else self._nonces.get(_origin(htu))
        if chosen is not None:
            claims["nonce"] = chosen
        signing_input = f"{self._header}.{b64url_encode(_compact(claims))}"
        signature = self._key.sign(signing_input.encode("ascii"))
        return f"{signing_input}.{b64url_encode(signature)}"

    def remember_nonce(self, uri: str, nonce: str) -> None:
        """Keep ``nonce`` (a ``DPoP-Nonce`` response header) for later proofs to ``uri``'s
        origin."""
        htu = normalize_htu(uri)
        if htu is None:
            raise ConfigurationError("uri must be an absolute http or https URI")
        if not isinstance(nonce, str) or not nonce or not nonce.isascii():
            raise ConfigurationError("a DPoP nonce is non-empty ASCII text")
        self._nonces[_origin(htu)] = nonce


def _origin(htu: str) -> str:
    """``scheme://host[:port]`` of a normalised ``htu``."""
    scheme, _, rest = htu.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _compact(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode("ascii")
