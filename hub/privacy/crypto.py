"""Keys, keyed pseudonyms (HMAC-SHA256) and field encryption (AES-256-GCM).

A 32-byte master key is given to the hub (environment variable ``HUB_MASTER_KEY`` as
URL-safe base64, a key file, or an Airflow connection read by the DAG layer). Separate
sub-keys for pseudonyms, content hashes and encryption are derived from it with HKDF, so
that a pseudonym never reveals anything about the encryption key and vice versa.

Ciphertext layout: ``version (1) | key id (4) | nonce (12) | AES-GCM ciphertext+tag``.

Key rotation (``hub keys rotate``, :mod:`hub.privacy.rotation`): a keyring holds the
*current* key, which encrypts, pseudonymises and hashes everything new, and any *previous*
keys still needed to read old data (``HUB_PREVIOUS_MASTER_KEYS``, comma separated; in a key
file one key per line, the first the current one). Decryption picks the key by the key id
in the ciphertext; lookups try the previous keys' pseudonyms only while there are any.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.errors import ConfigError

_FORMAT = 1
KEY_ENV = "HUB_MASTER_KEY"
KEY_FILE_ENV = "HUB_MASTER_KEY_FILE"
PREVIOUS_KEYS_ENV = "HUB_PREVIOUS_MASTER_KEYS"


class UnknownKeyError(ValueError):
    """A ciphertext made with a key the keyring does not hold (its id is in the message)."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hub/" + purpose).derive(
        master
    )


def generate_master_key() -> str:
    """A new random master key, URL-safe base64 encoded."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def decode_master_key(text: str, *, source: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except ValueError:
        raise ConfigError(f"{source}: the master key is not URL-safe base64") from None
    if len(raw) != 32:
        raise ConfigError(f"{source}: the master key must be 32 bytes, got {len(raw)}")
    return raw


def key_id_of(blob: bytes) -> bytes:
    """The id of the key a ciphertext was made with."""
    if not blob or blob[0] != _FORMAT or len(blob) < 17:
        raise ValueError("unknown ciphertext format")
    return bytes(blob[1:5])


@dataclass(frozen=True)
class Keyring:
    """Derived keys of the current master key and, in ``previous``, a keyring of each
    previous one. Build it with :func:`load_keyring` or ``Keyring.from_master``."""

    key_id: bytes
    _pseudonym_key: bytes = field(repr=False)
    _hash_key: bytes = field(repr=False)
    _aead: AESGCM = field(repr=False)
    _session_key: bytes = field(repr=False, default=b"")
    #: keyrings of the previous master keys, newest first: they only read old data
    previous: tuple[Keyring, ...] = field(default=(), repr=False)
    # HMAC states keyed once; each pseudonym or hash continues a copy (half the cost of
    # keying HMAC anew for every value)
    _pseudonym_mac: hmac.HMAC = field(init=False, repr=False, compare=False)
    _hash_mac: hmac.HMAC = field(init=False, repr=False, compare=False)
    _by_id: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pseudonym_mac", hmac.new(self._pseudonym_key, None, "sha256"))
        object.__setattr__(self, "_hash_mac", hmac.new(self._hash_key, None, "sha256"))
        by_id = {self.key_id: self}
        for older in self.previous:
            by_id.setdefault(older.key_id, older)
        object.__setattr__(self, "_by_id", by_id)

    @classmethod
    def from_master(cls, master: bytes, previous: Iterable[bytes] = ()) -> Keyring:
        """The keyring of ``master`` (current) and the ``previous`` master keys (newest
        first); a previous key equal to the current one or given twice counts once."""
        older, seen = [], {master}
        for key in previous:
            if key not in seen:
                seen.add(key)
                older.append(cls.from_master(key))
        return cls(
            key_id=hashlib.sha256(b"hub/key-id" + master).digest()[:4],
            _pseudonym_key=_derive(master, b"pseudonym"),
            _hash_key=_derive(master, b"content-hash"),
            _aead=AESGCM(_derive(master, b"aes-gcm")),
            _session_key=_derive(master, b"web-session"),
            previous=tuple(older),
        )

    @property
    def key_ids(self) -> tuple[bytes, ...]:
        """The id of the current key, then of each previous key."""
        return tuple(self._by_id)

    def current_only(self) -> Keyring:
        """This keyring without its previous keys."""
        if not self.previous:
            return self
        return Keyring(
            self.key_id,
            self._pseudonym_key,
            self._hash_key,
            self._aead,
            self._session_key,
        )

    def session_secret(self) -> str:
        """The key that signs the dashboard's session cookies (derived, never stored)."""
        return self._session_key.hex()

    def pseudonym(self, value: str, *, scope: str = "hetu") -> str:
        """Keyed pseudonym for lookups: equal inputs give equal pseudonyms, nothing reverses it."""
        return self.pseudonym_bytes(value, scope=scope).hex()

    def pseudonym_bytes(self, value: str, *, scope: str = "hetu") -> bytes:
        """:meth:`pseudonym` as its 32 bytes (the form the store keeps and indexes)."""
        mac = self._pseudonym_mac.copy()
        mac.update(f"{scope}\x00{value}".encode())
        return mac.digest()

    def previous_pseudonyms(self, value: str, *, scope: str = "hetu") -> tuple[bytes, ...]:
        """:meth:`pseudonym_bytes` under each previous key (empty without previous keys)."""
        return tuple(k.pseudonym_bytes(value, scope=scope) for k in self.previous)

    def content_hash(self, data: bytes) -> str:
        """Keyed hash of a record's canonical JSON (a guessed record cannot be confirmed)."""
        mac = self._hash_mac.copy()
        mac.update(data)
        return mac.hexdigest()

    def previous_content_hashes(self, data: bytes) -> tuple[str, ...]:
        """:meth:`content_hash` under each previous key (empty without previous keys)."""
        return tuple(k.content_hash(data) for k in self.previous)

    def encrypt(self, plaintext: bytes, *, context: bytes = b"") -> bytes:
        """Encrypt with the current key."""
        nonce = os.urandom(12)
        return (
            bytes([_FORMAT]) + self.key_id + nonce + self._aead.encrypt(nonce, plaintext, context)
        )

    def decrypt(self, blob: bytes, *, context: bytes = b"") -> bytes:
        """Decrypt with the key whose id the ciphertext names, current or previous."""
        key = self.key_for(key_id_of(blob))
        return key._aead.decrypt(blob[5:17], blob[17:], context)

    def key_for(self, key_id: bytes) -> Keyring:
        """The (single-key) keyring of ``key_id``; a clear error naming the id if unknown."""
        found = self._by_id.get(bytes(key_id))
        if found is None:
            raise UnknownKeyError(
                f"ciphertext was made with another key (key id {bytes(key_id).hex()}), which "
                f"is not configured: add that master key to {PREVIOUS_KEYS_ENV} or the key "
                "file (`hub keys status` shows which keys the store's data needs)"
            )
        return found


def _split(text: str) -> list[str]:
    """Keys in ``text``, separated by commas or lines (blank lines and ``#`` comments out)."""
    out = []
    for line in text.replace(",", "\n").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def _keyring(texts: list[str], previous: list[str], source: str, previous_source: str) -> Keyring:
    if not texts:
        raise ConfigError(f"{source}: no master key in it")
    keys = [decode_master_key(t, source=source) for t in texts]
    keys += [decode_master_key(t, source=previous_source) for t in previous]
    return Keyring.from_master(keys[0], keys[1:])


def load_keyring(
    *, key: str | None = None, key_file: Path | None = None, previous: str | None = None
) -> Keyring:
    """Load the master keys: explicit argument, then ``HUB_MASTER_KEY``, then the key file.

    ``key`` and ``HUB_MASTER_KEY`` may list several keys (comma separated) and a key file
    one per line: the first is the current key, the others previous ones. The previous keys
    ``previous`` (or else ``HUB_PREVIOUS_MASTER_KEYS``), comma separated, are added to any.
    """
    more = _split(previous if previous is not None else os.environ.get(PREVIOUS_KEYS_ENV, ""))
    more_source = "the given previous keys" if previous is not None else PREVIOUS_KEYS_ENV
    if key:
        return _keyring(_split(key), more, "the given key", more_source)
    env_key = os.environ.get(KEY_ENV)
    if env_key:
        return _keyring(_split(env_key), more, KEY_ENV, more_source)
    path = key_file or (Path(os.environ[KEY_FILE_ENV]) if os.environ.get(KEY_FILE_ENV) else None)
    if path and path.exists():
        return _keyring(_split(path.read_text()), more, str(path), more_source)
    raise ConfigError(
        f"no master key: set {KEY_ENV} (32 bytes, URL-safe base64), {KEY_FILE_ENV}, "
        "or an Airflow connection 'hub_master_key'; `hub keys generate` makes one"
    )


def connection_keys(password: str | None, extra: dict | None) -> str | None:
    """The keys of the Airflow connection ``hub_master_key`` as :func:`load_keyring` takes
    them: its password is the current key, its extra's ``previous`` (a list, or a comma
    separated string) the previous ones."""
    if not password:
        return None
    previous = (extra or {}).get("previous") or []
    if isinstance(previous, str):
        previous = _split(previous)
    if not isinstance(previous, list) or not all(isinstance(p, str) for p in previous):
        raise ConfigError(
            "Airflow connection 'hub_master_key': extra 'previous' must be a list of keys"
        )
    return ",".join([password.strip(), *previous])


def ensure_key_file(path: Path) -> Path:
    """Create a key file readable only by its owner if none exists (used by the demo)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(generate_master_key())
    return path
