"""THL code lists shipped as package data, and the canonical model's municipality codes
checked against the municipalities list (1.2.246.537.6.21)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from hub import codelists
from hub.errors import ConfigError
from hub.model import BenefitDays, Client, Indicator, Notification
from hub.model.types import MunicipalityCode
from hub.resources import PackagedFile
from hub.synthetic import MUNICIPALITIES, person

ROOT = Path(__file__).resolve().parents[1]
HETU = person(1, 0).hetu
#: the examples DOMAIN.md gives (Soini is 759; 791 is Siikalatva)
KNOWN = {
    "049": "Espoo",
    "092": "Vantaa",
    "061": "Forssa",
    "145": "Ilmajoki",
    "743": "Seinäjoki",
    "010": "Alavus",
    "005": "Alajärvi",
    "408": "Lapua",
    "759": "Soini",
    "791": "Siikalatva",
    "934": "Vimpeli",
    "179": "Jyväskylä",
    "091": "Helsinki",
    "478": "Maarianhamina",
}


# --- the files: package data ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["municipalities.json", "service-tasks.json", "service-processes.json"]
)
def test_the_code_lists_are_package_data(name):
    packaged = PackagedFile("hub", "schemas", "codelists", name)
    assert packaged.exists(), packaged.label
    data = packaged.read_json()
    assert {"oid", "name", "short_name", "version", "retrieved", "source", "codes"} <= set(data)
    assert data["source"] == (
        "https://koodistopalvelu.kanta.fi/codeserver/csapi/v6/classifications/"
        f"{data['oid']}/conceptcodes"
    )


def test_the_wheel_carries_the_folder():
    """The core's wheel holds every file under ``hub/`` that git does not ignore: nothing
    in the build configuration or .gitignore leaves the code lists out."""
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]
    assert build["targets"]["wheel"]["packages"] == ["hub"]
    assert "exclude" not in build["targets"]["wheel"] and "exclude" not in build
    ignored = (ROOT / ".gitignore").read_text()
    assert "codelists" not in ignored and "*.json" not in ignored


def test_lists_are_found_by_oid_and_short_name():
    municipalities = codelists.codelist("1.2.246.537.6.21")
    assert municipalities is codelists.codelist("municipalities")
    assert codelists.codelist("service_tasks").oid == codelists.SERVICE_TASKS
    assert codelists.codelist("service_processes").oid == codelists.SERVICE_PROCESSES
    assert [c.oid for c in codelists.codelists()] == [
        *sorted(
            [
                codelists.MUNICIPALITIES,
                codelists.SERVICE_PROCESSES,
                codelists.SERVICE_TASKS,
                codelists.LOG_ACTIONS,
            ]
        ),
        None,  # the hub's own list (interruption reasons): no OID, after THL's
    ]
    own = codelists.codelist(codelists.INTERRUPTION_REASONS)
    assert own.label == "the hub's code list interruption_reasons"
    with pytest.raises(ConfigError, match="no code list 'nope' is shipped.*1.2.246.537.6.21"):
        codelists.codelist("nope")


def test_municipalities_list_holds_real_codes_only():
    municipalities = codelists.codelist(codelists.MUNICIPALITIES)
    assert 300 <= len(municipalities) <= 320
    assert all(re.fullmatch(r"\d{3}", c.code) for c in municipalities)
    for code, name in KNOWN.items():
        assert municipalities.name_of(code) == name, code
    assert municipalities.name_of("049", "sv") == "Esbo"
    assert municipalities.name_of("743", "sv") == "Seinäjoki"  # no Swedish name: the Finnish
    for pseudo in ("000", "099", "198", "199", "200", "999"):  # 099: Honkajoki, merged 2021
        assert pseudo not in municipalities
    assert "REFRESH" in municipalities.notice and "koodistopalvelu.kanta.fi" in (
        municipalities.notice
    )
    assert municipalities.current_codes == codelists.municipality_codes()


def test_service_lists_ship_no_unverified_code():
    for key in ("service_tasks", "service_processes"):
        cl = codelists.codelist(key)
        assert len(cl) == 0 and cl.to_verify
        assert all(e["code"] is None and e["verified"] is False for e in cl.to_verify)


def test_a_broken_list_is_a_config_error_naming_it():
    with pytest.raises(ConfigError, match="x.json: codes\\[1\\]: code 049 is given twice"):
        codelists.parse(
            {
                "oid": "1",
                "name": "n",
                "short_name": "s",
                "source": "u",
                "codes": [{"code": "049", "name_fi": "a"}, {"code": "049", "name_fi": "b"}],
            },
            "x.json",
        )
    with pytest.raises(ConfigError, match="x.json: codes\\[0\\]: unknown keys \\['nimi'\\]"):
        codelists.parse(
            {"oid": "1", "name": "n", "short_name": "s", "source": "u", "codes": [{"nimi": 1}]},
            "x.json",
        )


# --- the model: municipality codes of the list only -----------------------------------------


@pytest.mark.parametrize("code", ["000", "999", "099", "198", "200", "123"])
def test_codes_of_no_municipality_are_refused_naming_the_list(code):
    with pytest.raises(ValidationError) as caught:
        Client(hetu=HETU, home_municipality=code)
    message = str(caught.value)
    assert codelists.MUNICIPALITIES in message and "home_municipality" in message
    assert HETU not in message


def test_every_municipality_field_is_checked():
    from pydantic import TypeAdapter

    codes = TypeAdapter(list[MunicipalityCode])
    assert codes.validate_python(["049", "759"]) == ["049", "759"]
    with pytest.raises(ValidationError, match=re.escape(codelists.MUNICIPALITIES)):
        codes.validate_python(["049", "000"])
    with pytest.raises(ValidationError, match=re.escape(codelists.MUNICIPALITIES)):
        BenefitDays(
            client_hetu=HETU,
            benefit_type="labour_market_subsidy",
            as_of="2026-01-31",
            cumulative_days=1,
            paying_municipality="999",
        )
    with pytest.raises(ValidationError, match="pattern"):  # the pattern stays first
        Client(hetu=HETU, home_municipality="74")
    schema = Client.model_json_schema()["properties"]["home_municipality"]["anyOf"][0]
    assert schema["pattern"] == r"^\d{3}$"


@pytest.mark.parametrize("code", sorted(KNOWN))
def test_real_codes_pass(code):
    assert Client(hetu=HETU, home_municipality=code).home_municipality == code
    notice = Notification(
        client_hetu=HETU,
        kind="social_work_need",
        reference="R-1",
        sent_at="2026-01-05T10:00:00Z",
        municipality_code=code,
    )
    assert notice.municipality_code == code


def test_synthetic_people_and_shipped_configuration_use_real_codes():
    known = codelists.municipality_codes()
    assert set(MUNICIPALITIES) <= known, sorted(set(MUNICIPALITIES) - known)
    from hub.settings import DEFAULT_EXCHANGES

    config = DEFAULT_EXCHANGES.read_text()
    configured = set(re.findall(r"municipality_code:\s*\"?(\d{3})", config))
    assert configured and configured <= known, sorted(configured - known)
    Indicator.model_json_schema()  # the list type builds its schema with the validator


def test_the_committed_codes_are_json_one_per_line():
    """One code a line, so that a refresh from the code server reads as a diff per code."""
    text = PackagedFile("hub", "schemas", "codelists", "municipalities.json").read_text()
    lines = [ln for ln in text.splitlines() if '"code":' in ln]
    assert len(lines) == len(codelists.codelist("municipalities"))
    assert all(json.loads(ln.strip().rstrip(",")) for ln in lines)
