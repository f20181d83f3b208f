"""Checking a DPoP proof (RFC 9449 §4.3), for a resource server or a token endpoint.

:meth:`DPoPVerifier.verify` runs every check of §4.3, cheapest first and the size before any
decoding: one compact JWS; ``typ`` ``dpop+jwt``; ``alg`` from an asymmetric allow-list; a
public-only ``jwk`` that passes the same floors as any tokensmith key and verifies the
signature; ``htm`` and ``htu`` equal to the request's (:func:`~tokensmith.dpop.normalize_htu`);
``iat`` within ``max_age`` (plus ``leeway``) of now; the server's nonce when it requires one;
``ath`` equal, in constant time, to the hash of the presented access token; and last, the
``jti`` spent in a replay store, so a proof works for one request only. The result,
:class:`DPoPProof`, carries the :class:`~tokensmith.Confirmation` that the access token's
``cnf.jkt`` must match (``Validator.validate(token, confirmation=proof.confirmation)``).

Both faces share one core; :meth:`DPoPVerifier.averify` only waits differently for the replay
store (a store that may block runs in a worker thread, the in-memory one inline).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Final

from .._b64 import b64url_decode
from .._backends import nowait_twin
from .._frozen import Value
from .._jws import segment_object
from .._options import integer, one_or_many, seconds
from .._secrets import secrets_equal
from ..confirmation import Confirmation
from ..errors import (
    ConfigurationError,
    InvalidDPoPProof,
    KeyMaterialError,
    MalformedToken,
    ReplayedDPoPProof,
    UseDPoPNonce,
)
from ..keys import ASYMMETRIC_ALGORITHMS, Key
from ..replay.base import JtiReplayStore
from ..replay.memory import MemoryJtiReplayStore
from .nonces import DPoPNonces
from .proof import DPOP_JWT_TYPE, access_token_hash
from .uri import normalize_htu

__all__ = [
    "DEFAULT_DPOP_ALGORITHMS",
    "DEFAULT_MAX_PROOF_LENGTH",
    "DPoPProof",
    "DPoPVerifier",
]

DEFAULT_DPOP_ALGORITHMS: Final = tuple(sorted(ASYMMETRIC_ALGORITHMS))
"""Every asymmetric algorithm tokensmith supports; never ``none``, never HMAC."""

DEFAULT_MAX_PROOF_LENGTH: Final = 4096
"""The longest proof decoded (an RSA-4096 proof is about 2,100 characters)."""

_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_MAX_JWK_MEMBERS: Final = 12
_MAX_JTI_LENGTH: Final = 256
_KEY_CACHE_SIZE: Final = 1024
_REFUSED_HEADERS: Final = frozenset({"crit", "b64", "jku", "x5u", "zip"})


class DPoPProof(Value):
    """A verified DPoP proof: which key signed it, for which request, and when.

    Pass :attr:`confirmation` to :meth:`tokensmith.Validator.validate` so a DPoP-bound access
    token is accepted only with a proof by its key.
    """

    __slots__ = ("_confirmation", "htm", "htu", "iat", "jkt", "jti", "key", "nonce")
    _fields: ClassVar[tuple[str, ...]] = ("jkt", "jti", "iat", "htm", "htu", "nonce", "key")

    jkt: str
    """The RFC 7638 SHA-256 thumbprint of the proof's public key."""
    jti: str
    """The proof's unique id (already spent in the replay store)."""
    iat: float
    """When the client made the proof (seconds since the epoch)."""
    htm: str
    """The request method the proof is for."""
    htu: str
    """The request URI the proof is for, normalised."""
    nonce: str | None
    """The server nonce the proof carried, if any."""
    key: Key
    """The proof's public key (bound to the proof's ``alg``)."""
    _confirmation: Confirmation

    def __init__(
        self,
        *,
        jkt: str,
        jti: str,
        iat: float,
        htm: str,
        htu: str,
        nonce: str | None,
        key: Key,
        confirmation: Confirmation | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "jkt", jkt)
        set_(self, "jti", jti)
        set_(self, "iat", iat)
        set_(self, "htm", htm)
        set_(self, "htu", htu)
        set_(self, "nonce", nonce)
        set_(self, "key", key)
        set_(self, "_confirmation", confirmation or Confirmation(jkt=jkt))

    @property
    def confirmation(self) -> Confirmation:
        """What this proof proves: possession of the key with thumbprint :attr:`jkt`."""
        return self._confirmation


class DPoPVerifier:
    """Verifies DPoP proofs per RFC 9449 §4.3 and spends each proof's ``jti`` once.

    :param algorithms: the ``alg`` values accepted (default: every asymmetric algorithm
        tokensmith supports). An HMAC algorithm is a :class:`~tokensmith.ConfigurationError`.
    :param replay: where spent ``jti`` values are kept until the proof would be stale anyway
        (default: a :class:`~tokensmith.replay.MemoryJtiReplayStore`, one process only: give
        every replica the same :class:`~tokensmith.replay.RedisJtiReplayStore`).
    :param nonces: the server's :class:`~tokensmith.dpop.DPoPNonces`; with it, every proof must
        carry a current nonce (``nonce_required`` per call overrides).
    :param max_age: how old (by ``iat``) a proof may be, in seconds.
    :param leeway: clock difference tolerated, in seconds, both ways.
    :param max_length: the longest proof decoded, in characters.
    :param clock: seconds since the epoch (injected for tests).
    """

    __slots__ = (
        "_clock",
        "_keys",
        "_use_nowait",
        "algorithms",
        "leeway",
        "max_age",
        "max_length",
        "nonces",
        "replay",
    )

    def __init__(
        self,
        *,
        algorithms: Iterable[str] | str = DEFAULT_DPOP_ALGORITHMS,
        replay: JtiReplayStore | None = None,
        nonces: DPoPNonces | None = None,
        max_age: float = 60.0,
        leeway: float = 5.0,
        max_length: int = DEFAULT_MAX_PROOF_LENGTH,
        clock: Callable[[], float] = time.time,
    ) -> None:
        chosen = one_or_many("algorithms", algorithms)
        if not chosen or not all(isinstance(a, str) for a in chosen):
            raise ConfigurationError("algorithms must name at least one algorithm")
        refused = sorted(str(a) for a in chosen if a not in ASYMMETRIC_ALGORITHMS)
        if refused:
            raise ConfigurationError(
                f"DPoP proofs are signed with asymmetric algorithms only; refused: {refused}"
            )
        if nonces is not None and not isinstance(nonces, DPoPNonces):
            raise ConfigurationError("nonces must be a DPoPNonces")
        if replay is not None and not isinstance(replay, JtiReplayStore):
            raise ConfigurationError("replay must be a JtiReplayStore (memory, SQLite, Redis)")
        self.algorithms: frozenset[str] = frozenset(str(a) for a in chosen)
        """The ``alg`` values accepted."""
        self.replay: JtiReplayStore = (  # not `replay or ...`: an empty store is falsy (len 0)
            replay if replay is not None else MemoryJtiReplayStore(clock=clock)
        )
        """Where each proof's ``jti`` is spent."""
        # averify() spends a jti on the loop only through the store's non-blocking twin
        # (``use_nowait``, trusted under the same rule as a key source's), else in the pool.
        self._use_nowait = nowait_twin(self.replay, "use", "use_nowait")
        self.nonces = nonces
        """The server's nonces, or ``None`` (nonces not used)."""
        self.max_age = seconds("max_age", max_age, positive=True, maximum=3600)
        """How old a proof may be (seconds)."""
        self.leeway = seconds("leeway", leeway, minimum=0, maximum=300)
        """Clock difference tolerated (seconds)."""
        self.max_length = integer("max_length", max_length, minimum=256, maximum=65536)
        """The longest proof decoded."""
        self._clock = clock
        self._keys: dict[str, tuple[Key, str, Confirmation]] = {}

    def __repr__(self) -> str:
        return (
            f"DPoPVerifier(algorithms={sorted(self.algorithms)!r}, max_age={self.max_age:g}, "
            f"nonces={self.nonces is not None})"
        )

    # --- the two faces ---------------------------------------------------------------------

    def verify(
        self,
        proof: str,
        *,
        method: str,
        uri: str,
        access_token: str | None = None,
        nonce_required: bool | None = None,
    ) -> DPoPProof:
        """The verified ``proof`` for a request ``method uri`` (presenting ``access_token``,
        if any), its ``jti`` now spent; else :class:`~tokensmith.InvalidDPoPProof`
        (:class:`~tokensmith.ReplayedDPoPProof` for a spent ``jti``,
        :class:`~tokensmith.UseDPoPNonce` when a nonce is required and missing or stale).

        ``nonce_required`` overrides, for this call, whether a nonce is required (default:
        when the verifier has ``nonces``).
        """
        verified, expires_at = self._check(proof, method, uri, access_token, nonce_required)
        if not self.replay.use(_replay_issuer(verified), verified.jti, expires_at=expires_at):
            raise ReplayedDPoPProof("the DPoP proof was already used")
        return verified

    async def averify(
        self,
        proof: str,
        *,
        method: str,
        uri: str,
        access_token: str | None = None,
        nonce_required: bool | None = None,
    ) -> DPoPProof:
        """The async face of :meth:`verify`: a replay store that may block (SQLite, Redis) is
        asked in tokensmith's bounded worker pool (as :meth:`Validator.avalidate
        <tokensmith.Validator.avalidate>` asks a sync backend), the in-memory one inline."""
        verified, expires_at = self._check(proof, method, uri, access_token, nonce_required)
        issuer = _replay_issuer(verified)
        inline = self._use_nowait
        fresh = None if inline is None else inline(issuer, verified.jti, expires_at=expires_at)
        if fresh is None:  # the store may block: the validator's bounded pool
            from .._offload import run_blocking  # noqa: PLC0415 - only for blocking stores

            fresh = await run_blocking(
                functools.partial(self.replay.use, expires_at=expires_at), issuer, verified.jti
            )
        if not fresh:
            raise ReplayedDPoPProof("the DPoP proof was already used")
        return verified

    # --- the core ----------------------------------------------------------------------------

    def _check(
        self,
        proof: object,
        method: object,
        uri: object,
        access_token: object,
        nonce_required: bool | None,
    ) -> tuple[DPoPProof, float]:
        """Every check but the replay store: the verified proof and when its ``jti`` may be
        forgotten."""
        if not isinstance(proof, str) or not proof:
            raise InvalidDPoPProof("the request has no DPoP proof")
        if len(proof) > self.max_length:
            raise InvalidDPoPProof(f"the DPoP proof is longer than {self.max_length} characters")
        if not proof.isascii():
            raise InvalidDPoPProof("the DPoP proof is not a compact JWS")
        parts = proof.split(".")
        if len(parts) != 3:
            raise InvalidDPoPProof("the DPoP proof is not a compact JWS")
        header_segment, payload_segment, signature_segment = parts
        key, jkt, confirmation = self._key(header_segment)
        try:
            signature = b64url_decode(signature_segment)
        except ValueError:
            raise InvalidDPoPProof("the DPoP proof's signature is not base64url") from None
        signing_input = proof[: len(header_segment) + len(payload_segment) + 1]
        if not key.verify(signing_input.encode("ascii"), signature):
            raise InvalidDPoPProof("the DPoP proof's signature does not verify with its jwk")
        claims = _object(payload_segment, "DPoP proof payload")
        jti, htm, htu, iat = _required_claims(claims)
        _check_request(htm, htu, method, uri)
        now = self._clock()
        if iat > now + self.leeway:
            raise InvalidDPoPProof("the DPoP proof is dated in the future")
        if iat < now - self.max_age - self.leeway:
            raise InvalidDPoPProof("the DPoP proof is too old")
        nonce = self._check_nonce(claims.get("nonce"), nonce_required)
        if access_token is not None:
            _check_ath(claims.get("ath"), access_token)
        verified = DPoPProof(
            jkt=jkt,
            jti=jti,
            iat=iat,
            htm=htm,
            htu=htu,
            nonce=nonce,
            key=key,
            confirmation=confirmation,
        )
        return verified, iat + self.max_age + self.leeway

    def _key(self, segment: str) -> tuple[Key, str, Confirmation]:
        """The public key and thumbprint of a proof header, each distinct header parsed once
        (a client sends the same header with every proof)."""
        cached = self._keys.get(segment)
        if cached is not None:
            return cached
        header = _object(segment, "DPoP proof header")
        if header.get("typ") != DPOP_JWT_TYPE:
            raise InvalidDPoPProof("the DPoP proof's 'typ' is not 'dpop+jwt'")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise InvalidDPoPProof("the DPoP proof's 'alg' is not an accepted algorithm")
        if _REFUSED_HEADERS.intersection(header):
            raise InvalidDPoPProof("the DPoP proof's header asks for an unsupported feature")
        jwk = header.get("jwk")
        if not isinstance(jwk, Mapping) or len(jwk) > _MAX_JWK_MEMBERS:
            raise InvalidDPoPProof("the DPoP proof's 'jwk' is not a public JWK")
        if _PRIVATE_MEMBERS.intersection(jwk):
            raise InvalidDPoPProof("the DPoP proof's 'jwk' contains private key material")
        try:
            key = Key.from_jwk(jwk, alg=alg)
        except KeyMaterialError as exc:
            raise InvalidDPoPProof(f"the DPoP proof's 'jwk' is refused: {exc.message}") from None
        jkt = key.thumbprint()
        entry = (key, jkt, Confirmation(jkt=jkt))
        if len(self._keys) >= _KEY_CACHE_SIZE:
            self._keys.clear()
        self._keys[segment] = entry
        return entry

    def _check_nonce(self, nonce: object, required: bool | None) -> str | None:
        """The proof's nonce, checked when the server issues nonces."""
        if required is None:
            required = self.nonces is not None
        if self.nonces is None:
            if required:
                raise ConfigurationError("nonce_required=True needs a verifier with nonces")
            return nonce if isinstance(nonce, str) else None
        if nonce is None and not required:
            return None
        if not self.nonces.is_valid(nonce):
            raise UseDPoPNonce(
                "the DPoP proof needs a current server nonce", nonce=self.nonces.issue()
            )
        assert isinstance(nonce, str)  # is_valid is True for strings only
        return nonce


def _replay_issuer(proof: DPoPProof) -> str:
    """The replay store's namespace: one per key, so no client can spend another's ``jti``."""
    return f"dpop:{proof.jkt}"


def _object(segment: str, what: str) -> dict[str, Any]:
    try:
        return segment_object(segment, what)
    except MalformedToken as exc:
        raise InvalidDPoPProof(exc.message) from None


def _required_claims(claims: Mapping[str, Any]) -> tuple[str, str, str, float]:
    """``jti``, ``htm``, ``htu`` and ``iat`` (RFC 9449 §4.2), each of its type."""
    jti, htm, htu, iat = (claims.get(name) for name in ("jti", "htm", "htu", "iat"))
    if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI_LENGTH:
        raise InvalidDPoPProof("the DPoP proof's 'jti' is missing or not a short string")
    if not isinstance(htm, str) or not isinstance(htu, str):
        raise InvalidDPoPProof("the DPoP proof's 'htm' or 'htu' is missing")
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
        raise InvalidDPoPProof("the DPoP proof's 'iat' is missing or not a number")
    return jti, htm, htu, float(iat)


def _check_request(htm: str, htu: str, method: object, uri: object) -> None:
    """The proof is for this request: the same method, the same URI (RFC 9449 §4.3 9)."""
    if not isinstance(method, str) or not isinstance(uri, str):
        raise ConfigurationError("method and uri must be strings")
    if htm != method:
        raise InvalidDPoPProof("the DPoP proof is for another HTTP method")
    request_uri = normalize_htu(uri)
    if request_uri is None:
        raise InvalidDPoPProof("the request URI cannot be compared with the DPoP proof's 'htu'")
    if normalize_htu(htu) != request_uri:
        raise InvalidDPoPProof("the DPoP proof is for another URI")


def _check_ath(ath: object, access_token: object) -> None:
    """``ath`` is the hash of the presented access token, compared in constant time."""
    if not isinstance(access_token, str) or not access_token.isascii():
        raise InvalidDPoPProof("the access token is not ASCII text")
    if not isinstance(ath, str):
        raise InvalidDPoPProof("the DPoP proof has no 'ath' for the presented access token")
    if not secrets_equal(access_token_hash(access_token), ath):
        raise InvalidDPoPProof("the DPoP proof's 'ath' is for another access token")
