"""Keys, keyed pseudonyms (HMAC-SHA256) and field encryption (AES-256-GCM).

One 32-byte master key is given to the hub (environment variable ``HUB_MASTER_KEY`` as
URL-safe base64, a key file, or an Airflow connection read by the DAG layer). Separate
sub-keys for pseudonyms, content hashes and encryption are derived from it with HKDF, so
that a pseudonym never reveals anything about the encryption key and vice versa.

Ciphertext layout: ``version (1) | key id (4) | nonce (12) | AES-GCM ciphertext+tag``.
The key id lets a later key rotation decrypt old rows with the old key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hub.errors import ConfigError

_FORMAT = 1
KEY_ENV = "HUB_MASTER_KEY"
KEY_FILE_ENV = "HUB_MASTER_KEY_FILE"


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


@dataclass(frozen=True)
class Keyring:
    """Derived keys. Build it with :func:`load_keyring` or ``Keyring.from_master``."""

    key_id: bytes
    _pseudonym_key: bytes = field(repr=False)
    _hash_key: bytes = field(repr=False)
    _aead: AESGCM = field(repr=False)
    _session_key: bytes = field(repr=False, default=b"")
    # HMAC states keyed once; each pseudonym or hash continues a copy (half the cost of
    # keying HMAC anew for every value)
    _pseudonym_mac: hmac.HMAC = field(init=False, repr=False, compare=False)
    _hash_mac: hmac.HMAC = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pseudonym_mac", hmac.new(self._pseudonym_key, None, "sha256"))
        object.__setattr__(self, "_hash_mac", hmac.new(self._hash_key, None, "sha256"))

    @classmethod
    def from_master(cls, master: bytes) -> Keyring:
        return cls(
            key_id=hashlib.sha256(b"hub/key-id" + master).digest()[:4],
            _pseudonym_key=_derive(master, b"pseudonym"),
            _hash_key=_derive(master, b"content-hash"),
            _aead=AESGCM(_derive(master, b"aes-gcm")),
            _session_key=_derive(master, b"web-session"),
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

    def content_hash(self, data: bytes) -> str:
        """Keyed hash of a record's canonical JSON (a guessed record cannot be confirmed)."""
        mac = self._hash_mac.copy()
        mac.update(data)
        return mac.hexdigest()

    def encrypt(self, plaintext: bytes, *, context: bytes = b"") -> bytes:
        nonce = os.urandom(12)
        return (
            bytes([_FORMAT]) + self.key_id + nonce + self._aead.encrypt(nonce, plaintext, context)
        )

    def decrypt(self, blob: bytes, *, context: bytes = b"") -> bytes:
        if not blob or blob[0] != _FORMAT:
            raise ValueError("unknown ciphertext format")
        if blob[1:5] != self.key_id:
            raise ValueError("ciphertext was made with another key")
        return self._aead.decrypt(blob[5:17], blob[17:], context)


def load_keyring(*, key: str | None = None, key_file: Path | None = None) -> Keyring:
    """Load the master key: explicit argument, then ``HUB_MASTER_KEY``, then the key file."""
    if key:
        return Keyring.from_master(decode_master_key(key, source="the given key"))
    env_key = os.environ.get(KEY_ENV)
    if env_key:
        return Keyring.from_master(decode_master_key(env_key, source=KEY_ENV))
    path = key_file or (Path(os.environ[KEY_FILE_ENV]) if os.environ.get(KEY_FILE_ENV) else None)
    if path and path.exists():
        return Keyring.from_master(decode_master_key(path.read_text(), source=str(path)))
    raise ConfigError(
        f"no master key: set {KEY_ENV} (32 bytes, URL-safe base64), {KEY_FILE_ENV}, "
        "or an Airflow connection 'hub_master_key'; `hub keys generate` makes one"
    )


def ensure_key_file(path: Path) -> Path:
    """Create a key file readable only by its owner if none exists (used by the demo)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(generate_master_key())
    return path
