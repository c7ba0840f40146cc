"""Field types shared by the canonical entities."""

from __future__ import annotations

import functools
from typing import Annotated

from pydantic import AfterValidator, Field, PlainSerializer, WithJsonSchema
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.fi import ytunnus

from hub import codelists
from hub.privacy.identity import canonical_hetu, mask_hetu


class IdentityCodeStr(str):
    """A validated identity code. Its ``repr`` is masked so that it never lands in a log,
    a traceback or a pydantic error by accident; ``str()`` gives the real value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"IdentityCode({mask_hetu(self)!r})"


def _identity_code(value: str) -> IdentityCodeStr:
    return IdentityCodeStr(canonical_hetu(value))


@functools.lru_cache(maxsize=4096)  # a handful of providers recur in every batch
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


@functools.cache
def _municipalities() -> frozenset[str]:
    return codelists.municipality_codes()  # read once, on the first code validated


def _municipality_code(value: str) -> str:
    if value not in _municipalities():
        raise ValueError(
            f"{value} is not a municipality of THL code list {codelists.MUNICIPALITIES} "
            f"(municipalities, shipped in hub/schemas/codelists/)"
        )
    return value


MunicipalityCode = Annotated[
    str,
    Field(
        pattern=r"^\d{3}$",
        description="Three-digit municipality code (THL 1.2.246.537.6.21)",
    ),
    # a code of the shipped list only: 000, 999 and codes of no municipality are refused
    AfterValidator(_municipality_code),
]

NonEmptyText = Annotated[str, Field(min_length=1, max_length=2000)]

PracticeModelId = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$",
        max_length=200,
        description="Innokylä practice model (toimintamalli) id: the slug of its page",
    ),
]

IsoWeek = Annotated[
    str,
    Field(pattern=r"^\d{4}-W(0[1-9]|[1-4]\d|5[0-3])$", description="ISO 8601 week, e.g. 2026-W14"),
]

YearMonth = Annotated[
    str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="calendar month, e.g. 2026-10")
]

Score = Annotated[int, Field(ge=0, le=10, description="Kykyviisari scale, 0 (worst) to 10 (best)")]
