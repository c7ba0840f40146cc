"""Personal data protection: identity codes, keyed pseudonyms, encryption and redaction."""

from hub.privacy.crypto import Keyring, UnknownKeyError, load_keyring
from hub.privacy.identity import HETU_PATTERN, canonical_hetu, is_valid_hetu
from hub.privacy.redact import RedactingFilter, install_log_redaction, redact

__all__ = [
    "HETU_PATTERN",
    "Keyring",
    "RedactingFilter",
    "UnknownKeyError",
    "install_log_redaction",
    "is_valid_hetu",
    "load_keyring",
    "canonical_hetu",
    "redact",
]
