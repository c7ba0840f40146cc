"""Deterministic synthetic people for sandboxes, demos, tests and benchmarks.

Identity codes come only from the temporary range (individual number 900–999), so no
generated code can belong to a real person with a permanent code. The same ``seed`` gives
the same people in every sandbox, so the hub can match a client across systems.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from stdnum.fi import hetu as _hetu

FIRST_NAMES = [
    "Aino",
    "Eino",
    "Helmi",
    "Väinö",
    "Sofia",
    "Onni",
    "Aada",
    "Leo",
    "Lilja",
    "Elias",
    "Venla",
    "Oliver",
    "Ellen",
    "Toivo",
    "Kerttu",
    "Juho",
    "Siiri",
    "Eetu",
    "Iida",
    "Matias",
]
LAST_NAMES = [
    "Korhonen",
    "Virtanen",
    "Mäkinen",
    "Nieminen",
    "Mäkelä",
    "Hämäläinen",
    "Laine",
    "Heikkinen",
    "Koskinen",
    "Järvinen",
    "Lehtonen",
    "Lehtinen",
    "Saarinen",
    "Salminen",
    "Heinonen",
]
#: municipalities of the Etelä-Pohjanmaa, Uusimaa and Keski-Suomi examples in DOMAIN.md:
#: Seinäjoki, Ilmajoki, Alavus, Alajärvi, Lapua, Soini (759), Vimpeli; Espoo, Vantaa;
#: Jyväskylä
MUNICIPALITIES = ["743", "145", "010", "005", "408", "759", "934", "049", "092", "179"]
_CENTURY_SIGNS = {1900: "-YXWVU", 2000: "ABCDEF"}
_CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
_FIRST_BIRTH = dt.date(1962, 1, 1)
_BIRTH_SPAN_DAYS = 15_000  # births 1962-2003


@dataclass(frozen=True)
class Person:
    hetu: str
    first_name: str
    last_name: str
    home_municipality: str
    language: str
    birth_date: dt.date


def make_hetu(birth: dt.date, individual: int, sign: str | None = None) -> str:
    """A valid identity code with the given individual number (900–999 for test people)."""
    if not 900 <= individual <= 999:
        raise ValueError("test identity codes must use individual numbers 900-999")
    century = 1900 if birth.year < 2000 else 2000
    sign = sign or _CENTURY_SIGNS[century][0]
    if sign not in _CENTURY_SIGNS[century]:
        raise ValueError(f"century sign {sign} does not fit the birth year")
    body = birth.strftime("%d%m%y")
    check = _CHECK_CHARS[int(f"{body}{individual:03d}") % 31]
    return _hetu.validate(f"{body}{sign}{individual:03d}{check}", allow_temporary=True)


def person(seed: int, index: int) -> Person:
    """The ``index``-th person of ``seed``; the same inputs always give the same person."""
    rng = random.Random(f"hub-synthetic/{seed}/{index}")
    # (birth date, individual number, century sign) is unique for the first 9 million indexes:
    # within a block of _BIRTH_SPAN_DAYS indexes every person has a birth date of their own
    # (7919 is prime to the span), and each block has its own number and century sign (the
    # new signs of 2023 are used too); so people of every age appear from the first index on
    block = index // _BIRTH_SPAN_DAYS
    number, sign_index = block % 100, (block // 100) % 6
    day = (index * 7919 + seed * 104729) % _BIRTH_SPAN_DAYS
    birth = _FIRST_BIRTH + dt.timedelta(days=day)
    sign = _CENTURY_SIGNS[1900 if birth.year < 2000 else 2000][sign_index]
    return Person(
        hetu=make_hetu(birth, 900 + number, sign),
        first_name=rng.choice(FIRST_NAMES),
        last_name=rng.choice(LAST_NAMES),
        home_municipality=rng.choice(MUNICIPALITIES),
        language="sv" if rng.random() < 0.05 else "fi",
        birth_date=birth,
    )


def people(seed: int, count: int) -> list[Person]:
    return [person(seed, i) for i in range(count)]


#: Practice models on Innokylä that the sandboxes share: OsKu's four work-activity models
#: (DOMAIN.md) and the Etelä-Pohjanmaa social rehabilitation model. id -> name
PRACTICE_MODELS: dict[str, str] = {
    # the ids are older than the names, which are the seed's (OsKu, 2015-2017)
    "osku-aloittava-tyotoiminta": "Starttityötoiminta (OsKu)",
    "osku-tutkiva-tyotoiminta": "Kartoittava työtoiminta (OsKu)",
    "osku-osallistava-tyotoiminta": "Osallistava työtoiminta (OsKu)",
    "osku-tyoelamasuuntautunut-tyotoiminta": "Työelämään suuntaava työtoiminta (OsKu)",
    "sosiaalinen-kuntoutus-etela-pohjanmaa": "Sosiaalinen kuntoutus Etelä-Pohjanmaalla",
}
_KTT_MODELS = [k for k in PRACTICE_MODELS if k.startswith("osku-")]


def practice_model_for(seed: int, index: int, *, social_rehabilitation: bool = False) -> str:
    """The practice model person ``index`` follows: one of OsKu's four work-activity models
    for rehabilitative work activity, the Etelä-Pohjanmaa model for social rehabilitation."""
    if social_rehabilitation:
        return "sosiaalinen-kuntoutus-etela-pohjanmaa"
    return _KTT_MODELS[(index * 7 + seed) % len(_KTT_MODELS)]
