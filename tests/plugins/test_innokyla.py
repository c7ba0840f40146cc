"""Innokylä adapter against its sandbox over real HTTP: catalogue, publication guard, kit."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import jsonschema
import pytest
from hub_innokyla import mapping as m
from hub_innokyla.adapter import indicator_to_canonical, indicator_to_native
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from hub.adapter import Outcome, SystemConfig, WriteItem
from hub.errors import PermanentError, RecordError, TransientError
from hub.model import Indicator, IndicatorCode
from hub.plugins import adapter_registry
from hub.sandbox import free_port
from hub.synthetic import PRACTICE_MODELS, person
from hub.testing.conformance import AdapterConformance

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "innokyla"


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
        WriteItem(f"{tag}-{i}", f"r{i}", adapter.to_native("indicators", x.model_dump(mode="json")))
        for i, x in enumerate(indicators)
    ]
    return adapter.write("indicators", items)


def test_catalogue_holds_the_shared_models_with_their_sections(sandboxes):
    with make(sandboxes) as adapter:
        models = {
            r.native_id: adapter.to_canonical("practice_models", r)
            for b in adapter.read("practice_models", None, 10)
            for r in b.records
        }
    assert set(PRACTICE_MODELS) <= set(models)
    ep = models["sosiaalinen-kuntoutus-etela-pohjanmaa"]
    assert len(ep.sections) == 10 and "743" in ep.municipality_codes
    osku = models["osku-aloittava-tyotoiminta"]
    assert [s.title for s in osku.sections][:3] == [
        "Ratkaisun perusidea",
        "Toimintaympäristö",
        "Toimivuuden ja käyttöönoton ehdot",
    ]
    assert "author" not in osku.model_dump()  # the describer's name is not taken in


def validator(name):
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def read_ids(adapter, stream, cursor, size):
    batches = list(adapter.read(stream, cursor, size))
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
            list(adapter.read("practice_models", "not a cursor", 7))


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
            r.native_id: adapter.to_canonical("practice_models", r)
            for b in adapter.read("practice_models", None, 50)
            for r in b.records
        }
    osku = [models[k] for k in PRACTICE_MODELS if k.startswith("osku-")]
    assert len(osku) == 4 and len({x.sections[0].body for x in osku}) == 4
    for x in osku:
        idea = x.sections[0].body
        assert all(w in idea for w in ("elämänhallinta", "työelämätaidot", "työn tekeminen"))
        assert x.name == PRACTICE_MODELS[x.model_id] and x.organisations and x.funder
    ep = models["sosiaalinen-kuntoutus-etela-pohjanmaa"]
    assert ep.region == "Etelä-Pohjanmaan hyvinvointialue"
    assert ep.sections[-1].title == "Linkit" and all(s.body for s in ep.sections)


def test_what_is_served_and_sent_follows_the_wire_schemas(sandboxes):
    models, indicators = validator("practice-model.schema.json"), validator("indicator.schema.json")
    with make(sandboxes) as adapter:
        for b in adapter.read("practice_models", None, 50):
            for r in b.records:
                models.validate(r.data)
                assert m.AUTHOR in r.data  # served, but not taken in (see above)
        for b in adapter.read("indicators", None, 50):
            for r in b.records:
                indicators.validate(r.data)
        for sample in TestInnokylaConformance().write_samples("indicators"):
            indicators.validate(adapter.to_native("indicators", sample.model_dump(mode="json")))


def test_the_sandbox_without_the_key_answers_401_with_a_json_error(sandboxes):
    response = httpx.get(f"{sandboxes[m.SYSTEM].base_url}{m.PATH_MODELS}", trust_env=False)
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


def test_errors_are_classified(sandboxes):
    with make(sandboxes) as adapter:
        sandboxes.faults(m.SYSTEM, unavailable=True, retry_after=4)
        with pytest.raises(TransientError) as caught:
            list(adapter.read("indicators", None, 5))
        assert caught.value.retry_after == 4 and caught.value.status == 503
        with pytest.raises(TransientError):
            publish(adapter, indicator())
        sandboxes.faults(m.SYSTEM, rate_limit_every=2, retry_after=7)
        with pytest.raises(TransientError) as caught:
            list(adapter.read("practice_models", None, 5))
        assert caught.value.retry_after == 7 and caught.value.status == 429
        sandboxes.faults(m.SYSTEM, reject_writes=True)
        outcomes = publish(adapter, indicator(), indicator("sessions_held", 40.0))
        assert {o.outcome for o in outcomes} == {Outcome.PERMANENT}
        sandboxes.faults(m.SYSTEM, malformed_every=1)
        for stream in ("practice_models", "indicators"):
            for r in next(iter(adapter.read(stream, None, 8))).records:
                with pytest.raises((RecordError, ValidationError)):
                    adapter.to_canonical(stream, r)
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
            list(adapter.read("practice_models", None, 5))


def test_published_indicators_read_back_with_suppression(sandboxes):
    with make(sandboxes) as adapter:
        outcomes = publish(adapter, indicator(), indicator("moved_on_share", None, unit="%"))
        assert [o.outcome for o in outcomes] == [Outcome.OK, Outcome.OK]
        back = {
            r.native_id: adapter.to_canonical("indicators", r)
            for b in adapter.read("indicators", None, 50)
            for r in b.records
        }
    got = back["osku-tutkiva-tyotoiminta/2026-01-01/moved_on_share"]
    assert got.suppressed and got.value is None and got.published_value() == "<5"
    assert back["osku-tutkiva-tyotoiminta/2026-01-01/participants"].value == 12


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"value": "3"}, "one under 5 must be published"),
        ({"practiceModel": "no-such-model"}, "no such practice model"),
        ({"unit": person(1, 4).hetu}, "personal data"),
        ({"clientName": "Aino"}, "unknown fields: clientName"),
        ({"value": "kolme"}, "must be a number"),
    ],
)
def test_the_platform_refuses_what_must_not_be_published(sandboxes, payload, words):
    with make(sandboxes) as adapter:
        native = {**adapter.to_native("indicators", indicator().model_dump(mode="json"))}
        native.update(payload)
        [outcome] = adapter.write("indicators", [WriteItem("bad", "r", native)])
    assert outcome.outcome == Outcome.PERMANENT and words in outcome.reason
    assert sandboxes.received(m.SYSTEM) == []


def test_republishing_with_the_same_key_publishes_once(sandboxes):
    with make(sandboxes) as adapter:
        first = publish(adapter, indicator(), tag="same")
        second = publish(adapter, indicator(), tag="same")
    assert [o.outcome for o in first + second] == [Outcome.OK, Outcome.OK]
    assert len(sandboxes.received(m.SYSTEM)) == 1


@given(
    code=st.sampled_from(list(IndicatorCode)),
    value=st.one_of(
        st.none(),
        st.integers(min_value=5, max_value=10_000).map(float),
        st.floats(min_value=-10, max_value=100).map(lambda v: round(v, 1)),
    ),
)
def test_published_values_round_trip(code, value):
    if code in (IndicatorCode.PARTICIPANTS, IndicatorCode.SESSIONS_HELD) and value is not None:
        value = float(max(5, int(value)))
    original = indicator(code, value)
    native = indicator_to_native(original.model_dump(mode="json"))
    assert native[m.IND_VALUE] == original.published_value()
    back = indicator_to_canonical("x", native)
    assert back.suppressed == original.suppressed
    assert back.value == (None if value is None else pytest.approx(value, abs=0.05))


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
