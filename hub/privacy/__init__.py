"""Personal data protection: identity codes, keyed pseudonyms, encryption and redaction."""

from hub.privacy.crypto import Keyring, load_keyring
from hub.privacy.identity import HETU_PATTERN, is_valid_hetu, normalise_hetu
from hub.privacy.redact import RedactingFilter, install_log_redaction, redact

__all__ = [
    "HETU_PATTERN",
    "Keyring",
    "RedactingFilter",
    "install_log_redaction",
    "is_valid_hetu",
    "load_keyring",
    "normalise_hetu",
    "redact",
]
