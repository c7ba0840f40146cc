"""The sandbox's catalogue: the practice models every sandbox shares (``hub.synthetic``),
described as on Innokylä, and deterministic other models for realistic paging.

The texts are written for the sandbox after the public descriptions (OsKu's work-activity
model, the Etelä-Pohjanmaa social rehabilitation model); they are not copies of them. The names,
the region and the municipalities follow the seed reports (/work/shared/seeds: 001 is OsKu, 002
the Etelä-Pohjanmaa model); municipality codes are Statistics Finland's (Soini is 759)."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from hub.synthetic import MUNICIPALITIES, PRACTICE_MODELS
from hub_innokyla import mapping as m

#: Statistics Finland's municipality codes of the municipalities the seeds name
MUNICIPALITY_CODES = {
    "Alajärvi": "005",
    "Alavus": "010",
    "Kurikka": "301",
    "Lapua": "408",
    "Soini": "759",
    "Vimpeli": "934",
}
#: seed 001: "Toteuttajaorganisaatio: Alavus, Alajärvi, Lapua, Soini ja Vimpeli",
#: "Maakunta: Etelä-Pohjanmaa"
OSKU_REGION = "Etelä-Pohjanmaa"
OSKU_MUNICIPALITIES = [
    MUNICIPALITY_CODES[n] for n in ("Alavus", "Alajärvi", "Lapua", "Soini", "Vimpeli")
]
#: seed 002: piloted with "Järvi-Pohjanmaan ja Kurikan sote-keskukset" (Järvi-Pohjanmaa:
#: Alajärvi, Soini and Vimpeli; Jalasjärvi, also named, has been part of Kurikka since 2016)
EP_REGION = "Etelä-Pohjanmaan hyvinvointialue"
EP_MUNICIPALITIES = [MUNICIPALITY_CODES[n] for n in ("Alajärvi", "Soini", "Vimpeli", "Kurikka")]
#: seed 001: "4 erilaista työtoiminnan mallia; 1. Starttityötoiminta 2. Kartoittava työtoiminta
#: 3. Osallistava työtoiminta 4. Työelämään suuntaava työtoiminta". The ids (and the names in
#: hub.synthetic.PRACTICE_MODELS) are older and kept, as the other sandboxes refer to them.
OSKU_NAMES = {
    "osku-aloittava-tyotoiminta": "Starttityötoiminta",
    "osku-tutkiva-tyotoiminta": "Kartoittava työtoiminta",
    "osku-osallistava-tyotoiminta": "Osallistava työtoiminta",
    "osku-tyoelamasuuntautunut-tyotoiminta": "Työelämään suuntaava työtoiminta",
}

#: OsKu's three contents, shared by its four work-activity models (seed 001: "1. Elämänhallinnan
#: vahvistaminen 2. Työelämävalmiuksien edistäminen 3. Itse työn tekeminen")
OSKU_CONTENTS = (
    "Työtoiminnan sisältöinä ovat elämänhallinnan vahvistaminen (päivärytmi, asiointi, terveys "
    "ja talous), työelämävalmiuksien edistäminen (yhteistyö, ajankäyttö, ohjeiden noudattaminen, "
    "työturvallisuus) ja itse työn tekeminen ohjatuissa työtehtävissä."
)
#: per model: (the focus in the summary, the basic idea, who it is for, how it works)
OSKU = {
    "osku-aloittava-tyotoiminta": (
        "sopivan jatkopolun löytyminen ja arjen hallinnan vahvistaminen",
        "Starttityötoiminta on matalan kynnyksen ensimmäinen askel asiakkaalle, jonka "
        "arki on pitkän työttömyyden aikana vaikeutunut. Toimintaa on 1–2 päivänä viikossa "
        "muutama tunti kerrallaan, ja painopiste on elämänhallinnassa.",
        "Asiakkaat, joiden päivärytmi, terveys tai asumisen ja talouden hoito vaativat tukea "
        "ennen kuin työelämätaitojen harjoittelu on mahdollista.",
        "Ohjaaja ja asiakas sopivat tavoitteet aktivointisuunnitelmassa. Ryhmässä harjoitellaan "
        "saapumista sovittuun aikaan ja tehdään kevyitä työtehtäviä.",
    ),
    "osku-tutkiva-tyotoiminta": (
        "omien vahvuuksien ja kiinnostusten kartoittaminen",
        "Kartoittavassa työtoiminnassa asiakas kokeilee erilaisia työtehtäviä ja -ympäristöjä "
        "ja selvittää ohjaajan kanssa omia vahvuuksiaan, kiinnostuksiaan ja rajoitteitaan.",
        "Asiakkaat, joiden arki on hallinnassa mutta joiden suunta työelämässä tai "
        "koulutuksessa on vielä avoin.",
        "Jaksot eri työpisteissä, väliarvioinnit ja palaute; havainnot kirjataan "
        "aktivointisuunnitelmaan seuraavan askeleen pohjaksi.",
    ),
    "osku-osallistava-tyotoiminta": (
        "ryhmään kuuluminen ja osallisuuden kokemus",
        "Osallistava työtoiminta tarjoaa yhteisön, jossa asiakas kantaa vastuuta yhteisistä "
        "tehtävistä ja vahvistaa osallisuuttaan. Painopiste on elämänhallinnan haasteissa; "
        "työelämävalmiuksien edistämistä on vähemmän.",
        "Asiakkaat, joiden työllistyminen avoimille markkinoille ei ole lähiaikojen tavoite, "
        "mutta joiden osallisuus ja toimintakyky vahvistuvat yhteisössä.",
        "Säännölliset ryhmäpäivät, vertaistuki ja yhteiset projektit lähiyhteisössä; "
        "Kykyviisari alussa ja jakson lopussa.",
    ),
    "osku-tyoelamasuuntautunut-tyotoiminta": (
        "siirtyminen työhön, koulutukseen tai palkkatuettuun työhön",
        "Työelämään suuntaava työtoiminta valmistaa siirtymään työhön, koulutukseen tai "
        "palkkatuettuun työhön. Pääpaino on työelämävalmiuksien edistämisessä; elämänhallinnan "
        "vahvistamiselle on vähemmän tarvetta.",
        "Asiakkaat, joilla on edellytykset siirtyä työhön tai koulutukseen lähikuukausina.",
        "Työtoiminta 3–4 päivänä viikossa oikeissa työympäristöissä, työhönvalmentajan tuki "
        "ja yhteistyö työllisyysalueen kanssa jatkopolun rakentamiseksi.",
    ),
}


def osku_sections(model_id: str) -> list[tuple[str, str]]:
    _, idea, who, how = OSKU[model_id]
    return [
        ("Ratkaisun perusidea", f"{idea} {OSKU_CONTENTS}"),
        (
            "Toimintaympäristö",
            "Kuntouttava työtoiminta (laki 189/2001) kunnan sosiaalityössä yhteistyössä "
            f"työllisyysalueen ja työtoiminnan järjestäjien kanssa. Kohderyhmä: {who}",
        ),
        (
            "Toimivuuden ja käyttöönoton ehdot",
            f"{how} Edellytyksinä ovat ajantasainen aktivointisuunnitelma, nimetty ohjaaja "
            "ja säännöllinen arviointi Kykyviisarilla.",
        ),
        (
            "Kehittämispolku",
            "Malli kehitettiin OsKu-hankkeessa yhdessä asiakkaiden ja ohjaajien kanssa; "
            "neljä työtoiminnan mallia muodostavat polun, jolla asiakas voi edetä mallista "
            "toiseen tavoitteidensa mukaan.",
        ),
    ]


EP_SECTIONS = [
    (
        "Mikä on sosiaalinen kuntoutus",
        "Sosiaalihuoltolain (1301/2014) 17 §:n mukainen sosiaalipalvelu, jonka tavoitteena on "
        "vahvistaa asiakkaan toimintakykyä ja osallisuutta ja ehkäistä syrjäytymistä. "
        "Muotoina yksilövalmennus, ryhmävalmennus ja tehostettu yksilötyö.",
    ),
    (
        "Kenelle",
        "Pitkään työttömänä olleille aikuisille, joiden kuntouttava työtoiminta on "
        "keskeytynyt tai ei ole vielä mahdollista, sekä syrjäytymisvaarassa oleville nuorille.",
    ),
    (
        "Lähtötilanne ja tavoitteet",
        "Hyvinvointialueella sosiaalisen kuntoutuksen sisältö ja saatavuus vaihtelivat. "
        "Tavoitteena oli yhtenäinen malli, yhteiset mittarit ja selkeä polku "
        "kuntouttavaan työtoimintaan tai muihin palveluihin.",
    ),
    (
        "Lyhyt kuvaus",
        "Asiakas ohjautuu palveluun sosiaalityöntekijän arvion perusteella. Valmennus kestää "
        "3–6 kuukautta, ja sen aikana asiakas osallistuu viikoittaiseen ryhmään ja tapaa "
        "vastuutyöntekijäänsä.",
    ),
    (
        "Mitä kokeiltiin",
        "Ryhmävalmennusta arjen taidoista, liikunnasta ja vertaistuesta sekä "
        "jalkautuvaa yksilövalmennusta asiakkaan kotikunnassa.",
    ),
    (
        "Arviointi",
        "Kykyviisari jakson alussa ja lopussa, osallistujien palaute ja ohjaajien havainnot. "
        "Alle viiden hengen ryhmien tuloksia ei julkaista.",
    ),
    (
        "Toimivuuden ja käyttöönoton ehdot",
        "Moniammatillinen yhteistyö, nimetty vastuutyöntekijä, riittävä ryhmäkoko ja "
        "kuljetusten järjestäminen harvaan asutuilla alueilla.",
    ),
    (
        "Jatkokehittäminen",
        "Vaikuttavuuden seuranta yhteisillä mittareilla koko hyvinvointialueella ja "
        "siirtymien seuraaminen kuntouttavaan työtoimintaan.",
    ),
    (
        "Laajentaminen",
        "Malli on siirrettävissä muille hyvinvointialueille; käyttöönotto edellyttää "
        "ohjaajien perehdytystä ja yhteisiä kirjaamiskäytäntöjä.",
    ),
    (
        "Linkit",
        "Hankkeen loppuraportti, valmennuksen materiaalit ja Kykyviisarin ohjeet.",
    ),
]
FIRST_MODIFIED = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)


def _stamp(i: int) -> str:
    return (FIRST_MODIFIED + dt.timedelta(days=i * 5, minutes=i)).isoformat().replace("+00:00", "Z")


def shared_model(i: int, model_id: str) -> dict[str, Any]:
    if model_id.startswith("osku-"):
        name = OSKU_NAMES[model_id]
        summary = (
            f"{name}: kuntouttavan työtoiminnan malli, jonka painopiste on {OSKU[model_id][0]}."
        )
        sections, region = osku_sections(model_id), OSKU_REGION
        municipalities = OSKU_MUNICIPALITIES
        organisations = ["OsKu-hanke", "Kuusiokuntien sosiaali- ja terveyskuntayhtymä"]
        funder = "Keski-Suomen ELY (ESR)"
    else:
        name = PRACTICE_MODELS[model_id]
        summary = (
            "Sosiaalisen kuntoutuksen toimintamalli Etelä-Pohjanmaan hyvinvointialueella, "
            "pilotoitu Järvi-Pohjanmaan ja Kurikan sote-keskuksissa: yksilö- ja ryhmätoiminta "
            "osallisuuden ja toimintakyvyn tueksi."
        )
        sections, region = EP_SECTIONS, EP_REGION
        municipalities = EP_MUNICIPALITIES
        organisations = [EP_REGION, "Järvi-Pohjanmaan sote-keskus", "Kurikan sote-keskus"]
        funder = "Sosiaali- ja terveysministeriö"
    return {
        m.MODEL_ID: model_id,
        "name": name,
        "summary": summary,
        "region": region,
        "municipalities": list(municipalities),
        "organisations": organisations,
        "funder": funder,
        m.AUTHOR: "Mallin kuvaaja",
        "created": "2024-05-02",
        m.MODIFIED: _stamp(i),
        m.SECTIONS: [{m.SECTION_TITLE: t, m.SECTION_BODY: b} for t, b in sections],
    }


def other_model(seed: int, i: int) -> dict[str, Any]:
    rng = random.Random(f"innokyla/{seed}/{i}")
    topic = rng.choice(["Työhönvalmennus", "Nuorten ohjaamo", "Arjen tuki", "Vertaistuki"])
    return {
        m.MODEL_ID: f"malli-{i:04d}",
        "name": f"{topic} {i}",
        "summary": f"Toimintamalli {i}: {topic.lower()}.",
        "region": rng.choice(["Uusimaa", "Pirkanmaa", "Keski-Suomi"]),
        "municipalities": sorted(rng.sample(MUNICIPALITIES, 2)),
        "organisations": [f"Hanke {i}"],
        "funder": None,
        m.AUTHOR: "Kuvaaja",
        "created": "2023-01-10",
        m.MODIFIED: _stamp(i),
        m.SECTIONS: [{m.SECTION_TITLE: "Ratkaisun perusidea", m.SECTION_BODY: "Kuvaus."}],
    }


def catalogue(seed: int, others: int = 40) -> list[dict[str, Any]]:
    models = [shared_model(i, mid) for i, mid in enumerate(PRACTICE_MODELS)]
    models += [other_model(seed, i) for i in range(len(models), len(models) + others)]
    return models


def published(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Indicators published earlier by other organisations, for three other models (each
    figure of all the model's municipalities)."""
    out = []
    for k, model in enumerate(models[-3:]):
        for j, (code, value, unit) in enumerate(
            [
                ("participants", "24", ""),
                ("sessions_held", "96", ""),
                ("attendance_rate", "78.5", "%"),
                ("moved_on_share", "<5", "%"),
            ]
        ):
            start = "2025-01-01"
            out.append(
                {
                    m.IND_ID: m.indicator_id(model[m.MODEL_ID], start, code),
                    "practiceModel": model[m.MODEL_ID],
                    "indicator": code,
                    "periodStart": start,
                    "periodEnd": "2025-12-31",
                    m.IND_VALUE: value,
                    "unit": unit,
                    m.IND_PUBLISHED: _stamp(100 + k * 4 + j),
                }
            )
    return out
