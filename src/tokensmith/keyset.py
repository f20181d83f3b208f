"""The rotation model: an immutable set of keys with activation, retirement and expiry times.

Rotation is data, not an event. Every key carries three instants:

* ``not_before`` — it may sign from then on (it is *pending* before, yet already published);
* ``retire_at`` — it stops signing (it is *retired* after, still verifying);
* ``not_after`` — it stops verifying and is dropped.

Any replica reading the same set computes the same signing key at the same instant (the newest
key already active; ties broken by kid), so no coordination is needed. :meth:`KeySet.maintain`
applies a :class:`RotationPolicy` at any time and is idempotent.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal

from ._frozen import Value
from ._options import flag, seconds
from .errors import (
    AlgorithmMismatch,
    AmbiguousKey,
    ConfigurationError,
    InvalidKey,
    NoSigningKey,
    UnknownKey,
)
from .keys import Key

if TYPE_CHECKING:
    from .jwks.document import SkippedKey

__all__ = ["CLOCK_SKEW", "KeySet", "KeyState", "RotationPolicy", "key_state", "maintenance_due"]

KeyState = Literal["pending", "active", "retired", "expired"]
"""Where a key is in its life at a given instant."""

CLOCK_SKEW = 60.0
"""Seconds by which replicas' clocks may differ and still agree on a brand-new signing key.

A key that :meth:`KeySet.maintain` makes because no key can sign (the very first key, or after
every key has lapsed) is active from this long *before* it was made, so a replica whose clock is
behind its creator's by up to this much signs with it too, instead of seeing it as pending and
making a first key of its own. Scheduled successors need no such margin: they are published
``publish_ahead`` before they sign.
"""

_MAX_KID_LENGTH = 256


class RotationPolicy(Value):
    """How often a key set rotates and how long keys live around a rotation.

    * ``rotate_every`` — seconds a key signs before its successor takes over;
    * ``publish_ahead`` — seconds a successor is published (in the JWKS) before it signs, so
      every validator caching the JWKS has it in time; keep it ≥ their cache lifetime;
    * ``verify_for`` — seconds a retired key keeps verifying; must be ≥ the longest lifetime of a
      token it signed (the :class:`~tokensmith.Signer` refuses to issue tokens that would
      outlive it);
    * ``alg`` — algorithm for generated keys; ``generate`` can be replaced (e.g. for an HSM).
    """

    __slots__ = ("alg", "generate", "publish_ahead", "rotate_every", "verify_for")
    _fields = ("rotate_every", "publish_ahead", "verify_for", "alg", "generate")

    rotate_every: float
    publish_ahead: float
    verify_for: float
    alg: str
    generate: Callable[[str], Key]

    def __init__(
        self,
        rotate_every: float = 30 * 86400.0,
        publish_ahead: float = 86400.0,
        verify_for: float = 86400.0,
        alg: str = "ES256",
        generate: Callable[[str], Key] = Key.generate,
    ) -> None:
        for name, value in (
            ("rotate_every", rotate_every),
            ("publish_ahead", publish_ahead),
            ("verify_for", verify_for),
        ):
            seconds(f"RotationPolicy.{name}", value, positive=True)
        if publish_ahead > rotate_every:
            raise ConfigurationError("RotationPolicy.publish_ahead may not exceed rotate_every")
        set_ = object.__setattr__
        set_(self, "rotate_every", rotate_every)
        set_(self, "publish_ahead", publish_ahead)
        set_(self, "verify_for", verify_for)
        set_(self, "alg", alg)
        set_(self, "generate", generate)


def key_state(key: Key, now: float) -> KeyState:
    """The state of ``key`` at ``now``."""
    if key.not_after is not None and now >= key.not_after:
        return "expired"
    if key.not_before is not None and now < key.not_before:
        return "pending"
    if key.retire_at is not None and now >= key.retire_at:
        return "retired"
    return "active"


def _activation(key: Key) -> float:
    return key.not_before if key.not_before is not None else -math.inf


class KeySet:
    """An immutable collection of keys; every change returns a new set.

    Immutability makes stores simple: a store swaps one reference, and a reader holding the old
    set keeps a consistent view.
    """

    __slots__ = ("_by_kid", "_keys", "_signing")

    def __init__(self, keys: Iterable[Key] = ()) -> None:
        given = list(keys)
        if not all(isinstance(k, Key) for k in given):
            raise InvalidKey("a KeySet holds Key objects only")
        ordered = sorted(given, key=lambda k: (_activation(k), k.kid))
        by_kid: dict[str, Key] = {}
        for key in ordered:
            if key.kid in by_kid:
                raise InvalidKey(f"duplicate kid {key.kid!r} in key set")
            by_kid[key.kid] = key
        self._keys: tuple[Key, ...] = tuple(ordered)
        self._by_kid = by_kid
        # (key, from, until): the signing key for every instant in [from, until), where no
        # key changes state; issuing a token then costs one comparison, not a scan
        self._signing: tuple[Key, float, float] | None = None

    @classmethod
    def from_jwks(
        cls,
        document: Mapping[str, Any] | str | bytes,
        *,
        strict: bool = True,
        algorithms: Iterable[str] | None = None,
        default_algorithms: Mapping[str, str] | None = None,
        max_keys: int = 100,
        on_skip: Callable[[SkippedKey], None] | None = None,
    ) -> KeySet:
        """The verification keys of a JWK Set (RFC 7517 §5): a parsed document or its JSON text.

        The same rules as :class:`~tokensmith.jwks.RemoteJWKS` and ``tokensmith verify
        --jwks``: public keys only (private members and ``oct`` keys are refused), ``use`` /
        ``key_ops`` must allow verifying, kids are unique, every strength floor applies, and a
        key without ``alg`` needs ``default_algorithms`` (``{"RSA": "RS256"}``); tokensmith
        never guesses an algorithm. ``algorithms`` narrows the accepted algorithms.

        ``strict=True`` (the default): any unusable key raises :class:`~tokensmith.InvalidKey`
        or :class:`~tokensmith.WeakKey` naming it (``JWKS key #2 ('kid'): ...``).
        ``strict=False``: unusable keys are left out and each is reported as a
        :class:`~tokensmith.SkippedKey` to ``on_skip`` (default: a warning on the
        ``tokensmith.jwks`` logger). Either way a document of the wrong shape, with more than
        ``max_keys`` keys, or without any usable key raises :class:`~tokensmith.InvalidKey`.
        """
        from .jwks import document as jwks_document  # noqa: PLC0415 - keep `import tokensmith` cheap

        flag("strict", strict)
        if on_skip is not None and not callable(on_skip):
            raise ConfigurationError("on_skip must be callable")
        rules = jwks_document.JWKSRules(
            algorithms=algorithms, default_algorithms=default_algorithms, max_keys=max_keys
        )
        try:
            parsed: object = document
            if isinstance(document, str | bytes | bytearray):
                parsed = jwks_document.load_document(document)
            keys, skipped = jwks_document.parse_jwks(parsed, rules, strict=strict)
        except jwks_document.DocumentError as exc:
            for refusal in exc.skipped:
                (on_skip or jwks_document.log_skipped)(refusal)
            raise InvalidKey(f"the JWKS {exc.message}") from None
        for refusal in skipped:
            (on_skip or jwks_document.log_skipped)(refusal)
        return cls(keys.values())

    @classmethod
    def generate(cls, alg: str = "ES256", *, kid: str | None = None) -> KeySet:
        """A set holding one freshly generated key without lifecycle times: it signs and verifies
        at any instant, until it is removed or a rotation retires it.

        For keys that rotate, give the store a :class:`RotationPolicy` instead (it makes its
        first key on first use): a store without one cannot ``rotate()``.
        """
        return cls([Key.generate(alg, kid=kid)])

    # --- queries -----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Key]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, kid: object) -> bool:
        return kid in self._by_kid

    def __repr__(self) -> str:
        return f"KeySet({[k.kid for k in self._keys]!r})"

    def get(self, kid: str) -> Key | None:
        """The key with this kid, whatever its state, or ``None``."""
        return self._by_kid.get(kid)

    def state(self, kid: str, now: float) -> KeyState:
        """The state of the key ``kid`` at ``now``."""
        key = self._by_kid.get(kid)
        if key is None:
            raise UnknownKey("no key with that kid in the set")
        return key_state(key, now)

    def signing_key(self, now: float) -> Key:
        """The newest private key already active at ``now`` (deterministic across replicas)."""
        memo = self._signing
        if memo is not None and memo[1] <= now < memo[2]:
            return memo[0]
        for key in reversed(self._keys):
            if key.is_private and key_state(key, now) == "active":
                self._signing = (key, now, self.next_change(now))
                return key
        raise NoSigningKey("no key in the set may sign at this instant")

    def verification_key(self, kid: str | None, alg: str, now: float) -> Key:
        """The key that may verify a token whose header has this ``kid`` and ``alg``.

        A key matches only if its kid is equal *and* it is bound to ``alg``. Without a kid, a key
        is chosen only when exactly one non-expired key is bound to ``alg``. Pending keys verify
        (they are published, and replicas' clocks differ slightly); expired keys never do.
        """
        if kid is not None:
            key = self._by_kid.get(kid) if len(kid) <= _MAX_KID_LENGTH else None
            # expired keys never verify (pending ones do: published, and clocks differ a little)
            if key is None or (key.not_after is not None and now >= key.not_after):
                raise UnknownKey("no usable key for the token's kid")
            if key.alg != alg:
                raise AlgorithmMismatch("the token's kid names a key bound to another alg")
            return key
        candidates = [k for k in self._keys if k.alg == alg and key_state(k, now) != "expired"]
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            raise UnknownKey("the token has no kid and no key is bound to its alg")
        raise AmbiguousKey("the token has no kid and several keys could verify it")

    def published(self, now: float) -> list[Key]:
        """Keys a validator should know at ``now``: pending, active and retired, not expired."""
        return [k for k in self._keys if key_state(k, now) != "expired"]

    def jwks(self, now: float) -> dict[str, Any]:
        """The public JWKS (RFC 7517) of :meth:`published` keys; HMAC keys are never included."""
        return {
            "keys": [k.to_jwk() for k in self.published(now) if not k.is_symmetric],
        }

    def algorithms(self) -> frozenset[str]:
        """The algorithms the keys in this set are bound to."""
        return frozenset(k.alg for k in self._keys)

    # --- changes (each returns a new set) ----------------------------------------------------

    def add(self, key: Key) -> KeySet:
        """A new set with ``key`` added."""
        return KeySet([*self._keys, key])

    def remove(self, kid: str) -> KeySet:
        """A new set without the key ``kid`` (e.g. after a compromise); it stops verifying now."""
        if kid not in self._by_kid:
            raise UnknownKey("no key with that kid in the set")
        return KeySet(k for k in self._keys if k.kid != kid)

    def prune(self, now: float) -> KeySet:
        """A new set without expired keys."""
        return KeySet(k for k in self._keys if key_state(k, now) != "expired")

    def next_change(self, now: float) -> float:
        """The next instant after ``now`` at which any key changes state (``inf`` if none)."""
        instants = [
            t
            for k in self._keys
            for t in (k.not_before, k.retire_at, k.not_after)
            if t is not None and t > now
        ]
        return min(instants, default=math.inf)

    def maintain(self, policy: RotationPolicy, now: float) -> KeySet:
        """Apply ``policy`` at ``now``; calling it again at the same instant changes nothing.

        Guarantees, whenever it is called at least every ``publish_ahead`` seconds:

        * a key can sign at ``now`` (only the very first key signs without being published
          ahead, since there was nothing before it; such a key is active from
          :data:`CLOCK_SKEW` before ``now``, so replicas whose clocks are a little behind sign
          with it too);
        * the successor of the signing key is published at least ``publish_ahead`` before it
          signs: if maintenance comes late, the current key's retirement is postponed rather
          than activating an unpublished key;
        * a retired key verifies for ``verify_for`` after its retirement; expired keys are gone.
        """
        keys = [k for k in self._keys if key_state(k, now) != "expired"]
        signers = [k for k in keys if k.is_private]
        if signers:
            tail = max(signers, key=lambda k: (_activation(k), k.kid))
            if tail.retire_at is None:  # a key made without a schedule joins the rotation
                retire = max(_activation(tail), now) + policy.rotate_every
                keys[keys.index(tail)] = tail = tail.with_lifecycle(
                    not_before=tail.not_before,
                    retire_at=retire,
                    not_after=retire + policy.verify_for,
                )
            retire_at = tail.retire_at if tail.retire_at is not None else math.inf
            if key_state(tail, now) != "pending" and retire_at - now <= policy.publish_ahead:
                start = max(retire_at, now + policy.publish_ahead)
                if start > retire_at:  # late: postpone (or undo) the retirement
                    keys[keys.index(tail)] = tail.with_lifecycle(
                        not_before=tail.not_before,
                        retire_at=start,
                        not_after=start + policy.verify_for,
                    )
                keys.append(_scheduled(policy, policy.generate(policy.alg), start))
        if not any(k.is_private and key_state(k, now) == "active" for k in keys):
            keys.append(_first(policy, policy.generate(policy.alg), now))
        return KeySet(keys)

    def rotate(self, policy: RotationPolicy, now: float) -> KeySet:
        """Start a rotation now: publish a successor that signs from ``now + publish_ahead``.

        The current signing key retires at that instant and verifies ``verify_for`` longer.
        """
        current = self.maintain(policy, now)
        signer = current.signing_key(now)
        start = now + policy.publish_ahead
        pending = [k for k in current if k.is_private and key_state(k, now) == "pending"]
        if pending and _activation(pending[-1]) <= start:
            return current  # a successor is already published and due no later than asked
        keys = [k for k in current if k.kid != signer.kid and k not in pending]
        keys.append(
            signer.with_lifecycle(
                not_before=signer.not_before,
                retire_at=start,
                not_after=start + policy.verify_for,
            )
        )
        keys.append(_scheduled(policy, policy.generate(policy.alg), start))
        return KeySet(keys)


def _scheduled(policy: RotationPolicy, key: Key, start: float) -> Key:
    retire = start + policy.rotate_every
    return key.with_lifecycle(
        not_before=start, retire_at=retire, not_after=retire + policy.verify_for
    )


def _first(policy: RotationPolicy, key: Key, now: float) -> Key:
    """A key made because none could sign: active from ``CLOCK_SKEW`` before ``now`` (a replica
    whose clock is that much behind agrees it signs), retiring a full period after ``now``."""
    retire = now + policy.rotate_every
    return key.with_lifecycle(
        not_before=now - CLOCK_SKEW, retire_at=retire, not_after=retire + policy.verify_for
    )


def maintenance_due(keyset: KeySet, policy: RotationPolicy, now: float) -> float:
    """The next instant at which :meth:`KeySet.maintain` would change ``keyset``.

    Stores call ``maintain`` only once this instant has passed, keeping ``signing_key()`` cheap.
    """
    signers = [k for k in keyset if k.is_private]
    if not signers or not any(key_state(k, now) == "active" for k in signers):
        return now
    tail = max(signers, key=lambda k: (_activation(k), k.kid))
    if tail.retire_at is None:
        return now
    return min(keyset.next_change(now), tail.retire_at - policy.publish_ahead)
