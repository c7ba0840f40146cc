"""Sealed checkpoints of the log chain: the hash of entry ``seq`` signed with a key held apart
from the data and from the master key, so that a chain rewritten after an edit (every hash
recomputed) no longer matches a checkpoint made before it.

The seal is an Ed25519 signature (``cryptography``) over the checkpoint: its kind, sequence
number, hash and time. The key is configured as

- ``HUB_AUDIT_SEAL_KEY``: the 32-byte private key (seed) as hex or base64, or
- ``HUB_AUDIT_SEAL_KEY_FILE``: a file holding that, or a PEM private key
  (``openssl genpkey -algorithm ed25519 -out seal.pem``).

Keep it elsewhere than the store and the master key (another secret store, another host's
file system): whoever can write the store and read this key can rewrite the logs unseen.
The key's fingerprint (``key_id``) is stored with each seal; a seal made with another key is
reported as not checked.

A checkpoint is made by ``hub audit verify`` when the chain verifies, and daily by the health
DAG. Pruning (:func:`hub.audit.chain.prune_logs`) leaves an *anchor*: the hash of the last
entry removed, sealed the same way. Without a key no checkpoint is made and verify says so.

No RFC 3161 timestamp is requested (yet): see the README's audit section.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection

from hub.audit.chain import VERSION, canonical, timestamp
from hub.errors import ConfigError
from hub.store import schema as t

SEAL_KEY_ENV = "HUB_AUDIT_SEAL_KEY"
SEAL_KEY_FILE_ENV = "HUB_AUDIT_SEAL_KEY_FILE"
CHECKPOINT, ANCHOR = "checkpoint", "anchor"


@dataclass(frozen=True)
class SealKey:
    private: Ed25519PrivateKey
    #: the public key's fingerprint: the first 8 bytes of its SHA-256, as hex
    key_id: str

    @classmethod
    def from_private(cls, private: Ed25519PrivateKey) -> SealKey:
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return cls(private, hashlib.sha256(raw).hexdigest()[:16])

    @classmethod
    def generate(cls) -> SealKey:
        return cls.from_private(Ed25519PrivateKey.generate())

    def seed_hex(self) -> str:
        """The private key as 64 hex digits (what ``HUB_AUDIT_SEAL_KEY`` takes)."""
        return self.private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        ).hex()

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)

    def verifies(self, message: bytes, signature: bytes) -> bool:
        try:
            self.private.public_key().verify(bytes(signature), message)
        except InvalidSignature:
            return False
        return True


def parse_key(data: str, where: str) -> SealKey:
    """A seal key from its text: a PEM Ed25519 private key, or 32 bytes as hex or base64."""
    data = data.strip()
    if data.startswith("-----BEGIN"):
        try:
            private = serialization.load_pem_private_key(data.encode(), password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{where}: not a readable PEM private key ({exc})") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise ConfigError(f"{where}: the seal key must be an Ed25519 key")
        return SealKey.from_private(private)
    raw = None
    if len(data) == 64:
        try:
            raw = bytes.fromhex(data)
        except ValueError:
            raw = None
    if raw is None:
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None or len(raw) != 32:
        raise ConfigError(
            f"{where}: not an Ed25519 seal key: give its 32 bytes as 64 hex digits or base64, "
            f"or a PEM file (openssl genpkey -algorithm ed25519)"
        )
    return SealKey.from_private(Ed25519PrivateKey.from_private_bytes(raw))


def configured_key(master_key_file: Path | None = None) -> SealKey | None:
    """The seal key from ``HUB_AUDIT_SEAL_KEY`` or ``HUB_AUDIT_SEAL_KEY_FILE`` (None: not
    configured). A key file that is the master key's file is refused."""
    value = os.environ.get(SEAL_KEY_ENV, "").strip()
    if value:
        return parse_key(value, SEAL_KEY_ENV)
    name = os.environ.get(SEAL_KEY_FILE_ENV, "").strip()
    if not name:
        return None
    path = Path(name)
    if master_key_file is not None and path.resolve() == Path(master_key_file).resolve():
        raise ConfigError(
            f"{SEAL_KEY_FILE_ENV}={name}: that is the master key's file; the seal key is held "
            f"apart from it (and from the store)"
        )
    try:
        data = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{SEAL_KEY_FILE_ENV}={name}: cannot read it ({exc})") from None
    return parse_key(data, f"{SEAL_KEY_FILE_ENV}={name}")


def message(kind: str, seq: int, hash_: bytes, at: dt.datetime) -> bytes:
    """What a seal signs."""
    return canonical(["hub-log-checkpoint", VERSION, kind, seq, bytes(hash_).hex(), timestamp(at)])


def add_checkpoint(
    conn: Connection,
    kind: str,
    seq: int,
    hash_: bytes,
    key: SealKey | None,
    at: dt.datetime | None = None,
) -> int:
    """Record a checkpoint (or an anchor) at entry ``seq`` whose hash is ``hash_``, sealed
    with ``key`` (unsealed when None); its id."""
    at = at or dt.datetime.now(dt.UTC)
    return conn.execute(
        t.log_checkpoints.insert().values(
            kind=kind,
            seq=seq,
            hash=bytes(hash_),
            at=at,
            key_id=key.key_id if key else None,
            seal=key.sign(message(kind, seq, hash_, at)) if key else None,
        )
    ).inserted_primary_key[0]
