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


def canonical_hetu(value: str) -> str:
    """Return ``value`` if it is a valid identity code written in canonical form, else raise
    ``ValueError`` saying what is wrong (never quoting the value).

    The canonical form is the one the Digital and Population Data Services Agency writes:
    eleven ASCII characters, digits and upper-case letters, nothing around them. A code in
    any other spelling — surrounded by or holding whitespace, in lower case, with a Unicode
    dash or hyphen, full-width or other non-ASCII digits — is refused, not rewritten:
    python-stdnum would quietly turn all of these into the canonical form, but the hub
    derives a person's pseudonym from the code, and a source that spells codes in several
    ways has a fault that must be fixed there, seen, not papered over (two spellings of one
    code must never be taken for two people, nor a mistyped code for someone else).

    A code in canonical form that passes the checks is accepted at once (every record of a
    bulk load has one); otherwise python-stdnum says what is wrong with it.
    """
    if not isinstance(value, str):
        raise ValueError("an identity code must be a string")
    if len(value) == 11 and _CANONICAL.fullmatch(value) and _valid_canonical(value):
        return value
    spelling = _spelling_problem(value)
    if spelling:
        raise ValueError(
            f"not an identity code in canonical form ({spelling}); the hub takes codes only "
            "as written by the population register and never rewrites one"
        )
    try:
        _hetu.validate(value, allow_temporary=True)
    except StdnumValidationError as exc:
        raise ValueError(f"not a valid Finnish personal identity code ({exc.message})") from None
    raise ValueError("not a valid Finnish personal identity code")  # pragma: no cover


def _spelling_problem(value: str) -> str | None:
    """What makes ``value`` a non-canonical spelling, or None."""
    if any(ch.isspace() for ch in value):
        return "it holds whitespace"
    if not value.isascii():
        return "it holds characters that are not ASCII, such as a Unicode dash or digit"
    if value != value.upper():
        return "it is written in lower case"
    return None


def is_valid_hetu(value: str) -> bool:
    try:
        canonical_hetu(value)
    except ValueError:
        return False
    return True


def mask_hetu(value: str) -> str:
    """Show only the century sign position, e.g. ``******-****``."""
    return "******" + (value[6] if len(value) > 6 else "") + "****"
