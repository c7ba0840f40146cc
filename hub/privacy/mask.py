"""Masking personal data in payloads shown to operators (dead letters, record views)."""

from __future__ import annotations

import re
from typing import Any

from hub.privacy.identity import HETU_PATTERN, mask_hetu

#: keys whose values identify or describe a person, in the canonical model and in native
#: formats (English and Finnish spellings)
PERSONAL_KEY = re.compile(
    r"(hetu|ssn|person|name|nimi|address|osoite|phone|puhelin|email|sahkoposti|birth|syntym|"
    r"reason|syy|official|goal|tavoite|measure|toimenpide|note|comment)",
    re.I,
)


def _mask_text(value: str) -> str:
    if HETU_PATTERN.fullmatch(value.strip()):
        return mask_hetu(value.strip())
    return (value[:1] + "***") if value else value


def mask_payload(value: Any, key: str = "") -> Any:
    """A copy with personal values masked: identity codes anywhere, and every value under a
    personal key (names, addresses, reasons, free text). Structure and other values stay,
    so an operator can see what is wrong without seeing who it is about."""
    if isinstance(value, dict):
        return {k: mask_payload(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_payload(v, key) for v in value]
    if isinstance(value, str):
        if HETU_PATTERN.search(value):
            return HETU_PATTERN.sub(lambda m: mask_hetu(m.group(0)), value)
        if key and PERSONAL_KEY.search(key):
            return _mask_text(value)
    return value
