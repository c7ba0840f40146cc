"""Innokylä adapter against its sandbox over real HTTP: catalogue, publication guard, kit."""

from __future__ import annotations

import datetime as dt
import json
import math

import httpx
import jsonschema
import pytest
from hub_innokyla import data
from hub_innokyla import mapping as m
from hub_innokyla.adapter import PracticeModelsStream, indicator_to_canonical, indicator_to_native
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy import select

from hub.adapter import Outcome, SystemConfig, WriteItem
from hub.engine import Hub, run_exchange
from hub.errors import PermanentError, RecordError, TransientError
from hub.indicators import native_id
from hub.model import Indicator, IndicatorCode
from hub.model.practice import COUNTS, Suppression
from hub.plugins import adapter_registry
from hub.resources import PackagedFile
from hub.sandbox import free_port
from hub.store import deadletters, schema
from hub.store import records as records_store
from hub.synthetic import PRACTICE_MODELS, person
from hub.testing.conformance import AdapterConformance
from hub.testing.fixtures import SANDBOX_SEED


def make(sandboxes, **options):
    opts = {m.OPTION_KEY: m.SANDBOX_KEY, **options}
    config = SystemConfig(m.SYSTEM, sandboxes[m.SYSTEM].base_url, opts, timeout=10, deadline=30)
    return adapter_registry()[m.SYSTEM](config)


def indicator(code="participants", value=12.0, model="osku-tutkiva-tyotoiminta", **kw):
    return Indicator(
        practice_model=model,
        code=code,
        period_start=dt.date(2026, 1, 1),
        period_end=dt.date(2026, 12, 31),
        value=value,
        suppressed=value is None,
        **kw,
    )


def publish(adapter, *indicators, tag="t"):
    items = [
        WriteItem(
            f"{tag}-{i}", f"r{i}", adapter.stream("indicators").to_native(x.model_dump(mode="json"))
        )
        for i, x in enumerate(indicators)
    ]
    return adapter.stream("indicators").write(items)


def test_catalogue_holds_the_shared_models_with_their_sections(sandboxes):
    with make(sandboxes) as adapter:
        models = {
            r.native_id: adapter.stream("practice_models").to_canonical(r)
            for b in adapter.stream("practice_models").read(None, 10)
            for r in b.records
        }
    assert set(PRACTICE_MODELS) <= set(models)
    ep = models["sosiaalinen-kuntoutus-etela-pohjanmaa"]
    assert len(ep.sections) == 10 and "301" in ep.municipality_codes
    osku = models["osku-aloittava-tyotoiminta"]
    assert [s.title for s in osku.sections][:3] == [
        "Ratkaisun perusidea",
        "Toimintaympäristö",
        "Toimivuuden ja käyttöönoton ehdot",
    ]
    assert "author" not in osku.model_dump()  # the describer's name is not taken in


# --- the shared models as the seed reports name them (issue 13) -------------------------------
# seed 001 (OsKu): "4 erilaista työtoiminnan mallia; 1. Starttityötoiminta 2. Kartoittava
# työtoiminta 3. Osallistava työtoiminta 4. Työelämään suuntaava työtoiminta", "Maakunta:
# Etelä-Pohjanmaa", "Toteuttajaorganisaatio: Alavus, Alajärvi, Lapua, Soini ja Vimpeli".
# seed 002 (the Etelä-Pohjanmaa model): "pilotissa on ollut mukana Järvi-Pohjanmaan ja Kurikan
# sote-keskukset", "Etelä-Pohjanmaan hyvinvointialue". Codes: Statistics Finland's list.
SEED_OSKU_NAMES = {
    "osku-aloittava-tyotoiminta": "Starttityötoiminta",
    "osku-tutkiva-tyotoiminta": "Kartoittava työtoiminta",
    "osku-osallistava-tyotoiminta": "Osallistava työtoiminta",
    "osku-tyoelamasuuntautunut-tyotoiminta": "Työelämään suuntaava työtoiminta",
}
ALAJARVI, ALAVUS, KURIKKA, LAPUA, SOINI, VIMPELI = "005", "010", "301", "408", "759", "934"


@pytest.fixture
def served(sandboxes):
    """The shared practice models as the adapter reads them from the sandbox."""
    with make(sandboxes) as adapter:
        stream = adapter.stream("practice_models")
        models = {
            r.native_id: stream.to_canonical(r) for b in stream.read(None, 50) for r in b.records
        }
    return {k: models[k] for k in PRACTICE_MODELS}


def test_the_four_osku_models_carry_the_seed_names(served):
    assert {k: x.name for k, x in served.items() if k.startswith("osku-")} == SEED_OSKU_NAMES


def test_the_osku_models_are_in_etela_pohjanmaa(served):
    assert {served[k].region for k in SEED_OSKU_NAMES} == {"Etelä-Pohjanmaa"}


def test_the_osku_models_name_the_five_project_municipalities(served):
    for k in SEED_OSKU_NAMES:
        assert served[k].municipality_codes == [ALAVUS, ALAJARVI, LAPUA, SOINI, VIMPELI]


def test_the_osku_models_name_the_seed_funder_and_administrator(served):
    for k in SEED_OSKU_NAMES:
        assert served[k].funder == "Keski-Suomen ELY (ESR)"
        assert "Kuusiokuntien sosiaali- ja terveyskuntayhtymä" in served[k].organisations


def test_the_etela_pohjanmaa_model_is_the_wellbeing_countys(served):
    assert served["sosiaalinen-kuntoutus-etela-pohjanmaa"].region == (
        "Etelä-Pohjanmaan hyvinvointialue"
    )


def test_the_etela_pohjanmaa_model_names_its_pilot_municipalities_with_kurikka(served):
    ep = served["sosiaalinen-kuntoutus-etela-pohjanmaa"]
    assert KURIKKA in ep.municipality_codes
    assert sorted(ep.municipality_codes) == sorted([ALAJARVI, SOINI, VIMPELI, KURIKKA])
    assert {"Järvi-Pohjanmaan sote-keskus", "Kurikan sote-keskus"} <= set(ep.organisations)


def test_no_shared_model_keeps_the_old_names_or_codes(served):
    text = json.dumps([x.model_dump(mode="json") for x in served.values()], ensure_ascii=False)
    for old in ("Aloittava", "Tutkiva", "Työelämäsuuntautunut", "Uusimaa", "Seitsemässä"):
        assert old not in text
    # 791 is Siikalatva (Pohjois-Pohjanmaa), not Soini; 049/092 are Espoo and Vantaa
    assert not {"791", "049", "092"} & {c for x in served.values() for c in x.municipality_codes}


def validator(name):
    schema = PackagedFile("hub_innokyla", "schemas", name).read_json()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def read_ids(adapter, stream, cursor, size):
    batches = list(adapter.stream(stream).read(cursor, size))
    return batches, [r.native_id for b in batches for r in b.records]


def test_the_catalogue_pages_and_resumes_where_it_stopped(sandboxes):
    with make(sandboxes) as adapter:
        batches, ids = read_ids(adapter, "practice_models", None, 7)
        assert len(ids) == len(set(ids)) >= 45 and len(batches) >= 7
        assert all(b.next_cursor and len(b.records) <= 7 for b in batches)
        _, rest = read_ids(adapter, "practice_models", batches[2].next_cursor, 7)
        assert rest == ids[sum(len(b.records) for b in batches[:3]) :]
        _, none = read_ids(adapter, "practice_models", batches[-1].next_cursor, 7)
        assert none == []
        with pytest.raises(PermanentError, match="cursor"):
            list(adapter.stream("practice_models").read("not a cursor", 7))


def test_a_republished_indicator_is_read_again_after_the_cursor(sandboxes):
    with make(sandboxes) as adapter:
        batches, ids = read_ids(adapter, "indicators", None, 5)
        assert len(ids) >= 6
        publish(adapter, indicator(), tag="later")
        _, new = read_ids(adapter, "indicators", batches[-1].next_cursor, 5)
    assert new == ["osku-tutkiva-tyotoiminta/2026-01-01/participants"]


def test_the_osku_models_describe_their_own_focus_and_the_three_contents(sandboxes):
    with make(sandboxes) as adapter:
        models = {
            r.native_id: adapter.stream("practice_models").to_canonical(r)
            for b in adapter.stream("practice_models").read(None, 50)
            for r in b.records
        }
    osku = [models[k] for k in PRACTICE_MODELS if k.startswith("osku-")]
    assert len(osku) == 4 and len({x.sections[0].body for x in osku}) == 4
    for x in osku:
        idea = x.sections[0].body
        assert all(w in idea for w in ("elämänhallin", "työelämävalmiuks", "työn tekeminen"))
        assert x.short_description.startswith(f"{x.name}:") and x.organisations and x.funder
    ep = models["sosiaalinen-kuntoutus-etela-pohjanmaa"]
    assert ep.region == "Etelä-Pohjanmaan hyvinvointialue"
    assert ep.sections[-1].title == "Linkit" and all(s.body for s in ep.sections)


def test_what_is_served_and_sent_follows_the_wire_schemas(sandboxes):
    models, indicators = validator("practice-model.schema.json"), validator("indicator.schema.json")
    with make(sandboxes) as adapter:
        for b in adapter.stream("practice_models").read(None, 50):
            for r in b.records:
                models.validate(r.data)
                assert m.AUTHOR in r.data  # served, but not taken in (see above)
        for b in adapter.stream("indicators").read(None, 50):
            for r in b.records:
                indicators.validate(r.data)
        for sample in TestInnokylaConformance().write_samples("indicators"):
            indicators.validate(
                adapter.stream("indicators").to_native(sample.model_dump(mode="json"))
            )


def test_the_sandbox_without_the_key_answers_401_with_a_json_error(sandboxes):
    response = httpx.get(f"{sandboxes[m.SYSTEM].base_url}{m.PATH_MODELS}", trust_env=False)
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


def test_errors_are_classified(sandboxes):
    with make(sandboxes) as adapter:
        sandboxes.faults(m.SYSTEM, unavailable=True, retry_after=4)
        with pytest.raises(TransientError) as caught:
            list(adapter.stream("indicators").read(None, 5))
        assert caught.value.retry_after == 4 and caught.value.status == 503
        with pytest.raises(TransientError):
            publish(adapter, indicator())
        sandboxes.faults(m.SYSTEM, rate_limit_every=2, retry_after=7)
        with pytest.raises(TransientError) as caught:
            list(adapter.stream("practice_models").read(None, 5))
        assert caught.value.retry_after == 7 and caught.value.status == 429
        sandboxes.faults(m.SYSTEM, reject_writes=True)
        outcomes = publish(adapter, indicator(), indicator("sessions_held", 40.0))
        assert {o.outcome for o in outcomes} == {Outcome.PERMANENT}
        sandboxes.faults(m.SYSTEM, malformed_every=1)
        for stream in ("practice_models", "indicators"):
            for r in next(iter(adapter.stream(stream).read(None, 8))).records:
                with pytest.raises((RecordError, ValidationError)):
                    adapter.stream(stream).to_canonical(r)
    assert sandboxes.received(m.SYSTEM) == []


def test_an_unreachable_system_fails_the_check_without_raising(sandboxes):
    config = SystemConfig(m.SYSTEM, f"http://127.0.0.1:{free_port()}", {m.OPTION_KEY: "k"})
    with adapter_registry()[m.SYSTEM](config) as adapter:
        result = adapter.check()
    assert not result.ok and result.detail


def test_a_wrong_api_key_is_permanent(sandboxes):
    with make(sandboxes, api_key="wrong") as adapter:
        assert not adapter.check().ok
        with pytest.raises(PermanentError, match="401"):
            list(adapter.stream("practice_models").read(None, 5))


def test_published_indicators_read_back_with_suppression(sandboxes):
    with make(sandboxes) as adapter:
        outcomes = publish(adapter, indicator(), indicator("moved_on_share", None, unit="%"))
        assert [o.outcome for o in outcomes] == [Outcome.OK, Outcome.OK]
        back = {
            r.native_id: adapter.stream("indicators").to_canonical(r)
            for b in adapter.stream("indicators").read(None, 50)
            for r in b.records
        }
    got = back["osku-tutkiva-tyotoiminta/2026-01-01/moved_on_share"]
    assert got.suppressed and got.value is None and got.published_value() == "x"
    assert got.suppression is None  # the reason stays in the hub
    assert back["osku-tutkiva-tyotoiminta/2026-01-01/participants"].value == 12


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"value": "3"}, "one under 5 must be published"),
        ({"practiceModel": "no-such-model"}, "no such practice model"),
        ({"unit": person(1, 4).hetu}, "personal data"),
        ({"clientName": "Aino"}, "unknown fields: clientName"),
        ({"value": "kolme"}, "must be a number"),
        ({"indicator": "transitions"}, "transitions needs one of"),
        ({"indicator": "transitions", "category": "lottery"}, "transitions needs one of"),
        ({"indicator": "ended", "value": "2"}, "one under 5 must be published"),
        ({"category": "employment"}, "participants has no categories"),
        ({"municipalities": ["743", "408"]}, "of one municipality, or of all"),
        ({"municipalities": ["Lapua"]}, "three digits"),
    ],
)
def test_the_platform_refuses_what_must_not_be_published(sandboxes, payload, words):
    with make(sandboxes) as adapter:
        native = {**adapter.stream("indicators").to_native(indicator().model_dump(mode="json"))}
        native.update(payload)
        [outcome] = adapter.stream("indicators").write([WriteItem("bad", "r", native)])
    assert outcome.outcome == Outcome.PERMANENT and words in outcome.reason
    assert sandboxes.received(m.SYSTEM) == []


def test_an_indicator_id_names_its_category_and_municipality(sandboxes):
    figures = [
        indicator("transitions", 7.0, category="employment", municipality_codes=["743"]),
        indicator("transitions", None, category="employment", suppression="secondary"),
        indicator("interruptions", None, category="uncoded", municipality_codes=["408"]),
    ]
    with make(sandboxes) as adapter:
        outcomes = publish(adapter, *figures, tag="ids")
        listed = {
            r.native_id: r.data
            for b in adapter.stream("indicators").read(None, 50)
            for r in b.records
        }
    base = "osku-tutkiva-tyotoiminta/2026-01-01"
    want = [
        f"{base}/transitions/employment@743",
        f"{base}/transitions/employment",
        f"{base}/interruptions/uncoded@408",
    ]
    assert [o.native_id for o in outcomes] == want
    # every withheld figure under one mark: a reader cannot tell a small count from the rest
    assert [listed[i][m.IND_VALUE] for i in want] == ["7", "x", "x"]
    assert all(m.native_indicator_id(listed[i]) == i for i in want)
    assert m.IND_FIELDS["municipality_codes"] not in listed[want[1]]


def test_the_schema_names_every_indicator_code():
    schema = PackagedFile("hub_innokyla", "schemas", "indicator.schema.json").read_json()
    assert schema["properties"]["indicator"]["enum"] == [c.value for c in IndicatorCode]


def releases(sandboxes) -> list[dict]:
    return sandboxes.control(m.SYSTEM, "releases").json()


def test_every_version_published_is_kept_with_its_time(sandboxes):
    ids = "osku-tutkiva-tyotoiminta/2026-01-01/participants"
    with make(sandboxes) as adapter:
        publish(adapter, indicator(value=12.0), tag="v1")
        publish(adapter, indicator(value=14.0), tag="v2")
        publish(adapter, indicator(value=14.0), tag="v3")  # the same again: no new version
        publish(adapter, indicator(value=14.0, unit="persons"), tag="v4")  # a field changed
        listed = [
            r.data
            for b in adapter.stream("indicators").read(None, 50)
            for r in b.records
            if r.native_id == ids
        ]
    versions = releases(sandboxes)
    assert [(v[m.IND_ID], v[m.IND_VALUE], v.get("unit")) for v in versions] == [
        (ids, "12", ""),
        (ids, "14", ""),
        (ids, "14", "persons"),
    ]
    stamps = [v[m.IND_PUBLISHED] for v in versions]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    assert listed == [versions[-1]]  # the listing shows the latest version only
    assert len(sandboxes.received(m.SYSTEM)) == 4  # every publication was accepted
    schema = validator("indicator.schema.json")
    for v in versions:
        schema.validate(v)
    sandboxes.control(m.SYSTEM, "reset", "POST")
    assert releases(sandboxes) == []


def test_republishing_with_the_same_key_publishes_once(sandboxes):
    with make(sandboxes) as adapter:
        first = publish(adapter, indicator(), tag="same")
        second = publish(adapter, indicator(), tag="same")
    assert [o.outcome for o in first + second] == [Outcome.OK, Outcome.OK]
    assert len(sandboxes.received(m.SYSTEM)) == 1


CATEGORY = {IndicatorCode.TRANSITIONS: "pay_subsidy", IndicatorCode.INTERRUPTIONS: "uncoded"}


@given(
    code=st.sampled_from(list(IndicatorCode)),
    value=st.one_of(
        st.none(),
        st.integers(min_value=5, max_value=10_000).map(float),
        st.floats(min_value=-10, max_value=100).map(lambda v: round(v, 1)),
    ),
    suppression=st.sampled_from([None, *Suppression]),
    municipality=st.sampled_from([None, "743", "005"]),
)
def test_published_values_round_trip(code, value, suppression, municipality):
    if code in COUNTS and value is not None:
        value = float(max(5, int(value)))
    original = indicator(
        code,
        value,
        category=CATEGORY.get(code),
        suppression=suppression if value is None else None,
        municipality_codes=[municipality] if municipality else [],
    )
    native = indicator_to_native(original.model_dump(mode="json"))
    assert native[m.IND_VALUE] == original.published_value()
    assert (m.IND_FIELDS["municipality_codes"] in native) == bool(municipality)
    back = indicator_to_canonical("x", native)
    assert back.suppressed == original.suppressed
    assert back.published_value() == original.published_value()
    assert m.native_indicator_id(native) == native_id(original)  # the hub's id is Innokylä's
    assert back.category == CATEGORY.get(code)
    assert back.municipality_codes == original.municipality_codes
    assert back.value == (None if value is None else pytest.approx(value, abs=0.05))


# --- strict JSON: a bad record fails alone, a bad page fails as a page ------------------------
def hostile(sandboxes, **settings) -> None:
    """Serve what no well-behaved service would (the sandbox's test-only option)."""
    sandboxes.control(m.SYSTEM, "hostile", "PUT", json=settings)


def catalogue() -> list[dict]:
    """The sandbox's practice models in the order it lists them."""
    return sorted(data.catalogue(SANDBOX_SEED), key=lambda r: (r[m.MODIFIED], r[m.MODEL_ID]))


def raw(record: dict, **changes) -> str:
    """The record as Innokylä would write it, changed; ASCII (a lone surrogate escaped)."""
    return json.dumps({**record, **changes})


def with_section_body(record: dict, body: str) -> str:
    sections = [dict(s) for s in record[m.SECTIONS]] + [{"title": "Lisää", "body": body}]
    return raw(record, sections=sections)


def nested(levels: int) -> list:
    value: list = []
    for _ in range(levels - 1):
        value = [value]
    return value


def model_ids(records) -> list[str]:
    return [r.native_id for r in records]


FLAWED_MODELS = [
    ("surrogate-in-a-section", lambda r: with_section_body(r, "\ud800"), "sections[", "surrogate"),
    ("surrogate-key", lambda r: raw(r, **{"\ud800": "x"}), "(record)", "field name"),
    ("duplicate", lambda r: raw(r)[:-1] + ', "name": "Toinen nimi"}', "name", "2 times"),
    ("nan", lambda r: raw(r, funder=math.nan), "funder", "NaN"),
    ("overflow", lambda r: raw(r, funder="@@").replace('"@@"', "-1e999"), "funder", "too large"),
    ("deep", lambda r: raw(r, sections=nested(31)), "sections[0]", "nested more than"),
    (
        "no-id",
        lambda r: json.dumps({k: v for k, v in r.items() if k != m.MODEL_ID}),
        "id",
        "missing",
    ),
    ("not-an-object", lambda r: "null", None, "is null, not a JSON object"),
    ("modified-number", lambda r: raw(r, modified=1.5), "modified", "not a string"),
]


@pytest.mark.parametrize(
    ("build", "field", "words"), [pytest.param(*rest, id=kind) for kind, *rest in FLAWED_MODELS]
)
def test_a_model_with_a_flaw_is_a_dead_letter_and_the_rest_flows(sandboxes, build, field, words):
    models, at = catalogue(), 12
    hostile(sandboxes, stream="practice_models", records={str(at): build(models[at])})
    with make(sandboxes) as adapter:
        records = [r for b in adapter.stream("practice_models").read(None, 10) for r in b.records]
    [bad] = [r for r in records if r.problem is not None]
    assert words in bad.problem.message
    if field is None:
        assert bad.problem.field is None
    else:  # a field path: the section appended is the record's last
        assert bad.problem.field.startswith(field)
    assert model_ids(r for r in records if r.problem is None) == [
        x[m.MODEL_ID] for i, x in enumerate(models) if i != at
    ]
    json.dumps(bad.data)


def test_a_catalogue_page_that_is_not_one_fails_as_a_page(sandboxes):
    with make(sandboxes) as adapter:
        for body, words in [
            ('{"items": [], "hasMore": false, "hasMore": true}', "hasMore: given 2 times"),
            ('{"items": [], "hasMore": Infinity}', "hasMore: Infinity"),
            ("Service Unavailable", "not JSON"),
        ]:
            hostile(sandboxes, stream="practice_models", body=body)
            with pytest.raises(PermanentError, match=words) as caught:
                list(adapter.stream("practice_models").read(None, 10))
            assert "innokyla/practice_models after (start)" in str(caught.value)


def test_a_catalogue_page_cut_short_is_transient_and_loses_nothing(sandboxes):
    models = catalogue()
    hostile(sandboxes, stream="practice_models", cut_after=2, cut_times=1)
    with make(sandboxes) as adapter:
        pages = adapter.stream("practice_models").read(None, 10)
        head = [next(pages), next(pages)]
        with pytest.raises(TransientError, match="ends before it is complete") as caught:
            next(pages)
        where = f"{models[19][m.MODIFIED]}/{models[19][m.MODEL_ID]}"
        assert f"innokyla/practice_models after {where}" in str(caught.value)
        rest = [
            r
            for b in adapter.stream("practice_models").read(head[-1].next_cursor, 10)
            for r in b.records
        ]
    got = model_ids(r for b in head for r in b.records) + model_ids(rest)
    assert got == [x[m.MODEL_ID] for x in models]


def test_a_catalogue_page_over_the_byte_cap_is_read_in_halves(sandboxes, monkeypatch):
    models = catalogue()
    sizes = [len(json.dumps(x, ensure_ascii=False).encode()) for x in models]
    # the shared models (first in the list) have many sections: 8 of them are too many
    assert sum(sizes[:8]) > max(sizes) * 3
    monkeypatch.setattr(PracticeModelsStream, "max_page_bytes", max(sizes) * 3)
    hostile(sandboxes, stream="practice_models")
    with make(sandboxes) as adapter:
        batches = list(adapter.stream("practice_models").read(None, 8))
    assert model_ids(r for b in batches for r in b.records) == [x[m.MODEL_ID] for x in models]
    limits = sandboxes.control(m.SYSTEM, "hostile").json()["limits"]
    assert limits[:2] == [8, 4] and len(batches[0].records) == 4
    assert 8 in limits[2:]  # back to the full page once the large models are behind


def test_a_publication_answer_without_usable_results_is_transient_and_safe_to_resend(sandboxes):
    with make(sandboxes) as adapter:
        for answer in ("", '{"results": [', '{"results": "all fine"}'):
            hostile(sandboxes, answer=answer)
            with pytest.raises(TransientError, match="sending again with the same keys is safe"):
                publish(adapter, indicator(), indicator("sessions_held", 40.0), tag="g")
        hostile(
            sandboxes,
            answer='{"results": [{"idempotencyKey": "g-0", "result": "published", "id": NaN}]}',
        )
        flawed = publish(adapter, indicator(), indicator("sessions_held", 40.0), tag="g")
        assert [o.outcome for o in flawed] == [Outcome.TRANSIENT, Outcome.TRANSIENT]
        assert "id: NaN" in flawed[0].reason and "no result" in flawed[1].reason
        hostile(sandboxes)
        again = publish(adapter, indicator(), indicator("sessions_held", 40.0), tag="g")
    assert [o.outcome for o in again] == [Outcome.OK, Outcome.OK]
    assert len(sandboxes.received(m.SYSTEM)) == 2  # published once each


def test_a_run_keeps_flawed_models_as_dead_letters_and_the_rest_once(hub_env):
    models = catalogue()
    flawed = {3: FLAWED_MODELS[0], 8: FLAWED_MODELS[2], 20: FLAWED_MODELS[4], 33: FLAWED_MODELS[6]}
    records = {str(i): build(models[i]) for i, (_, build, _, _) in flawed.items()}
    hostile(hub_env, stream="practice_models", records=records)
    hub = Hub.open()
    try:
        summary = run_exchange(hub, "innokyla_to_hub")
        assert summary.state == "success_with_failures", summary.error
        with hub.store.transaction() as conn:
            letters = deadletters.list_letters(conn, exchange="innokyla_to_hub", limit=1000)
            rids = list(
                conn.execute(
                    select(schema.identity_map.c.record_id).where(
                        schema.identity_map.c.system == m.SYSTEM
                    )
                ).scalars()
            )
            stored = records_store.native_ids_for(conn, hub.keys, m.SYSTEM, "PracticeModel", rids)
    finally:
        hub.close()
    assert sorted((f.field or "")[:8] for f in letters) == sorted(
        (field or "")[:8] for _, _, field, _ in flawed.values()
    )
    assert all((f.stage, f.error_class) == ("read", "contract") for f in letters)
    want = [x[m.MODEL_ID] for i, x in enumerate(models) if i not in flawed]
    assert sorted(stored.values()) == sorted(want) and len(rids) == len(want)


class TestInnokylaConformance(AdapterConformance):
    system_id = "innokyla"
    future_cursors = {
        "practice_models": '["2999-01-01T00:00:00Z",""]',
        "indicators": '["2999-01-01T00:00:00Z",""]',
    }

    def write_samples(self, stream):
        return [
            indicator(),
            indicator("sessions_held", 40.0),
            indicator("attendance_rate", 81.5, unit="%", municipality_codes=["743"]),
            indicator("kykyviisari_change_mieli", None, unit="points"),
        ]
