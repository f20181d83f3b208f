"""RFC 9449's own examples, and tokensmith's proofs under a verifier written from the RFC alone.

The proofs, the key and the hashes below are copied from RFC 9449 (§4.1 Figure 2 and §7.1
Figure 12, whose decoded forms are Figures 4 and 13; the thumbprint of §6.1 Figure 9, the
access token of §7.1). The independent verifier (:func:`rfc_verify`) uses only the stdlib and
``cryptography``, never tokensmith, so a shared misreading cannot make both agree.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from tokensmith import Confirmation, Key
from tokensmith.dpop import DPoPProofMaker, DPoPVerifier, access_token_hash
from tokensmith.errors import InvalidDPoPProof

RFC_HEADER = (
    "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik"
    "VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR"
    "nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE"
    "QSIsImNydiI6IlAtMjU2In19"
)
# §4.1 Figure 2: the proof of a token request.
RFC_TOKEN_REQUEST_PROOF = (
    RFC_HEADER + ".eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIj"
    "oiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwia"
    "WF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtF"
    "LbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg"
)
# §7.1 Figure 12: the proof of a protected resource request, with ath.
RFC_RESOURCE_PROOF = (
    RFC_HEADER + ".eyJqdGkiOiJlMWozVl9iS2ljOC1MQUVCIiwiaHRtIj"
    "oiR0VUIiwiaHR1IjoiaHR0cHM6Ly9yZXNvdXJjZS5leGFtcGxlLm9yZy9wcm90ZWN0Z"
    "WRyZXNvdXJjZSIsImlhdCI6MTU2MjI2MjYxOCwiYXRoIjoiZlVIeU8ycjJaM0RaNTNF"
    "c05yV0JiMHhXWG9hTnk1OUlpS0NBcWtzbVFFbyJ9.2oW9RP35yRqzhrtNP86L-Ey71E"
    "OptxRimPPToA1plemAgR6pxHF8y6-yqyVnmcw6Fy1dqd-jfxSYoMxhAJpLjA"
)
RFC_JWK = {
    "kty": "EC",
    "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
    "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
    "crv": "P-256",
}
RFC_JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"  # §6.1 Figure 9
RFC_ACCESS_TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"  # §7.1
RFC_ATH = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"  # §7.1 Figure 13


def test_the_token_request_proof_of_figure_2_verifies() -> None:
    verifier = DPoPVerifier(clock=lambda: 1562262616)
    proof = verifier.verify(
        RFC_TOKEN_REQUEST_PROOF, method="POST", uri="https://server.example.com/token"
    )
    assert (proof.jti, proof.htm, proof.iat) == ("-BwC3ESc6acc2lTc", "POST", 1562262616)
    assert proof.jkt == RFC_JKT
    assert proof.confirmation == Confirmation(jkt=RFC_JKT)


def test_the_resource_proof_of_figure_12_verifies_with_its_access_token() -> None:
    verifier = DPoPVerifier(clock=lambda: 1562262618)
    uri = "https://resource.example.org/protectedresource"
    proof = verifier.verify(
        RFC_RESOURCE_PROOF, method="GET", uri=uri, access_token=RFC_ACCESS_TOKEN
    )
    assert proof.jkt == RFC_JKT
    other = DPoPVerifier(clock=lambda: 1562262618)
    with pytest.raises(InvalidDPoPProof):
        other.verify(RFC_RESOURCE_PROOF, method="GET", uri=uri, access_token="another")


def test_the_thumbprint_of_figure_9_and_the_ath_of_section_7_1() -> None:
    assert Key.from_jwk(RFC_JWK, alg="ES256").thumbprint() == RFC_JKT
    assert access_token_hash(RFC_ACCESS_TOKEN) == RFC_ATH


def test_the_rfc_proofs_are_stale_a_minute_later() -> None:
    verifier = DPoPVerifier(clock=lambda: 1562262616 + 120)
    with pytest.raises(InvalidDPoPProof):
        verifier.verify(
            RFC_TOKEN_REQUEST_PROOF, method="POST", uri="https://server.example.com/token"
        )


# --- an independent verifier, from RFC 9449 §4.3 and RFC 7515/7518/7638/8037 only ----------


def _unb64(text: str) -> bytes:
    assert "=" not in text
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _uint(text: str) -> int:
    return int.from_bytes(_unb64(text), "big")


_HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_EC = {"P-256": (ec.SECP256R1, 32), "P-384": (ec.SECP384R1, 48), "P-521": (ec.SECP521R1, 66)}


def _verify_signature(alg: str, jwk: dict[str, Any], data: bytes, sig: bytes) -> None:
    if alg.startswith("ES"):
        curve, size = _EC[jwk["crv"]]
        public = ec.EllipticCurvePublicNumbers(
            _uint(jwk["x"]), _uint(jwk["y"]), curve()
        ).public_key()
        assert len(sig) == 2 * size
        der = encode_dss_signature(
            int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big")
        )
        public.verify(der, data, ec.ECDSA(_HASHES[alg[2:]]()))
    elif alg[:2] in ("RS", "PS"):
        key = rsa.RSAPublicNumbers(_uint(jwk["e"]), _uint(jwk["n"])).public_key()
        digest = _HASHES[alg[2:]]()
        pad: padding.AsymmetricPadding = (
            padding.PKCS1v15()
            if alg[0] == "R"
            else padding.PSS(padding.MGF1(_HASHES[alg[2:]]()), digest.digest_size)
        )
        key.verify(sig, data, pad, digest)
    else:  # RFC 8037 EdDSA, or RFC 9864's fully-specified Ed25519 / Ed448
        assert alg in ("EdDSA", jwk["crv"]) and jwk["kty"] == "OKP"
        cls = ed25519.Ed25519PublicKey if jwk["crv"] == "Ed25519" else ed448.Ed448PublicKey
        cls.from_public_bytes(_unb64(jwk["x"])).verify(sig, data)


def _thumbprint(jwk: dict[str, Any]) -> str:
    required = {
        "EC": ("crv", "kty", "x", "y"),
        "RSA": ("e", "kty", "n"),
        "OKP": ("crv", "kty", "x"),
    }
    members = {name: jwk[name] for name in required[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).rstrip(b"=").decode()


def rfc_verify(proof: str, method: str, uri: str, now: int, access_token: str) -> str:
    """RFC 9449 §4.3, items 1-12 (one proof; no replay or nonce state): the proof's jkt."""
    header_b64, payload_b64, sig_b64 = proof.split(".")
    header = json.loads(_unb64(header_b64))
    claims = json.loads(_unb64(payload_b64))
    assert {"jti", "htm", "htu", "iat"} <= claims.keys()
    assert header["typ"] == "dpop+jwt"
    assert header["alg"] != "none" and not header["alg"].startswith("HS")
    jwk = header["jwk"]
    assert not {"d", "p", "q", "dp", "dq", "qi", "k"} & jwk.keys()
    _verify_signature(header["alg"], jwk, f"{header_b64}.{payload_b64}".encode(), _unb64(sig_b64))
    assert claims["htm"] == method
    assert claims["htu"] == uri.partition("?")[0].partition("#")[0]
    assert abs(claims["iat"] - now) <= 60
    ath = hashlib.sha256(access_token.encode("ascii")).digest()
    assert claims["ath"] == base64.urlsafe_b64encode(ath).rstrip(b"=").decode()
    return _thumbprint(jwk)


def test_the_independent_verifier_accepts_the_rfc_proof() -> None:
    uri = "https://resource.example.org/protectedresource"
    assert rfc_verify(RFC_RESOURCE_PROOF, "GET", uri, 1562262618, RFC_ACCESS_TOKEN) == RFC_JKT


@pytest.mark.parametrize(
    "alg", ["ES256", "ES384", "ES512", "PS256", "RS256", "EdDSA", "Ed25519", "Ed448"]
)
def test_tokensmith_proofs_pass_the_independent_verifier(alg: str) -> None:
    key = Key.generate(alg)
    maker = DPoPProofMaker(key, clock=lambda: 1_700_000_000)
    uri = "https://api.example.test/orders/7?expand=items"
    proof = maker.proof("DELETE", uri, access_token="at-123")
    assert rfc_verify(proof, "DELETE", uri, 1_700_000_000, "at-123") == key.thumbprint()
    assert maker.jkt == key.thumbprint()


def test_the_independent_verifier_catches_a_forgery() -> None:
    maker = DPoPProofMaker(Key.generate("ES256"), clock=lambda: 1_700_000_000)
    proof = maker.proof("GET", "https://api.example.test/x", access_token="t")
    tampered = proof[:-4] + ("AAAA" if proof[-4:] != "AAAA" else "BBBB")
    with pytest.raises((InvalidSignature, ValueError)):
        rfc_verify(tampered, "GET", "https://api.example.test/x", 1_700_000_000, "t")
