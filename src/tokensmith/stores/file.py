"""A key store in a directory: survives restarts, is shared by processes, encrypted at rest.

The directory (``0700``) holds two files, both ``0600``, whatever the umask:

* ``keyset.json`` — the manifest: format version, a generation counter, the rotation policy
  (numbers and ``alg``) and every key with its lifecycle. With a passphrase, the key list is one
  AES-256-GCM blob under a key derived from the passphrase with scrypt, authenticated together
  with the rest of the manifest, so a changed policy, generation or key is detected.
* ``keyset.lock`` — an advisory ``flock`` held around every change (rotation, maintenance, add,
  remove), so processes sharing the directory never rotate twice.

Nobody else may be able to change them. Every access opens the directory without following a
symbolic link and checks that the effective user owns it and that group and others cannot
write it (a directory we own that others may only read or enter is set to ``0700``); the
manifest and the lock file are opened with ``O_NOFOLLOW`` relative to that directory and must
be regular files owned by the effective user with no group or other permission. Anything else
is :class:`~tokensmith.errors.InsecureKeyDirectory`: another local user who can write the
directory could have planted keys of their own.

The manifest's codec is shared with the Redis store (``_manifest.py``, ``_sealing.py``).
Every write is atomic: a temporary file in the same directory, ``fsync``, ``os.replace``, then
``fsync`` of the directory. A crash at any point leaves either the old or the new manifest.

Readers never lock. They ``stat`` the manifest at most once per ``reload_interval`` seconds of
the injected clock and re-parse it only when it changed. Rotation is data (a successor is
published ``publish_ahead`` before it signs, and maintenance always re-reads under the lock),
so a reader that is a second behind still signs with the right key and still knows every key
that may have signed a token; an unknown ``kid`` forces an immediate check as well. See
``docs/persistence.md``. POSIX only (``fcntl.flock``).
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import secrets
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from .._options import seconds
from ..errors import ConfigurationError, InsecureKeyDirectory, KeyStoreCorrupt
from ..keys import Key
from ..keyset import KeySet, RotationPolicy, maintenance_due
from ._manifest import MAX_DOCUMENT_BYTES, decode_file, encode_file, lifecycles, policy_document
from ._sealing import PassphraseSealing, ScryptParameters
from ._shared import SharedKeyStore

__all__ = ["LOCK_NAME", "MANIFEST_NAME", "FileKeyStore"]

MANIFEST_NAME: Final = "keyset.json"
"""The manifest file inside a key directory (policy, generation, keys)."""

LOCK_NAME: Final = "keyset.lock"
"""The lock file inside a key directory (``flock`` around every change; its content is unused)."""

_TMP_PREFIX: Final = ".keyset.json."
_TMP_SUFFIX: Final = ".tmp"
_DIRECTORY_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO planted in place of a file must not wait for a writer
_FILE_FLAGS: Final = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
_PRIVATE_DIRECTORY: Final = 0o700
_PRIVATE_FILE: Final = 0o600

_Identity = tuple[int, int, int, int, int]
_Change = Callable[[KeySet, RotationPolicy | None, float], KeySet]


@dataclass(frozen=True, slots=True)
class _Loaded:
    keyset: KeySet
    policy: RotationPolicy
    generation: int
    encryption: ScryptParameters | None
    identity: _Identity


class FileKeyStore(SharedKeyStore):
    """A :class:`~tokensmith.KeySet` kept in a directory, with automatic rotation.

    ``FileKeyStore(path, policy=RotationPolicy(...))`` creates the directory and its manifest
    (recording the policy) on first use; later opens may omit ``policy`` and use the recorded
    one. An explicit ``policy`` that differs from the recorded one replaces it. The first
    signing key is made by the first maintenance (the first ``signing_key()`` call).

    ``passphrase`` encrypts private keys and HMAC secrets at rest (scrypt + AES-256-GCM; the
    whole manifest is authenticated). Without it keys are stored in clear, protected only by
    ``0600`` in a ``0700`` directory that nobody else may change (see the module docstring).
    ``reload_interval`` bounds how often a reader checks the manifest for changes made by other
    processes (a ``stat``; the file is re-parsed only if it changed).

    Raises :class:`~tokensmith.errors.ConfigurationError` for a directory without a key set and
    no policy, :class:`~tokensmith.errors.InsecureKeyDirectory` for a directory or file someone
    else could change, :class:`~tokensmith.errors.WrongPassphrase` and
    :class:`~tokensmith.errors.KeyStoreCorrupt` (naming the file) for unusable contents.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        passphrase: bytes | None = None,
        policy: RotationPolicy | None = None,
        clock: Callable[[], float] = time.time,
        reload_interval: float = 1.0,
    ) -> None:
        sealing = _sealing(passphrase)
        if policy is not None and not isinstance(policy, RotationPolicy):
            raise ConfigurationError("policy must be a RotationPolicy")
        seconds("reload_interval", reload_interval, minimum=0)
        self._dir = Path(path)
        self._manifest = self._dir / MANIFEST_NAME
        self._sealing = sealing
        self._policy = policy
        self._clock = clock
        self._interval = float(reload_interval)
        self._lock = threading.RLock()
        self._loaded: _Loaded | None = None
        self._keyset = KeySet()
        self._active_policy: RotationPolicy | None = policy
        self._identity: _Identity | None = None
        self._due = math.inf
        self._check_at = -math.inf

        if self._dir.is_symlink():
            raise self._symlink(self._dir)
        if self._dir.exists() and not self._dir.is_dir():
            raise ConfigurationError(f"{self._dir} is not a directory")
        loaded = self._read()
        if loaded is None:
            if policy is None:
                raise ConfigurationError(
                    f"{self._dir} holds no key set ({MANIFEST_NAME}); "
                    "create it by passing a RotationPolicy"
                )
            self._dir.mkdir(mode=_PRIVATE_DIRECTORY, parents=True, exist_ok=True)
            self._apply(None, clock())  # checks the directory and sets it 0700
        elif policy is not None and policy_document(policy) != policy_document(loaded.policy):
            self._install(loaded, clock())
            self._apply(None, clock())  # record the new policy
        else:
            self._install(loaded, clock())
        self._check_at = clock() + self._interval

    # --- public API ----------------------------------------------------------------------------

    @property
    def path(self) -> Path:
        """The key directory."""
        return self._dir

    @property
    def policy(self) -> RotationPolicy | None:
        """The rotation policy in force: the one given, else the one recorded in the directory."""
        return self._active_policy

    @property
    def generation(self) -> int:
        """How many times the manifest has been written (as last read by this instance)."""
        return self._loaded.generation if self._loaded is not None else 0

    def rotate(self) -> KeySet:
        """Start a rotation now (see :meth:`KeySet.rotate`); returns the new key set.

        Runs under the directory lock on the freshest manifest, so two processes rotating at
        once publish one successor, not two.
        """
        return self._apply(_rotate, self._clock())

    def replace(self, keyset: KeySet) -> None:
        """Swap in a whole new key set (written atomically)."""
        if not isinstance(keyset, KeySet):
            raise ConfigurationError("replace() takes a KeySet")
        self._apply(lambda _current, _policy, _now: keyset, self._clock(), force=True)

    def add(self, key: Key) -> None:
        """Add one key (e.g. an imported one); raises if its kid is already present."""
        self._apply(lambda current, _policy, _now: current.add(key), self._clock(), force=True)

    def remove(self, kid: str) -> None:
        """Remove a key now (after a compromise): every process stops using it on reload."""
        self._apply(lambda current, _policy, _now: current.remove(kid), self._clock(), force=True)

    def change_passphrase(self, passphrase: bytes | None) -> None:
        """Re-encrypt the directory under a new passphrase (``None``: keep keys unencrypted).

        The store must have been opened with the current passphrase. A fresh salt is drawn and
        the manifest is rewritten atomically under the directory lock; the keys, their
        lifecycles and the policy do not change. Other processes still holding the old
        passphrase refuse to reload from then on (``WrongPassphrase``), so change it while
        nothing else uses the directory, e.g. between stopping old workers and starting new ones.
        """
        new = _sealing(passphrase)
        with self._lock, self._locked() as directory:
            loaded = self._read(directory)  # proves the current passphrase still opens it
            if loaded is None:
                raise KeyStoreCorrupt(f"{self._manifest} has disappeared")
            previous, self._sealing = self._sealing, new
            try:
                self._write(
                    loaded.keyset,
                    self._policy or loaded.policy,
                    loaded.generation + 1,
                    None,  # new encryption parameters (salt) for the new passphrase
                    self._clock(),
                    directory,
                )
            except BaseException:
                self._sealing = previous
                raise

    def __repr__(self) -> str:
        encrypted = self._sealing is not None
        return f"FileKeyStore({str(self._dir)!r}, {self._keyset!r}, encrypted={encrypted})"

    # --- freshness -----------------------------------------------------------------------------

    def _fresh(self, now: float) -> None:
        """Reload if another process changed the manifest, then maintain if due."""
        if now >= self._check_at:
            self._check_at = now + self._interval
            try:
                self._reload_if_changed(now)
            except BaseException:
                self._check_at = -math.inf  # keep failing loudly until the file is usable
                raise
        if now >= self._due:
            with self._lock:
                if now >= self._due:
                    self._apply(_maintain, now)

    def _recheck_unknown_kid(self, now: float) -> bool:
        return self._reload_if_changed(now)

    def _reload_if_changed(self, now: float) -> bool:
        """``stat`` the manifest; re-parse it only if it is not the one loaded. True if reloaded."""
        if self._stat() == self._identity:
            return False
        with self._lock:
            loaded = self._read()
            if loaded is None:
                raise KeyStoreCorrupt(f"{self._manifest} has disappeared")
            changed = loaded.identity != self._identity
            self._install(loaded, now)
            return changed

    def _stat(self) -> _Identity | None:
        try:
            return _identity(os.stat(self._manifest, follow_symlinks=False))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise KeyStoreCorrupt(f"{self._manifest} cannot be read ({exc.strerror})") from None

    def _install(self, loaded: _Loaded, now: float) -> None:
        policy = self._policy or loaded.policy
        self._loaded = loaded
        self._identity = loaded.identity
        self._active_policy = policy
        self._keyset = loaded.keyset
        self._due = maintenance_due(loaded.keyset, policy, now)

    # --- changes -------------------------------------------------------------------------------

    def _apply(self, change: _Change | None, now: float, *, force: bool = False) -> KeySet:
        """Under both locks: re-read, apply ``change``, write a new generation if anything moved.

        The clock is read again under the locks: a process that read it first but locked second
        must judge the set another process just wrote by the time it sees it, not by an earlier
        instant (it would find a successor or a first key not yet due, and add its own).
        """
        with self._lock, self._locked() as directory:
            now = max(now, self._clock())
            self._remove_stale_temp_files(directory)
            loaded = self._read(directory)
            if loaded is None:
                if self._loaded is not None or self._policy is None:
                    raise KeyStoreCorrupt(f"{self._manifest} has disappeared")
                current, generation, encryption = KeySet(), 0, None
                recorded: RotationPolicy | None = None
            else:
                self._install(loaded, now)
                current, generation = loaded.keyset, loaded.generation
                encryption, recorded = loaded.encryption, loaded.policy
            policy = self._policy or recorded
            assert policy is not None
            updated = change(current, policy, now) if change is not None else current
            if (
                force
                or loaded is None
                or recorded is None
                or policy_document(policy) != policy_document(recorded)
                or lifecycles(updated) != lifecycles(current)
            ):
                self._write(updated, policy, generation + 1, encryption, now, directory)
            return self._keyset

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        """The checked directory (as a descriptor), with the ``flock`` on its lock file held."""
        directory = self._open_directory()
        if directory is None:
            raise KeyStoreCorrupt(f"{self._dir} has disappeared")
        try:
            lock = self._open_file(directory, LOCK_NAME, os.O_RDWR | os.O_CREAT)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX)
                yield directory
            finally:
                os.close(lock)  # closing releases the lock
        finally:
            os.close(directory)

    def _remove_stale_temp_files(self, directory: int) -> None:
        """Temp files left by a writer that crashed (we hold the lock: none is in progress)."""
        for name in os.listdir(directory):
            if name.startswith(_TMP_PREFIX) and name.endswith(_TMP_SUFFIX):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=directory)

    # --- who may change the directory ----------------------------------------------------------

    def _open_directory(self) -> int | None:
        """A descriptor on the key directory once it is checked; ``None`` if it does not exist.

        The directory must not be a symbolic link, must be owned by the effective user and not
        writable by group or others; if it is ours and others may only read or enter it, it is
        set to ``0700``.
        """
        try:
            directory = os.open(self._dir, _DIRECTORY_FLAGS)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if self._dir.is_symlink():
                raise self._symlink(self._dir) from None
            raise KeyStoreCorrupt(f"{self._dir} cannot be opened ({exc.strerror})") from None
        try:
            status = os.fstat(directory)
            self._check_owner(self._dir, status)
            mode = stat.S_IMODE(status.st_mode)
            if mode & 0o022:
                raise InsecureKeyDirectory(
                    f"{self._dir} is writable by group or others (mode {mode:04o}): another "
                    "user could have replaced the keys; check its contents, then chmod 700 it"
                )
            if mode != _PRIVATE_DIRECTORY:
                os.fchmod(directory, _PRIVATE_DIRECTORY)
        except BaseException:
            os.close(directory)
            raise
        return directory

    def _open_file(self, directory: int, name: str, flags: int) -> int:
        """Open ``name`` in the checked directory: no symlink, a regular file, ours, ``0600``."""
        path = self._dir / name
        try:
            fd = os.open(name, flags | _FILE_FLAGS, _PRIVATE_FILE, dir_fd=directory)
        except OSError as exc:
            if os.path.islink(path):
                raise self._symlink(path) from None
            if isinstance(exc, FileNotFoundError):
                raise
            raise KeyStoreCorrupt(f"{path} cannot be read ({exc.strerror})") from None
        try:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode):
                raise KeyStoreCorrupt(f"{path} is not a regular file")
            self._check_owner(path, status)
            mode = stat.S_IMODE(status.st_mode)
            if mode & 0o077:
                raise InsecureKeyDirectory(
                    f"{path} is open to group or others (mode {mode:04o}): chmod 600 it, and "
                    "replace the keys if someone else could have read or changed them"
                )
            if mode != _PRIVATE_FILE and flags & os.O_CREAT:
                os.fchmod(fd, _PRIVATE_FILE)  # created under a umask that took our own bits
        except BaseException:
            os.close(fd)
            raise
        return fd

    @staticmethod
    def _check_owner(path: Path, status: os.stat_result) -> None:
        user = os.geteuid()
        if status.st_uid != user:
            raise InsecureKeyDirectory(
                f"{path} is owned by uid {status.st_uid}, not by this process's user "
                f"(uid {user}): that user could change the keys"
            )

    @staticmethod
    def _symlink(path: Path) -> InsecureKeyDirectory:
        return InsecureKeyDirectory(
            f"{path} is a symbolic link: give the real path, so that nobody can point it elsewhere"
        )

    def _write(
        self,
        keyset: KeySet,
        policy: RotationPolicy,
        generation: int,
        encryption: ScryptParameters | None,
        now: float,
        directory: int,
    ) -> None:
        data, encryption = encode_file(keyset, policy, generation, self._sealing, encryption)
        self._atomic_write(data, directory)
        written = os.stat(MANIFEST_NAME, dir_fd=directory, follow_symlinks=False)
        self._install(_Loaded(keyset, policy, generation, encryption, _identity(written)), now)

    def _atomic_write(self, data: bytes, directory: int) -> None:
        """Write a new temporary file (``0600`` whatever the umask), then rename it in place."""
        temp = f"{_TMP_PREFIX}{secrets.token_hex(8)}{_TMP_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(temp, flags, _PRIVATE_FILE, dir_fd=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), _PRIVATE_FILE)
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, MANIFEST_NAME, src_dir_fd=directory, dst_dir_fd=directory)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=directory)
            raise
        os.fsync(directory)  # make the rename itself durable

    # --- reading -------------------------------------------------------------------------------

    def _read(self, directory: int | None = None) -> _Loaded | None:
        """Parse the manifest (``None`` if there is none). Never raises json/crypto errors.

        ``directory`` is the checked directory when the caller holds the lock; without it the
        directory is opened (and checked) here.
        """
        if directory is None:
            opened = self._open_directory()
            if opened is None:
                return None
            try:
                return self._read(opened)
            finally:
                os.close(opened)
        try:
            fd = self._open_file(directory, MANIFEST_NAME, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            status = os.fstat(fd)
            if status.st_size > MAX_DOCUMENT_BYTES:
                raise KeyStoreCorrupt(f"{self._manifest} is too large to be a key set")
            chunks = []
            while chunk := os.read(fd, 1 << 16):
                chunks.append(chunk)
        except OSError as exc:  # pragma: no cover - an I/O error on a regular file we opened
            raise KeyStoreCorrupt(f"{self._manifest} cannot be read ({exc.strerror})") from None
        finally:
            os.close(fd)
        read = decode_file(b"".join(chunks), self._sealing, str(self._manifest))
        assert read.policy is not None  # a file manifest always records one
        return _Loaded(
            read.keyset, read.policy, read.generation, read.encryption, _identity(status)
        )


def _sealing(passphrase: object) -> PassphraseSealing | None:
    if passphrase is None:
        return None
    if not isinstance(passphrase, bytes | bytearray) or not passphrase:
        raise ConfigurationError("passphrase must be non-empty bytes (or None for no encryption)")
    return PassphraseSealing(bytes(passphrase))


def _maintain(current: KeySet, policy: RotationPolicy | None, now: float) -> KeySet:
    return current if policy is None else current.maintain(policy, now)


def _rotate(current: KeySet, policy: RotationPolicy | None, now: float) -> KeySet:
    if policy is None:  # pragma: no cover - every manifest records a policy
        raise ConfigurationError("rotate() needs a RotationPolicy")
    return current.rotate(policy, now)


def _identity(status: os.stat_result) -> _Identity:
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
