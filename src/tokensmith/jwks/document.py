"""The one JWK Set (RFC 7517 §5) parser: every way a JWKS enters tokensmith follows its rules.

:meth:`KeySet.from_jwks <tokensmith.KeySet.from_jwks>`, :class:`~tokensmith.jwks.RemoteJWKS`
and the command line's ``verify --jwks`` all read documents here, so a key one of them refuses
is refused by all of them. A key set read from outside holds *verification* keys only:

* the document is a JSON object whose ``keys`` member is an array of at most ``max_keys`` JWKs;
* public keys only: a JWK with private members (``d``, ``p``, ``q``, ``dp``, ``dq``, ``qi``,
  ``oth``) or a symmetric (``kty: oct``) key is refused. A published set is readable by
  anyone; an HMAC key taken from one would let every reader sign tokens;
* ``use``, when present, is ``sig``; ``key_ops``, when present, allows ``verify``;
* the algorithm is the JWK's ``alg``, or the caller's ``default_algorithms[kty]``; never a
  guess. Public-key algorithms only (and only ``algorithms``, when given);
* ``kid``, when present, is a non-empty string of at most 256 characters (without one, the
  key's RFC 7638 thumbprint); kids are unique: keys sharing a kid are all refused, since
  which of them the issuer signs with cannot be told;
* every strength floor of :class:`~tokensmith.Key` (RSA size and exponent, ROCA, curves).

Strict callers turn the first unusable key into an error naming it; lenient ones skip it and
report a :class:`SkippedKey`. Reasons never contain key material.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Final, NamedTuple

from .._algorithms import kty_of
from .._frozen import Frozen
from .._json import StrictJSONError
from .._json import loads as strict_json
from .._options import integer, one_or_many
from ..errors import ConfigurationError, InvalidKey, KeyMaterialError, WeakKey
from ..keys import ASYMMETRIC_ALGORITHMS, Key

__all__ = [
    "DEFAULT_MAX_KEYS",
    "PRIVATE_MEMBERS",
    "DocumentError",
    "JWKSRules",
    "ParsedJWKS",
    "SkippedKey",
    "describe",
    "load_document",
    "load_jwk",
    "log_skipped",
    "parse_jwks",
]

PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
"""JWK members that carry private or secret material (RFC 7518 §6.2.2, §6.3.2, §6.4.1)."""

DEFAULT_MAX_KEYS: Final = 100
"""Documents with more keys than this are refused (a real issuer publishes a handful)."""

_log = logging.getLogger("tokensmith.jwks")
_MAX_KID: Final = 256
_PUBLIC_KEY_TYPES: Final = frozenset(filter(None, map(kty_of, ASYMMETRIC_ALGORITHMS)))
_DEFAULT_HINT: Final = (
    "pass default_algorithms={{{kty}: ...}} to say which algorithm keys of that type are for"
)


class SkippedKey(NamedTuple):
    """A JWK left out of a key set, and why (the reason never contains key material).

    ``position`` is its index in the document's ``keys`` array; ``kid`` its ``kid`` member
    when that is a string (``None`` otherwise); ``reason`` starts with the error code
    (``invalid_key: ...`` or ``weak_key: ...``).
    """

    position: int
    kid: str | None
    reason: str


class ParsedJWKS(NamedTuple):
    """The usable keys of a document (by kid, in document order) and the skipped ones."""

    keys: dict[str, Key]
    skipped: tuple[SkippedKey, ...]


class DocumentError(Exception):
    """The document as a whole is unusable; each caller turns it into its own refusal.

    ``reason`` is ``invalid_json``, ``invalid_shape`` or ``no_usable_keys``; the message reads
    after the document's name ("<the JWKS> is not valid JSON"). ``skipped`` lists the keys
    left out of a document that has no usable key (a lenient caller reports them too).
    """

    def __init__(self, message: str, reason: str, skipped: tuple[SkippedKey, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.skipped = skipped


class JWKSRules(Frozen):
    """The checked options of a parse; immutable after construction.

    ``missing_alg_hint`` completes "the JWK has no 'alg' member; ..." with the fix that fits
    the caller (``{kty}`` is replaced by the JWK's key type).
    """

    __slots__ = ("algorithms", "default_algorithms", "max_keys", "missing_alg_hint")

    algorithms: frozenset[str] | None
    default_algorithms: Mapping[str, str]
    max_keys: int
    missing_alg_hint: str

    def __init__(
        self,
        *,
        algorithms: Iterable[str] | None = None,
        default_algorithms: Mapping[str, str] | None = None,
        max_keys: int = DEFAULT_MAX_KEYS,
        missing_alg_hint: str = _DEFAULT_HINT,
    ) -> None:
        integer("max_keys", max_keys, minimum=1, maximum=10_000)
        set_ = object.__setattr__
        set_(self, "algorithms", _check_algorithms(algorithms))
        set_(self, "default_algorithms", _check_default_algorithms(default_algorithms))
        set_(self, "max_keys", max_keys)
        set_(self, "missing_alg_hint", missing_alg_hint)


def _check_algorithms(algorithms: Iterable[str] | None) -> frozenset[str] | None:
    if algorithms is None:
        return None
    names = one_or_many("algorithms", algorithms, item="an algorithm name", items="names")
    if not all(isinstance(name, str) for name in names):
        raise ConfigurationError("algorithms must be algorithm names")
    algs = frozenset(name for name in names if isinstance(name, str))
    if not algs or not algs <= ASYMMETRIC_ALGORITHMS:
        raise ConfigurationError("algorithms may only name public-key algorithms")
    return algs


def _check_default_algorithms(mapping: Mapping[str, str] | None) -> dict[str, str]:
    if mapping is None:
        return {}
    if not isinstance(mapping, Mapping):
        raise ConfigurationError("default_algorithms maps a kty ('RSA', 'EC', 'OKP') to an alg")
    checked: dict[str, str] = {}
    for kty, alg in mapping.items():
        of = kty_of(alg)
        if kty not in _PUBLIC_KEY_TYPES or of not in (kty, None):
            raise ConfigurationError(
                "default_algorithms maps a kty ('RSA', 'EC', 'OKP') to an algorithm of it"
            )
        if of is None:
            raise ConfigurationError("default_algorithms may only name supported algorithms")
        checked[kty] = alg
    return checked


def load_document(data: bytes | str) -> object:
    """The JSON value of a JWKS document's text (strict JSON, see :mod:`tokensmith._json`)."""
    try:
        return strict_json(data)
    except StrictJSONError as exc:
        raise DocumentError(f"is not valid JSON ({exc})", "invalid_json") from None


def parse_jwks(document: object, rules: JWKSRules, *, strict: bool) -> ParsedJWKS:
    """The usable keys of ``document`` under ``rules``.

    ``strict``: the first unusable key raises :class:`~tokensmith.InvalidKey` (or
    :class:`~tokensmith.WeakKey`) naming it; otherwise it is skipped and reported. A document
    of the wrong shape, or with no usable key, raises :class:`DocumentError` either way.
    """
    entries = _entries(document, rules.max_keys)
    loaded: list[tuple[int, Key]] = []
    skipped: list[SkippedKey] = []
    for index, entry in enumerate(entries):
        try:
            loaded.append((index, load_jwk(entry, rules)))
        except KeyMaterialError as exc:
            refusal = SkippedKey(index, _kid_of(entry), f"{exc.code}: {exc}")
            if strict:
                raise _named(refusal, exc) from None
            skipped.append(refusal)
    keys = _unique(loaded, skipped, strict=strict)
    if not keys:
        raise DocumentError("holds no usable key", "no_usable_keys", tuple(sorted(skipped)))
    return ParsedJWKS(keys, tuple(sorted(skipped)))


def _entries(document: object, max_keys: int) -> list[Any]:
    if not isinstance(document, Mapping):
        raise DocumentError("is not a JWKS document (not a JSON object)", "invalid_shape")
    if "keys" not in document:
        raise DocumentError("is not a JWKS document (no 'keys' member)", "invalid_shape")
    entries = document["keys"]
    if not isinstance(entries, list):
        raise DocumentError("is not a JWKS document ('keys' is not a list)", "invalid_shape")
    if len(entries) > max_keys:
        raise DocumentError(f"holds more than {max_keys} keys", "invalid_shape")
    return entries


def _unique(
    loaded: list[tuple[int, Key]], skipped: list[SkippedKey], *, strict: bool
) -> dict[str, Key]:
    """Keys by kid; every key whose kid another key shares is refused."""
    positions: dict[str, list[int]] = {}
    for index, key in loaded:
        positions.setdefault(key.kid, []).append(index)
    keys: dict[str, Key] = {}
    for index, key in loaded:
        shared = positions[key.kid]
        if len(shared) == 1:
            keys[key.kid] = key
            continue
        others = ", ".join(f"#{i}" for i in shared if i != index)
        refusal = SkippedKey(
            index, key.kid, f"invalid_key: duplicate kid (shared with key {others})"
        )
        if strict:
            raise _named(refusal, InvalidKey())
        skipped.append(refusal)
    return keys


def load_jwk(entry: object, rules: JWKSRules) -> Key:
    """A verification key from one member of a JWKS, or :class:`~tokensmith.InvalidKey` /
    :class:`~tokensmith.WeakKey` saying why it cannot be one."""
    if not isinstance(entry, Mapping):
        raise InvalidKey("not a JSON object")
    kid = entry.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid or len(kid) > _MAX_KID):
        raise InvalidKey(f"'kid' must be a non-empty string of at most {_MAX_KID} characters")
    kty = entry.get("kty")
    if kty == "oct":
        raise InvalidKey("a symmetric (oct) key in a public key set; HMAC keys are never published")
    if not PRIVATE_MEMBERS.isdisjoint(entry):
        raise InvalidKey("private key material in a public key set")
    use = entry.get("use")
    if use is not None and use != "sig":
        raise InvalidKey("'use' is not 'sig' (not a signature key)")
    key_ops = entry.get("key_ops")
    if key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops):
        raise InvalidKey("'key_ops' does not allow 'verify'")
    if not isinstance(kty, str) or kty not in _PUBLIC_KEY_TYPES:
        raise InvalidKey(f"unsupported key type {_shown(kty)} ('kty')")
    alg = _algorithm(entry, kty, rules)
    key = Key.from_jwk(entry, alg=alg)
    if key.is_private:  # pragma: no cover - private members are refused above
        raise InvalidKey("private key material in a public key set")
    return key


def _algorithm(entry: Mapping[str, Any], kty: str, rules: JWKSRules) -> str:
    alg = entry.get("alg")
    if alg is None:
        alg = rules.default_algorithms.get(kty)
        if alg is None:
            hint = rules.missing_alg_hint.format(kty=_shown(kty))
            raise InvalidKey(f"the JWK has no 'alg' member; {hint}")
    if not isinstance(alg, str) or alg not in ASYMMETRIC_ALGORITHMS:
        raise InvalidKey(f"unsupported algorithm {_shown(alg)} (public-key algorithms only)")
    if rules.algorithms is not None and alg not in rules.algorithms:
        raise InvalidKey(f"algorithm {alg} is not allowed here")
    return alg


def _kid_of(entry: object) -> str | None:
    kid = entry.get("kid") if isinstance(entry, Mapping) else None
    return kid[:_MAX_KID] if isinstance(kid, str) else None


def _shown(value: object) -> str:
    """A value from the document as it may appear in a message: a short ``repr``."""
    return repr(value) if isinstance(value, str) and len(value) <= 16 else type(value).__name__


def describe(refusal: SkippedKey) -> str:
    """``key #2 ('kid')``: how messages name a member of a document."""
    kid = f" ({refusal.kid[:64]!r})" if refusal.kid is not None else ""
    return f"key #{refusal.position}{kid}"


def _named(refusal: SkippedKey, cause: KeyMaterialError) -> KeyMaterialError:
    """The strict refusal: the same class as the cause, naming the key and the reason."""
    error = WeakKey if isinstance(cause, WeakKey) else InvalidKey
    return error(f"JWKS {describe(refusal)}: {refusal.reason.partition(': ')[2]}")


def log_skipped(refusal: SkippedKey) -> None:
    """The default report of a lenient parse: one warning per key, never key material."""
    _log.warning("JWKS: skipped %s: %s", describe(refusal), refusal.reason)
