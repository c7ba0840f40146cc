"""Finnish personal identity codes (henkilötunnus), validated by python-stdnum.

Temporary codes (individual number 900–999) are accepted: clients without a permanent code
get one, and all test data uses that range. The century signs added in 2023
(Y X W V U for the 1900s, B C D E F for the 2000s) are accepted and significant:
``010190-999W`` and ``010190Y999W`` are two different people.
"""

from __future__ import annotations

import re

from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.fi import hetu as _hetu

#: Anything shaped like an identity code, valid or not. Used to scrub logs and messages.
HETU_PATTERN = re.compile(r"(?<![0-9A-Za-z])\d{6}[-+A-FU-Y]\d{3}[0-9A-Za-z](?![0-9A-Za-z])", re.I)


def normalise_hetu(value: str) -> str:
    """Return the code in canonical form (upper case, no spaces) or raise ``ValueError``.

    The message never contains the value itself.
    """
    if not isinstance(value, str):
        raise ValueError("an identity code must be a string")
    try:
        return _hetu.validate(value.strip(), allow_temporary=True)
    except StdnumValidationError as exc:
        raise ValueError(f"not a valid Finnish personal identity code ({exc.message})") from None


def is_valid_hetu(value: str) -> bool:
    try:
        normalise_hetu(value)
    except ValueError:
        return False
    return True


def mask_hetu(value: str) -> str:
    """Show only the century sign position, e.g. ``******-****``."""
    return "******" + (value[6] if len(value) > 6 else "") + "****"
