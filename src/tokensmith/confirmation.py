"""Sender-constrained tokens: what a presenter proved it holds, and the token's ``cnf`` claim.

A bearer token works for whoever holds it. A *sender-constrained* token names, in its ``cnf``
(confirmation) claim (RFC 7800), the key its legitimate presenter holds, and a resource server
accepts it only from a presenter that proves possession of that key in the same request:

* DPoP (RFC 9449): ``cnf.jkt`` is the RFC 7638 thumbprint of the key that signs the request's
  DPoP proof;
* mutual TLS (RFC 8705): ``cnf["x5t#S256"]`` is the SHA-256 hash of the client certificate the
  TLS connection was made with.

A :class:`Confirmation` carries what the request proved (the proof's key thumbprint, the
certificate's hash). The signer writes it into a token (``Signer.issue(..., confirmation=...)``),
and :meth:`tokensmith.Validator.validate` checks it (``validate(token, confirmation=...)``) with
the rule of :func:`check_confirmation`: every method the token is bound to must be proven, a
binding tokensmith cannot verify is refused, and a DPoP proof never upgrades an unbound token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Final

from ._b64 import b64url_encode
from ._frozen import Value
from .errors import ConfigurationError, InvalidConfirmation

if TYPE_CHECKING:
    from cryptography import x509

    from .keys import Key

__all__ = ["JKT", "X5T_S256", "Confirmation", "check_confirmation"]

JKT: Final = "jkt"
"""The ``cnf`` member of a DPoP-bound token (RFC 9449 §6.1): a JWK SHA-256 thumbprint."""

X5T_S256: Final = "x5t#S256"
"""The ``cnf`` member of a certificate-bound token (RFC 8705 §3.1): a certificate's SHA-256."""

# The length of an unpadded base64url SHA-256 digest: a binding of any other shape is refused.
_DIGEST_LENGTH: Final = 43
# One regular expression, not a per-character loop: it runs on every bound request (~10x faster).
_ABSENT: Final = object()
_B64URL: Final = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)


class Confirmation(Value):
    """What the presenter of a token proved in this request: the key of a verified DPoP proof
    (``jkt``), the client certificate of the TLS connection (``x5t_s256``), or both.

    Build it with :meth:`of_key` / :meth:`of_jwk_thumbprint` and :meth:`of_certificate`;
    combine two with :meth:`plus`. As an issuing input, :meth:`claim` is the ``cnf`` claim that
    binds a token to the same proof.
    """

    __slots__ = ("jkt", "x5t_s256")
    _fields: ClassVar[tuple[str, ...]] = ("jkt", "x5t_s256")

    jkt: str | None
    x5t_s256: str | None

    def __init__(self, *, jkt: str | None = None, x5t_s256: str | None = None) -> None:
        for name, value in (("jkt", jkt), ("x5t_s256", x5t_s256)):
            if value is not None and (
                not isinstance(value, str) or len(value) != _DIGEST_LENGTH or not _b64url(value)
            ):
                raise ConfigurationError(f"{name} must be a base64url SHA-256 digest")
        if jkt is None and x5t_s256 is None:
            raise ConfigurationError("a confirmation needs jkt, x5t_s256 or both")
        object.__setattr__(self, "jkt", jkt)
        object.__setattr__(self, "x5t_s256", x5t_s256)

    @classmethod
    def of_key(cls, key: Key) -> Confirmation:
        """The confirmation of a DPoP proof signed by ``key`` (its public JWK's RFC 7638
        thumbprint)."""
        return cls(jkt=key.thumbprint())

    @classmethod
    def of_jwk_thumbprint(cls, thumbprint: str) -> Confirmation:
        """The confirmation of a DPoP proof whose key has this RFC 7638 SHA-256 thumbprint."""
        return cls(jkt=thumbprint)

    @classmethod
    def of_certificate(cls, certificate: x509.Certificate | bytes) -> Confirmation:
        """The confirmation of a TLS client certificate (an ``x509.Certificate`` or its DER
        bytes): the base64url SHA-256 of its DER encoding (RFC 8705 §3.1)."""
        if isinstance(certificate, bytes | bytearray | memoryview):
            der = bytes(certificate)
        else:
            from cryptography.hazmat.primitives.serialization import Encoding  # noqa: PLC0415

            try:
                der = certificate.public_bytes(Encoding.DER)
            except AttributeError:
                raise ConfigurationError(
                    "certificate must be an x509.Certificate or DER bytes"
                ) from None
        if not der:
            raise ConfigurationError("certificate must not be empty")
        return cls(x5t_s256=b64url_encode(hashlib.sha256(der).digest()))

    def plus(self, other: Confirmation) -> Confirmation:
        """Both confirmations at once (a DPoP proof over a mutual-TLS connection); a method
        both name must agree."""
        if not isinstance(other, Confirmation):
            raise ConfigurationError("plus() takes a Confirmation")
        for name in self._fields:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is not None and theirs is not None and mine != theirs:
                raise ConfigurationError(f"the two confirmations disagree on {name}")
        return Confirmation(
            jkt=self.jkt if self.jkt is not None else other.jkt,
            x5t_s256=self.x5t_s256 if self.x5t_s256 is not None else other.x5t_s256,
        )

    def claim(self) -> dict[str, str]:
        """The ``cnf`` claim binding a token to this confirmation."""
        cnf: dict[str, str] = {}
        if self.jkt is not None:
            cnf[JKT] = self.jkt
        if self.x5t_s256 is not None:
            cnf[X5T_S256] = self.x5t_s256
        return cnf


def check_confirmation(claims: Mapping[str, Any], confirmation: Confirmation | None) -> None:
    """Refuse (:class:`~tokensmith.errors.InvalidConfirmation`) unless the presenter proved
    what the token is bound to.

    * A token without ``cnf`` is a bearer token: accepted without a confirmation, and with a
      certificate-only one (a mutual-TLS connection does not make a token bound); refused with a
      DPoP key, since a DPoP proof presented with an unbound token is the downgrade RFC 9449
      §7.1 forbids (the resource server must confirm the binding, and there is none).
    * A token with ``cnf`` must have a JSON object with at least one member, every member one
      tokensmith verifies (``jkt``, ``x5t#S256``; a ``jwk``/``jku``/``kid`` binding cannot be
      checked here, so it is refused rather than ignored), each a base64url SHA-256 digest equal,
      in constant time, to what this request proved. A bound token presented as a plain bearer
      token (no confirmation) is refused (RFC 9449 §7.2, RFC 8705 §3).
    """
    cnf = claims.get("cnf", _ABSENT)
    if cnf is _ABSENT:
        if confirmation is not None and confirmation.jkt is not None:
            raise InvalidConfirmation(
                "a DPoP proof came with a token that is not DPoP-bound", claim="cnf"
            )
        return
    # A verified token's nested objects are dicts (read-only ones); one pass over the members,
    # each proven or refused: this runs on every request that presents a bound token.
    if not isinstance(cnf, dict) or not cnf:
        raise InvalidConfirmation("'cnf' must be a non-empty JSON object", claim="cnf")
    for member, bound in cnf.items():
        if member == JKT:
            proven, how = (None if confirmation is None else confirmation.jkt), "a DPoP proof"
        elif member == X5T_S256:
            proven = None if confirmation is None else confirmation.x5t_s256
            how = "a client certificate"
        else:
            raise InvalidConfirmation(
                "the token is bound by a confirmation method tokensmith does not verify",
                claim="cnf",
            )
        if bound.__class__ is not str or len(bound) != _DIGEST_LENGTH or not _b64url(bound):
            raise InvalidConfirmation(f"'cnf.{member}' must be a base64url SHA-256", claim="cnf")
        if proven is None:
            raise InvalidConfirmation(
                f"the token is sender-constrained and needs {how} (cnf.{member})", claim="cnf"
            )
        # Both sides are ASCII digests of equal length (checked above and when built).
        if not hmac.compare_digest(bound, proven):
            raise InvalidConfirmation(
                f"{how} does not match the key the token is bound to (cnf.{member})", claim="cnf"
            )


def _b64url(text: str) -> bool:
    return _B64URL.fullmatch(text) is not None
