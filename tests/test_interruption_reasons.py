"""The hub's own code list of interruption reasons (no national one exists): the Finnish and
Swedish free text of the source systems coded by one function, whatever its case, spacing
and punctuation; unknown text left uncoded; the case system's codes agreeing with the list;
and the employment authority's periods coded as they are read."""

from __future__ import annotations

import pytest
from hub_municipal import mapping as municipal
from hub_municipal import texts as municipal_texts
from hub_te_office import data as te_data
from hub_te_office import mapping as te
from hypothesis import given, settings
from hypothesis import strategies as st

from hub import codelists
from hub.codelists import interruption_reason, normalise
from hub.errors import ConfigError
from hub.model import InterruptionReason
from hub.resources import PackagedFile
from hub.synthetic import person

R = InterruptionReason
LIST = codelists.codelist(codelists.INTERRUPTION_REASONS)
#: every name and term of the list, with its code
TERMS = sorted(
    (text, R(c.code))
    for c in LIST
    for text in (c.name_fi, c.name_sv or c.name_fi, *c.terms_fi, *c.terms_sv)
)


def test_the_list_is_the_hubs_own_and_says_so():
    data = PackagedFile("hub", "schemas", "codelists", "interruption-reasons.json").read_json()
    assert data["oid"] is None and LIST.oid is None
    assert "NOT A NATIONAL" in LIST.notice and "no national code list" in LIST.source
    assert LIST is codelists.codelist("interruption_reasons")
    # one code per reason of the model, each named in both languages
    assert {c.code for c in LIST} == {r.value for r in R}
    assert all(c.name_fi and c.name_sv and c.terms_fi and c.terms_sv for c in LIST)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the employment authority's sandbox (fi and sv)
        ("Terveydelliset syyt", R.HEALTH),
        ("Asiakas siirtyi työkokeiluun", R.TRANSFERRED),
        ("Asiakas muutti pois", R.MOVED_AWAY),
        ("Asiakas työllistyi avoimille työmarkkinoille", R.TRANSFERRED),
        ("Asiakas aloitti opinnot", R.TRANSFERRED),
        ("Hälsoskäl", R.HEALTH),
        ("Kunden fick arbete på den öppna arbetsmarknaden", R.TRANSFERRED),
        ("Kunden började studera", R.TRANSFERRED),
        # the municipal case system's sandbox
        ("Asiakkaan terveydentila", R.HEALTH),
        ("Klientens hälsotillstånd", R.HEALTH),
        ("Asiakas ei ole tavoitettavissa", R.ABSENCES),
        ("Klienten kan inte nås", R.ABSENCES),
        ("Asiakkaan elämäntilanne", R.LIFE_SITUATION),
        ("Klientens eget beslut", R.OWN_DECISION),
        ("Klienten flyttade från orten", R.MOVED_AWAY),
        ("Muu syy", R.OTHER),
        ("Annan orsak", R.OTHER),
        # case, spacing and punctuation do not count
        ("  TERVEYDELLISET   syyt. ", R.HEALTH),
        ("Asiakas muutti pois!", R.MOVED_AWAY),
        ("asiakas\tsiirtyi\ntyökokeiluun;", R.TRANSFERRED),
        ("KLIENTENS HÄLSOTILLSTÅND", R.HEALTH),
        ("Muutto, toiselle paikkakunnalle", R.MOVED_AWAY),
    ],
)
def test_free_text_is_coded_in_finnish_and_swedish(text, expected):
    assert interruption_reason(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "...",
        "Asiakas aloitti varusmiespalveluksen",  # the case system codes it MUU itself
        "Terveydelliset syyt ja muutto",  # two reasons: no guess
        "Terveys",  # a word of a term is not the term
        "Asiakas siirtyi",
    ],
)
def test_unknown_text_gets_no_code(text):
    assert interruption_reason(text) is None


@settings(max_examples=200, deadline=None)
@given(
    term=st.sampled_from(TERMS),
    upper=st.lists(st.booleans(), min_size=80, max_size=80),
    spaces=st.lists(st.sampled_from([" ", "  ", "\t", "\n", " \u00a0"]), min_size=1),
    before=st.text(alphabet=" \t\n.,;:!?-–()\"'", max_size=4),
    after=st.text(alphabet=" \t\n.,;:!?-–()\"'", max_size=4),
)
def test_case_whitespace_and_punctuation_never_change_the_code(term, upper, spaces, before, after):
    text, expected = term
    cased = "".join(ch.upper() if up else ch.lower() for ch, up in zip(text, upper, strict=False))
    cased += text[len(upper) :]
    words = cased.split()
    spaced = words[0] + "".join(spaces[n % len(spaces)] + w for n, w in enumerate(words[1:]))
    assert interruption_reason(before + spaced + after) == expected


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_coded_by_its_normal_form_only(text):
    """Whatever a text is, it gets the code of its normal form or none; never an error."""
    found = interruption_reason(text)
    assert found == interruption_reason(normalise(text))
    assert found is None or normalise(text) in {normalise(t) for t, _ in TERMS}


def test_every_text_the_sandboxes_write_is_coded_as_they_mean_it():
    # the municipal case system: its own code for every text, and the list agrees
    for reason, _, native in municipal_texts.INTERRUPTIONS:
        meant = R(municipal.INTERRUPTION_CODES[native])
        for text in reason.values():
            found = interruption_reason(text)
            assert found in (meant, None), text
            assert found is not None or meant == R.OTHER, text  # only MUU's text is unknown
    # the employment authority: every free text of its periods is known
    for text in te_data.REASONS + [
        t for lang in te_data.TEXTS.values() for t in lang["ended_early"]
    ]:
        assert interruption_reason(text) is not None, text


def test_the_case_systems_codes_are_the_lists():
    assert LIST.system_codes("municipal") == municipal.INTERRUPTION_CODES
    assert LIST.system_codes("nobody") == {}


def base(codes: list[dict]) -> dict:
    return {"oid": None, "name": "n", "short_name": "s", "source": "u", "codes": codes}


def test_a_text_meaning_two_codes_is_a_config_error_naming_both():
    with pytest.raises(ConfigError, match=r"x.json: 'Muutto!' means both a and b"):
        codelists.parse(
            base(
                [
                    {"code": "a", "name_fi": "A", "terms_fi": ["Muutto"]},
                    {"code": "b", "name_fi": "B", "terms_sv": ["Muutto!"]},
                ]
            ),
            "x.json",
        )
    with pytest.raises(ConfigError, match="municipal's code X is given to both a and b"):
        codelists.parse(
            base(
                [
                    {"code": "a", "name_fi": "A", "system_codes": {"municipal": "X"}},
                    {"code": "b", "name_fi": "B", "system_codes": {"municipal": "X"}},
                ]
            ),
            "x.json",
        )
    with pytest.raises(ConfigError, match=r"codes\[0\]: terms_fi must be a list"):
        codelists.parse(base([{"code": "a", "name_fi": "A", "terms_fi": "Muutto"}]), "x.json")
    with pytest.raises(ConfigError, match=r"codes\[0\]: system_codes must map"):
        codelists.parse(base([{"code": "a", "name_fi": "A", "system_codes": ["X"]}]), "x.json")


# --- the employment authority's periods -----------------------------------------------------

HETU = person(1, 0).hetu


def period(status: str, reason: str | None) -> dict:
    native = {
        te.PERSON_ID: HETU,
        "serviceCode": "KTT",
        "startDate": "2026-02-02",
        "status": te.STATUS_CODE_OF[status],
    }
    if status in ("interrupted", "ended"):
        native["actualEndDate"] = "2026-03-02"
    if reason is not None:
        native["interruptionReason"] = reason
    return native


def test_an_interrupted_period_is_coded_from_its_text_and_keeps_it():
    ep = te.period_to_canonical("te_office/service_periods/SP-1", period("interrupted", "Muutto"))
    assert ep.interruption_code == R.MOVED_AWAY and ep.interruption_reason == "Muutto"
    ep = te.period_to_canonical(
        "te_office/service_periods/SP-2", period("interrupted", "Hälsoskäl.")
    )
    assert ep.interruption_code == R.HEALTH and ep.interruption_reason == "Hälsoskäl."


def test_unknown_text_leaves_the_period_uncoded_with_its_text():
    text = "Asiakas lähti ulkomaille vapaaehtoistyöhön"
    ep = te.period_to_canonical("te_office/service_periods/SP-3", period("interrupted", text))
    assert ep.interruption_code is None and ep.interruption_reason == text


def test_only_an_interrupted_period_is_coded():
    ep = te.period_to_canonical(
        "te_office/service_periods/SP-4", period("ended", "Terveydelliset syyt")
    )
    assert ep.interruption_code is None and ep.interruption_reason == "Terveydelliset syyt"
    # the code is the hub's reading: it is never sent back to the employment authority
    assert "interruption_code" not in te.PERIOD_FIELDS
    assert "interruptionCode" not in te.period_to_native(ep.model_dump(mode="json"))
