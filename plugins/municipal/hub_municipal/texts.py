"""The free text the case system's sandbox writes, in the client's language: Finnish, or
Swedish for a client whose language is ``sv`` (the case system writes to a Swedish-speaking
client in Swedish). Every text is invented; the synthetic people are in :mod:`hub.synthetic`.
"""

from __future__ import annotations

#: why episodes were interrupted (health most often): the text, where the client went then
#: and the case system's code of the reason (mapping.INTERRUPTION_CODES; the hub's code list
#: interruption-reasons.json knows every text but the last, which only its code says)
INTERRUPTIONS: tuple[tuple[dict[str, str], str, str], ...] = (
    (
        {"fi": "Asiakkaan terveydentila", "sv": "Klientens hälsotillstånd"},
        "EI-MUUTOSTA",
        "TERVEYS",
    ),
    (
        {"fi": "Asiakas aloitti koulutuksen", "sv": "Klienten började studera"},
        "KOULUTUS",
        "SIIRTYMA",
    ),
    (
        {"fi": "Asiakas ei ole tavoitettavissa", "sv": "Klienten kan inte nås"},
        "EI-TIEDOSSA",
        "POISSAOLOT",
    ),
    (
        {"fi": "Asiakkaan terveydentila", "sv": "Klientens hälsotillstånd"},
        "EI-MUUTOSTA",
        "TERVEYS",
    ),
    (
        {"fi": "Asiakkaan elämäntilanne", "sv": "Klientens livssituation"},
        "EI-MUUTOSTA",
        "ELAMANTILANNE",
    ),
    (
        {"fi": "Asiakas siirtyi työkokeiluun", "sv": "Klienten övergick till arbetsprövning"},
        "TYOKOKEILU",
        "SIIRTYMA",
    ),
    (
        {"fi": "Asiakkaan oma päätös", "sv": "Klientens eget beslut"},
        "EI-MUUTOSTA",
        "OMA-PAATOS",
    ),
    ({"fi": "Terveydelliset syyt", "sv": "Hälsoskäl"}, "EI-MUUTOSTA", "TERVEYS"),
    (
        {"fi": "Asiakas muutti pois paikkakunnalta", "sv": "Klienten flyttade från orten"},
        "EI-TIEDOSSA",
        "MUUTTO",
    ),
    (
        {"fi": "Asiakas siirtyi palkkatukityöhön", "sv": "Klienten fick lönesubventionerat arbete"},
        "PALKKATUKI",
        "SIIRTYMA",
    ),
    (
        {
            "fi": "Asiakas aloitti varusmiespalveluksen",
            "sv": "Klienten inledde beväringstjänsten",
        },
        "EI-MUUTOSTA",
        "MUU",
    ),
)
#: the goals of an activation plan
GOALS = {
    "fi": (
        "Päivärytmin vahvistaminen",
        "Ryhmässä toimimisen harjoittelu",
        "Työkyvyn arviointi",
    ),
    "sv": (
        "Stärka dygnsrytmen",
        "Öva på att fungera i grupp",
        "Bedömning av arbetsförmågan",
    ),
}
#: the measures agreed in an activation plan
MEASURES = {
    "fi": ("Kuntouttava työtoiminta", "Sosiaaliohjaus", "Terveystarkastus"),
    "sv": ("Arbetsverksamhet i rehabiliteringssyfte", "Socialhandledning", "Hälsokontroll"),
}
#: the official responsible for the plan, as the case system names them
OFFICIAL = {"fi": "Sosiaaliohjaaja Matti Malli", "sv": "Socialhandledare Matti Malli"}


def language(code: str) -> str:
    """The language the case system writes to a client in: Swedish or Finnish."""
    return "sv" if code == "sv" else "fi"
