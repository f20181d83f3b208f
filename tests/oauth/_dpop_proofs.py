"""A minimal DPoP proof maker and verifier written from RFC 9449 §4.2/§4.3 for these tests only.

The verifier uses ``cryptography`` and ``hashlib`` directly (not tokensmith's JWS code), so the
token endpoint helpers are tested against an implementation they share nothing with. It covers
ES256 only, which is all these tests need; ``tokensmith.dpop`` is the real one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tokensmith import Confirmation, Key


class ProofRefused(Exception):
    """The test verifier's only refusal."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_proof(
    key: Key, *, htm: str, htu: str, iat: float, jti: str | None = None, **extra: Any
) -> str:
    """A DPoP proof JWT (RFC 9449 §4.2) signed by ``key`` (ES256)."""
    public = {k: v for k, v in key.to_jwk().items() if k in {"kty", "crv", "x", "y"}}
    header = {"typ": "dpop+jwt", "alg": key.alg, "jwk": public}
    payload = {"jti": jti or secrets.token_urlsafe(12), "htm": htm, "htu": htu, "iat": int(iat)}
    payload.update(extra)
    signing_input = (
        _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(payload).encode())
    ).encode("ascii")
    return signing_input.decode("ascii") + "." + _b64(key.sign(signing_input))


def jwk_thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 §3.2: the required EC members, sorted, no whitespace, SHA-256, base64url."""
    canonical = json.dumps(
        {name: jwk[name] for name in ("crv", "kty", "x", "y")}, separators=(",", ":")
    )
    return _b64(hashlib.sha256(canonical.encode("utf-8")).digest())


@dataclass(frozen=True)
class Proof:
    """What the test verifier returns (the shape of ``tokensmith.dpop.DPoPProof``)."""

    jkt: str
    jti: str
    iat: int

    @property
    def confirmation(self) -> Confirmation:
        return Confirmation(jkt=self.jkt)


@dataclass
class Call:
    method: str
    uri: str
    access_token: str | None


class TestProofVerifier:
    """RFC 9449 §4.3, ES256 only: typ, alg, public jwk, signature, htm, htu, iat window, jti
    once, no ``ath`` unless an access token is presented. Records every call."""

    __test__ = False  # not a pytest class

    def __init__(self, clock: Any, *, window: float = 60) -> None:
        self.clock = clock
        self.window = window
        self.seen: set[str] = set()
        self.calls: list[Call] = []

    def verify(
        self, proof: str, *, method: str, uri: str, access_token: str | None = None
    ) -> Proof:
        self.calls.append(Call(method, uri, access_token))
        try:
            head, body, sig = proof.split(".")
            header = json.loads(_unb64(head))
            claims = json.loads(_unb64(body))
            signature = _unb64(sig)
        except (ValueError, TypeError) as exc:
            raise ProofRefused("not a JWS") from exc
        jwk = header.get("jwk")
        if header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256":
            raise ProofRefused("typ or alg")
        if not isinstance(jwk, dict) or "d" in jwk or jwk.get("crv") != "P-256":
            raise ProofRefused("jwk")
        public = ec.EllipticCurvePublicNumbers(
            int.from_bytes(_unb64(jwk["x"]), "big"),
            int.from_bytes(_unb64(jwk["y"]), "big"),
            ec.SECP256R1(),
        ).public_key()
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        try:
            public.verify(der, f"{head}.{body}".encode("ascii"), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise ProofRefused("signature") from exc
        if claims.get("htm") != method or claims.get("htu") != uri:
            raise ProofRefused("htm or htu")
        if abs(claims.get("iat", 0) - self.clock()) > self.window:
            raise ProofRefused("iat")
        if access_token is None and "ath" in claims:
            raise ProofRefused("ath without an access token")
        if claims.get("jti") in self.seen:
            raise ProofRefused("replayed jti")
        self.seen.add(claims["jti"])
        return Proof(jwk_thumbprint(jwk), claims["jti"], claims["iat"])

    async def averify(
        self, proof: str, *, method: str, uri: str, access_token: str | None = None
    ) -> Proof:
        return self.verify(proof, method=method, uri=uri, access_token=access_token)
