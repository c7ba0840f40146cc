"""The sandbox's catalogue: the practice models every sandbox shares (``hub.synthetic``),
described as on Innokylä, and deterministic other models for realistic paging."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from hub.synthetic import MUNICIPALITIES, PRACTICE_MODELS
from hub_innokyla import mapping as m

EP_MUNICIPALITIES = ["743", "145", "010", "005", "408", "791", "934"]

OSKU_SECTIONS = [
    (
        "Ratkaisun perusidea",
        "Kuntouttavan työtoiminnan malli, jossa sisältöinä ovat elämänhallinta, "
        "työelämätaidot ja itse työn tekeminen. Asiakas etenee mallista toiseen tavoitteidensa "
        "mukaan.",
    ),
    (
        "Toimintaympäristö",
        "Kunnan sosiaalityö, työllisyysalue ja työtoiminnan järjestäjät yhdessä.",
    ),
    (
        "Toimivuuden ja käyttöönoton ehdot",
        "Yhteinen aktivointisuunnitelma, nimetty ohjaaja ja säännöllinen arviointi Kykyviisarilla.",
    ),
    ("Kehittämispolku", "Kehitetty OsKu-hankkeessa; arvioitu osallistujien palautteella."),
]
OSKU_FOCUS = {
    "osku-aloittava-tyotoiminta": "päivärytmin ja arjen hallinnan vahvistaminen",
    "osku-tutkiva-tyotoiminta": "omien vahvuuksien ja kiinnostusten tutkiminen",
    "osku-osallistava-tyotoiminta": "ryhmään kuuluminen ja osallisuuden kokemus",
    "osku-tyoelamasuuntautunut-tyotoiminta": "siirtyminen työhön, koulutukseen tai palkkatukeen",
}
EP_SECTIONS = [
    ("Mikä on sosiaalinen kuntoutus", "Sosiaalihuoltolain 17 §:n mukainen palvelu."),
    ("Kenelle", "Pitkään työttömänä olleille ja syrjäytymisvaarassa oleville aikuisille."),
    ("Lähtötilanne ja tavoitteet", "Osallisuuden ja toimintakyvyn vahvistaminen."),
    ("Lyhyt kuvaus", "Yksilövalmennus, ryhmävalmennus ja tehostettu työskentely."),
    ("Mitä kokeiltiin", "Ryhmämuotoinen valmennus seitsemässä kunnassa."),
    ("Arviointi", "Kykyviisari alussa ja lopussa; osallistujien palaute."),
    ("Toimivuuden ehdot", "Moniammatillinen yhteistyö ja nimetty vastuutyöntekijä."),
    ("Jatkokehittäminen", "Vaikuttavuuden seuranta yhteisillä mittareilla."),
    ("Laajentaminen", "Malli on siirrettävissä muihin hyvinvointialueisiin."),
    ("Linkit", "Hankkeen loppuraportti ja materiaalit."),
]
FIRST_MODIFIED = dt.datetime(2025, 3, 1, 8, 0, tzinfo=dt.UTC)


def _stamp(i: int) -> str:
    return (FIRST_MODIFIED + dt.timedelta(days=i * 5, minutes=i)).isoformat().replace("+00:00", "Z")


def shared_model(i: int, model_id: str) -> dict[str, Any]:
    name = PRACTICE_MODELS[model_id]
    if model_id.startswith("osku-"):
        summary = f"{name}: {OSKU_FOCUS[model_id]}."
        sections, region = OSKU_SECTIONS, "Uusimaa"
        municipalities, organisations = ["049", "092"], ["OsKu-hanke", "Espoon kaupunki"]
    else:
        summary = "Sosiaalisen kuntoutuksen toimintamalli seitsemässä kunnassa."
        sections, region = EP_SECTIONS, "Etelä-Pohjanmaan hyvinvointialue"
        municipalities, organisations = EP_MUNICIPALITIES, ["Etelä-Pohjanmaan hyvinvointialue"]
    return {
        m.MODEL_ID: model_id,
        "name": name,
        "summary": summary,
        "region": region,
        "municipalities": municipalities,
        "organisations": organisations,
        "funder": "Sosiaali- ja terveysministeriö",
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
    """Indicators published earlier by other organisations, for three other models."""
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
                    "municipalities": model["municipalities"],
                    m.IND_PUBLISHED: _stamp(100 + k * 4 + j),
                }
            )
    return out
