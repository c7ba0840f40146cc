"""The free text the case system's sandbox writes, in the client's language: Finnish, or
Swedish for a client whose language is ``sv`` (the case system writes to a Swedish-speaking
client in Swedish). Every text is invented; the synthetic people are in :mod:`hub.synthetic`.
"""

from __future__ import annotations

#: why episodes were interrupted (health twice as often) and where the client went then
INTERRUPTIONS: tuple[tuple[dict[str, str], str], ...] = (
    ({"fi": "Asiakkaan terveydentila", "sv": "Klientens hälsotillstånd"}, "EI-MUUTOSTA"),
    ({"fi": "Asiakas aloitti koulutuksen", "sv": "Klienten började studera"}, "KOULUTUS"),
    (
        {"fi": "Asiakas ei ole tavoitettavissa", "sv": "Klienten kan inte nås"},
        "EI-TIEDOSSA",
    ),
    ({"fi": "Asiakkaan terveydentila", "sv": "Klientens hälsotillstånd"}, "EI-MUUTOSTA"),
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
