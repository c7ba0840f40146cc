"""Every name of the modelled Innokylä service, in one place.

Innokylä publishes no API (DOMAIN.md): the paths, headers, query parameters and JSON field
names below are invented, modelled on the public practice-model page (basic-data block and
sections) and on REST conventions. ``hub_innokyla/schemas/`` describes the resulting JSON (a
practice model; an indicator as published and as listed). Replace this module and those
schemas when a real specification appears.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SYSTEM = "innokyla"
TITLE = "Innokylä (practice models and their indicators)"
PROVIDER = "Innokylä"
SANDBOX_PORT = 8704
SANDBOX_KEY = "sandbox-key"

OPTION_KEY = "api_key"
H_KEY = "Innokyla-Api-Key"
H_IDEMPOTENCY = "Idempotency-Key"

PATH_MODELS = "/api/v1/practice-models"
PATH_INDICATORS = "/api/v1/indicators"
PATH_PUBLISH = "/api/v1/indicators/batch"

Q_LIMIT = "limit"
Q_MODIFIED_AFTER = "modifiedAfter"
Q_AFTER_ID = "afterId"
MAX_PAGE = 100
#: the most bytes one answer may hold (a page, a batch's results): parsed, a page takes up
#: to about ten times its size in memory; a larger page is asked for again with half the limit
MAX_PAGE_BYTES = 8 * 1024 * 1024
PAGE_ITEMS = "items"
PAGE_HAS_MORE = "hasMore"

# practice model (the page's basic-data block and sections)
MODEL_ID = "id"
MODIFIED = "modified"
MODEL_FIELDS = {  # canonical -> native
    "model_id": "id",
    "name": "name",
    "short_description": "summary",
    "region": "region",
    "municipality_codes": "municipalities",
    "organisations": "organisations",
    "funder": "funder",
    "created": "created",
}
AUTHOR = "author"  # a person's name: never taken into the hub
SECTIONS = "sections"
SECTION_TITLE = "title"
SECTION_BODY = "body"

# indicator
IND_ID = "id"
IND_FIELDS = {  # canonical -> native
    "practice_model": "practiceModel",
    "code": "indicator",
    "period_start": "periodStart",
    "period_end": "periodEnd",
    "unit": "unit",
    "category": "category",
    "municipality_codes": "municipalities",  # one code, or absent: all municipalities
}
IND_VALUE = "value"  # a string: the number, "<5" (a small count) or "x" (confidential)
IND_PUBLISHED = "published"
IND_KEY = "idempotencyKey"
#: what a publication may contain; anything else is refused
PUBLISH_FIELDS = frozenset({*IND_FIELDS.values(), IND_VALUE, IND_KEY})
BATCH_ITEMS = "indicators"
BATCH_RESULTS = "results"
R_RESULT = "result"
R_REASON = "reason"
RESULT_PUBLISHED = "published"
RESULT_DUPLICATE = "duplicate"
RESULT_REJECTED = "rejected"

SMALL = "<5"
CONFIDENTIAL = "x"
VALUE_PATTERN = re.compile(r"^(<5|x|-?\d+(\.\d+)?)$")
#: what the publication platform refuses as personal data
HETU_LIKE = re.compile(r"\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]")


def indicator_id(
    model: str,
    period_start: str,
    code: str,
    category: str | None = None,
    municipality: str | None = None,
) -> str:
    """An indicator's id, the hub's native id too: ``{practiceModel}/{periodStart}/{indicator}``,
    then ``/{category}`` for a figure per category and ``@{municipality}`` for a figure of one
    municipality (``osku-aloittava-tyotoiminta/2026-04-01/transitions/employment@743``)."""
    ind_id = f"{model}/{period_start}/{code}"
    if category:
        ind_id += f"/{category}"
    if municipality:
        ind_id += f"@{municipality}"
    return ind_id


def native_indicator_id(item: Mapping[str, Any]) -> str:
    """The id of an indicator as sent or listed (its native fields)."""
    municipalities = item.get("municipalities") or [None]
    return indicator_id(
        str(item.get("practiceModel")),
        str(item.get("periodStart")),
        str(item.get("indicator")),
        item.get("category"),
        municipalities[0],
    )
