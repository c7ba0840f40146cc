"""Finnish personal identity codes (henkilötunnus), validated by python-stdnum.

Temporary codes (individual number 900–999) are accepted: clients without a permanent code
get one, and all test data uses that range. The century signs added in 2023
(Y X W V U for the 1900s, B C D E F for the 2000s) are accepted and significant:
``010190-999W`` and ``010190Y999W`` are two different people.
"""

from __future__ import annotations

import datetime as dt
import re

from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.fi import hetu as _hetu

#: Anything shaped like an identity code, valid or not. Used to scrub logs and messages.
HETU_PATTERN = re.compile(r"(?<![0-9A-Za-z])\d{6}[-+A-FU-Y]\d{3}[0-9A-Za-z](?![0-9A-Za-z])", re.I)


#: a code already written as python-stdnum would write it (its compact form)
_CANONICAL = re.compile(r"\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]", re.ASCII)
_CENTURIES = {"+": 1800, **dict.fromkeys("-YXWVU", 1900), **dict.fromkeys("ABCDEF", 2000)}
_CHECK_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def _valid_canonical(code: str) -> bool:
    """python-stdnum's checks (a date that exists, an individual number from 002, the
    check character) for a code in canonical form, without its general input cleaning.
    Only ever used to accept: a property test proves it accepts nothing stdnum refuses."""
    try:
        dt.date(_CENTURIES[code[6]] + int(code[4:6]), int(code[2:4]), int(code[0:2]))
    except ValueError:
        return False
    return int(code[7:10]) >= 2 and code[10] == _CHECK_CHARACTERS[int(code[:6] + code[7:10]) % 31]


def normalise_hetu(value: str) -> str:
    """Return the code in canonical form (upper case, no spaces) or raise ``ValueError``.

    A code that arrives in canonical form and passes the checks is accepted at once (every
    record of a bulk load has one); anything else is decided by python-stdnum, which also
    says what is wrong. The message never contains the value itself.
    """
    if not isinstance(value, str):
        raise ValueError("an identity code must be a string")
    if len(value) == 11 and _CANONICAL.fullmatch(value) and _valid_canonical(value):
        return value
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
