"""The documents of the file and Redis key stores: one codec for both.

Both stores keep one JSON document: a format name and version, a generation counter, the
rotation policy and every key with its lifecycle (``not_before``, ``retire_at``,
``not_after``). They differ in where it lives (a file, a Redis key) and in how keys are sealed
(:mod:`._sealing`): a file manifest seals its whole key list under a passphrase (or keeps it in
clear), a Redis document seals each key under a KEK and carries a MAC over everything.

Everything here is pure: no I/O, no locks. Reading never lets a json or crypto error escape:
a document that cannot be used is :class:`~tokensmith.errors.KeyStoreCorrupt` naming where it
lives (``where``, e.g. the file's path), a wrong passphrase or KEK is
:class:`~tokensmith.errors.WrongPassphrase`, and a readable key below today's strength floor is
:class:`~tokensmith.errors.WeakKey`, so the operator learns why.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final, NamedTuple

from .._b64 import b64url_encode
from .._json import StrictJSONError
from .._json import loads as strict_json
from ..errors import ConfigurationError, KeyMaterialError, KeyStoreCorrupt, WeakKey, WrongPassphrase
from ..keys import SUPPORTED_ALGORITHMS, Key
from ..keyset import KeySet, RotationPolicy
from ._sealing import (
    KekSealing,
    PassphraseSealing,
    ScryptParameters,
    canonical,
    is_int,
    sealed_member,
)

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "Manifest",
    "decode_file",
    "decode_redis",
    "encode_file",
    "encode_redis",
    "lifecycles",
    "policy_document",
    "redis_associated_data",
]

MAX_DOCUMENT_BYTES: Final = 8 * 1024 * 1024
"""A stored key set larger than this is refused unread."""

_LIFECYCLE: Final = ("not_before", "retire_at", "not_after")
_POLICY_NUMBERS: Final = ("rotate_every", "publish_ahead", "verify_for")
_FILE_FORMAT: Final = "tokensmith-keyset"
_FILE_VERSION: Final = 1
_FILE_HEADER: Final = ("format", "version", "generation", "policy", "encryption")
_REDIS_FORMAT: Final = "tokensmith-redis-keyset"
_REDIS_VERSION: Final = 2  # 2: the whole document is authenticated (version 1 is refused)


class Manifest(NamedTuple):
    """What a stored document holds."""

    keyset: KeySet
    policy: RotationPolicy | None
    """The recorded policy (a Redis document records it, but replicas apply their own)."""
    generation: int
    encryption: ScryptParameters | None = None
    """A file manifest's passphrase parameters (``None``: keys in clear, or Redis)."""


# --- what both documents share -------------------------------------------------------------


def policy_document(policy: RotationPolicy) -> dict[str, Any]:
    """A rotation policy as recorded (numbers as floats, and the algorithm)."""
    return {
        "rotate_every": float(policy.rotate_every),
        "publish_ahead": float(policy.publish_ahead),
        "verify_for": float(policy.verify_for),
        "alg": policy.alg,
    }


def lifecycles(keyset: KeySet) -> list[tuple[object, ...]]:
    """What a write compares: a change that leaves this equal is not written."""
    return [(k.kid, k.alg, k.is_private, k.not_before, k.retire_at, k.not_after) for k in keyset]


def _lifecycle(key: Key) -> dict[str, float | None]:
    return {name: getattr(key, name) for name in _LIFECYCLE}


def _jwk(key: Key) -> dict[str, Any]:
    return key.to_jwk(private=True) if key.is_private else key.to_jwk()


def _corrupt(where: str, why: str) -> KeyStoreCorrupt:
    return KeyStoreCorrupt(f"{where} {why}")


def _header(
    data: bytes | str, format_: str, version: int, where: str
) -> tuple[dict[str, Any], int]:
    """The document's JSON object and generation, once its format and version are ours."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise _corrupt(where, "is too large to be a key set")
    try:
        document = strict_json(data)
    except StrictJSONError:
        raise _corrupt(where, "is not valid JSON (truncated or damaged)") from None
    if not isinstance(document, dict) or document.get("format") != format_:
        raise _corrupt(where, "is not a tokensmith key set")
    if document.get("version") != version:
        raise _corrupt(where, "has an unsupported format version")
    generation = document.get("generation")
    if not is_int(generation) or generation < 1:
        raise _corrupt(where, "has an invalid generation counter")
    return document, generation


def _read_lifecycle(entry: dict[str, Any], where: str, index: int) -> dict[str, float | None]:
    times: dict[str, float | None] = {}
    for name in _LIFECYCLE:
        value = entry.get(name)
        if value is not None and not (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        ):
            raise _corrupt(where, f"has invalid key times (entry #{index})")
        times[name] = value
    return times


def _read_key(jwk: object, times: dict[str, float | None], where: str, index: int) -> Key:
    """The key of entry ``index``; one that is readable but below the floor is WeakKey."""
    if not isinstance(jwk, dict):
        raise _corrupt(where, f"holds an unusable key (entry #{index})")
    try:
        return Key.from_jwk(jwk).with_lifecycle(**times)
    except WeakKey as exc:  # readable, but below the floor: say so, not "corrupt"
        raise WeakKey(f"{where} holds a weak key (entry #{index}): {exc}") from None
    except KeyMaterialError:
        raise _corrupt(where, f"holds an unusable key (entry #{index})") from None


def _keyset(keys: list[Key], where: str) -> KeySet:
    try:
        return KeySet(keys)
    except KeyMaterialError:
        raise _corrupt(where, "holds two keys with the same kid") from None


# --- the file manifest ------------------------------------------------------------------------


def encode_file(
    keyset: KeySet,
    policy: RotationPolicy,
    generation: int,
    sealing: PassphraseSealing | None,
    encryption: ScryptParameters | None,
) -> tuple[bytes, ScryptParameters | None]:
    """The manifest's bytes, and the passphrase parameters it was sealed with (the given
    ones, new ones when none are given, ``None`` without a passphrase)."""
    entries = [{"jwk": _jwk(key), **_lifecycle(key)} for key in keyset]
    document: dict[str, Any] = {
        "format": _FILE_FORMAT,
        "version": _FILE_VERSION,
        "generation": generation,
        "policy": policy_document(policy),
        "encryption": None,
    }
    if sealing is None:
        encryption = None
        document["keys"] = entries
    else:
        encryption = encryption or sealing.new_parameters()
        document["encryption"] = encryption.document()
        nonce, sealed = sealing.seal(encryption, canonical(entries), canonical(document))
        document["keys"] = {"nonce": b64url_encode(nonce), "ciphertext": b64url_encode(sealed)}
    data = json.dumps(document, indent=1, sort_keys=True, allow_nan=False).encode() + b"\n"
    return data, encryption


def decode_file(data: bytes, sealing: PassphraseSealing | None, where: str) -> Manifest:
    """A manifest's contents; ``sealing`` is the passphrase the store was opened with."""
    document, generation = _header(data, _FILE_FORMAT, _FILE_VERSION, where)
    policy = _read_policy(document.get("policy"), where)
    raw_encryption = document.get("encryption")
    if raw_encryption is None:
        if sealing is not None:
            raise WrongPassphrase(f"{where} is not encrypted, but a passphrase was given")
        return Manifest(_read_entries(document.get("keys"), where), policy, generation)
    if sealing is None:
        raise WrongPassphrase(f"{where} is encrypted: a passphrase is needed")
    encryption = ScryptParameters.from_document(raw_encryption)
    if encryption is None:
        raise _corrupt(where, "has invalid encryption parameters")
    if not sealing.opens(encryption):
        raise WrongPassphrase(f"the passphrase does not open {where}")
    sealed = sealed_member(document.get("keys"), "ciphertext")
    if sealed is None:
        raise _corrupt(where, "has an invalid encrypted key list")
    header = canonical({name: document.get(name) for name in _FILE_HEADER})
    plaintext = sealing.unseal(encryption, sealed, header)
    if plaintext is None:
        raise _corrupt(where, "failed authentication: it was tampered with or damaged")
    try:
        entries = json.loads(plaintext)
    except (ValueError, RecursionError):  # pragma: no cover - authenticated, so ours
        raise _corrupt(where, "has an unreadable key list") from None
    return Manifest(_read_entries(entries, where), policy, generation, encryption)


def _read_policy(raw: object, where: str) -> RotationPolicy:
    if not isinstance(raw, dict) or set(raw) != {*_POLICY_NUMBERS, "alg"}:
        raise _corrupt(where, "has an invalid rotation policy")
    alg = raw["alg"]
    if not isinstance(alg, str) or alg not in SUPPORTED_ALGORITHMS:
        raise _corrupt(where, "has an invalid rotation policy")
    try:
        return RotationPolicy(**{name: raw[name] for name in _POLICY_NUMBERS}, alg=alg)
    except ConfigurationError:
        raise _corrupt(where, "has an invalid rotation policy") from None


def _read_entries(entries: object, where: str) -> KeySet:
    if not isinstance(entries, list):
        raise _corrupt(where, "has an invalid key list")
    keys = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("jwk"), dict):
            raise _corrupt(where, f"has an invalid key entry (#{index})")
        keys.append(_read_key(entry["jwk"], _read_lifecycle(entry, where, index), where, index))
    return _keyset(keys, where)


# --- the Redis document -----------------------------------------------------------------------


def redis_associated_data(store: str, kid: str, alg: str, times: dict[str, float | None]) -> bytes:
    """What a sealed Redis entry is bound to: the format, the store, its kid, alg and times."""
    return canonical({"v": _REDIS_VERSION, "store": store, "kid": kid, "alg": alg, **times})


def encode_redis(
    keyset: KeySet, policy: RotationPolicy, generation: int, sealing: KekSealing
) -> str:
    """The document's text: every key sealed on its own, the whole document MACed."""
    entries = []
    for key in keyset:
        times = _lifecycle(key)
        associated = redis_associated_data(sealing.store, key.kid, key.alg, times)
        nonce, sealed = sealing.seal(canonical(_jwk(key)), associated)
        entry = {"kid": key.kid, "alg": key.alg, **times}
        entries.append({**entry, "nonce": b64url_encode(nonce), "sealed": b64url_encode(sealed)})
    document: dict[str, Any] = {
        "format": _REDIS_FORMAT,
        "version": _REDIS_VERSION,
        "generation": generation,
        "kek_check": b64url_encode(sealing.check),
        "policy": policy_document(policy),
        "keys": entries,
    }
    document["mac"] = sealing.mac(document)
    return canonical(document).decode()


def decode_redis(raw: bytes | str, sealing: KekSealing, where: str) -> Manifest:
    """A document's keys and generation (its policy is not read: replicas apply their own)."""
    document, generation = _header(raw, _REDIS_FORMAT, _REDIS_VERSION, where)
    if not sealing.opens(document):
        raise WrongPassphrase(f"the KEK does not open {where}")
    if not sealing.authentic(document):
        raise _corrupt(where, "failed authentication: it was changed outside tokensmith")
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise _corrupt(where, "has an invalid key list")
    keys = [_open_entry(entry, index, sealing, where) for index, entry in enumerate(entries)]
    return Manifest(_keyset(keys, where), None, generation)


def _open_entry(entry: object, index: int, sealing: KekSealing, where: str) -> Key:
    if not isinstance(entry, dict):
        raise _corrupt(where, f"has an invalid key entry (#{index})")
    times = _read_lifecycle(entry, where, index)
    kid, alg = entry.get("kid"), entry.get("alg")
    sealed = sealed_member(entry, "sealed")
    if not isinstance(kid, str) or not isinstance(alg, str) or alg not in SUPPORTED_ALGORITHMS:
        raise _corrupt(where, f"has an invalid key entry (#{index})")
    if sealed is None:
        raise _corrupt(where, f"has an invalid key entry (#{index})")
    plaintext = sealing.unseal(sealed, redis_associated_data(sealing.store, kid, alg, times))
    if plaintext is None:
        raise _corrupt(where, f"failed authentication (entry #{index}): tampered")
    try:
        jwk = json.loads(plaintext)
    except (ValueError, RecursionError):  # pragma: no cover - authenticated, so ours
        raise _corrupt(where, f"holds an unusable key (entry #{index})") from None
    key = _read_key(jwk, times, where, index)
    if key.kid != kid or key.alg != alg:
        raise _corrupt(where, f"has a mislabelled key (entry #{index})")
    return key
