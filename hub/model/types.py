"""Field types shared by the canonical entities."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, PlainSerializer, WithJsonSchema
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.fi import ytunnus

from hub.privacy.identity import mask_hetu, normalise_hetu


class IdentityCodeStr(str):
    """A validated identity code. Its ``repr`` is masked so that it never lands in a log,
    a traceback or a pydantic error by accident; ``str()`` gives the real value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"IdentityCode({mask_hetu(self)!r})"


def _identity_code(value: str) -> IdentityCodeStr:
    return IdentityCodeStr(normalise_hetu(value))


def _business_id(value: str) -> str:
    try:
        return ytunnus.format(ytunnus.validate(value))
    except StdnumValidationError as exc:
        raise ValueError(f"not a valid business ID (Y-tunnus): {exc.message}") from None


IdentityCode = Annotated[
    str,
    AfterValidator(_identity_code),
    PlainSerializer(str, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]$",
            "description": "Finnish personal identity code (henkilötunnus), validated with "
            "python-stdnum; temporary codes 900–999 accepted. Stored only encrypted.",
            "x-personal-identifier": True,
        }
    ),
    Field(repr=False),
]

BusinessId = Annotated[
    str,
    AfterValidator(_business_id),
    WithJsonSchema(
        {"type": "string", "pattern": r"^\d{7}-\d$", "description": "Finnish business ID"}
    ),
]

MunicipalityCode = Annotated[
    str,
    Field(
        pattern=r"^\d{3}$",
        description="Three-digit municipality code (THL 1.2.246.537.6.21)",
    ),
]

NonEmptyText = Annotated[str, Field(min_length=1, max_length=2000)]
