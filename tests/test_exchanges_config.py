"""The exchanges file: schema validation with messages that name the file and the key."""

from pathlib import Path

import pytest
import yaml

from hub import demo
from hub.errors import ConfigError
from hub.exchanges import check_against_adapters, load_exchanges
from hub.settings import DEFAULT_EXCHANGES

SHIPPED = DEFAULT_EXCHANGES.path()


def write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(SHIPPED.read_text())
    mutate(data)
    path = tmp_path / "exchanges.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_file_is_valid_against_installed_adapters():
    config = load_exchanges(SHIPPED)
    # the demo runs every exchange shipped, in the order data flows
    assert set(config.exchanges) == set(demo.ORDER) and len(demo.ORDER) == len(set(demo.ORDER))
    assert check_against_adapters(config) == []
    # every system the mission names, in every direction real data flows, each to its
    # lawful recipient: Kela's notices to the county, each bill to the municipality billed
    pairs = {(x.source, x.target) for x in config.exchanges.values()}
    assert {
        ("employment_authority", "county_case_system"),
        ("county_case_system", "employment_authority"),
        ("county_case_system", "kela_county"),
        ("kela_county", "county_case_system"),
        ("kela_seinajoki", "seinajoki"),
        ("kela_lapua", "lapua"),
        ("innokyla", "hub"),
        ("county_case_system", "hub"),
        ("hub", "innokyla"),
    } <= pairs
    adapters = {name: config.adapter_of(name) for name in config.systems}
    assert adapters == {
        "employment_authority": "te_office",
        "county_case_system": "municipal",
        "kela_county": "kela",
        "kela_seinajoki": "kela",
        "kela_employment_area": "kela",
        "kela_lapua": "kela",
        "seinajoki": "municipal",
        "lapua": "municipal",
        "innokyla": "innokyla",
    }
    for x in config.exchanges.values():
        assert (x.schedule or x.after) and len(x.legal_basis) > 50 and x.entities


def test_shipped_file_routes_each_record_to_its_controller():
    """The notices go to the county, the bills to the municipality billed: no exchange
    carries both, and each municipality's Kela system asks for its own code only."""
    config = load_exchanges(SHIPPED)
    entities = {name: {f.entity for f in x.entities} for name, x in config.exchanges.items()}
    assert entities["kela_to_county"] == {"Notification"}
    for town, code in (("seinajoki", "743"), ("lapua", "408")):
        assert entities[f"kela_to_{town}"] == {"BillingLine", "BenefitDays"}
        assert config.system(f"kela_{town}").options["municipality_code"] == code
        assert config.system(town).options["municipality_code"] == code
    county = set(config.system("county_case_system").options["municipality_codes"])
    assert {"743", "408"} <= county
    assert set(config.system("kela_county").options["municipality_codes"]) == county


def test_shipped_file_gives_each_organisation_its_own_x_road_member_code():
    """The hub calls X-Road as the county, the employment area's lead municipality and each
    municipality billed, each with a member code that is a valid business ID (sandbox
    values, not the organisations' own)."""
    from stdnum.fi import ytunnus

    config = load_exchanges(SHIPPED)
    clients = {
        name: s.options["xroad_client"].split("/")
        for name, s in config.systems.items()
        if "xroad_client" in s.options
    }
    assert set(clients) == {
        "employment_authority",
        "kela_county",
        "kela_seinajoki",
        "kela_lapua",
        "kela_employment_area",
    }
    assert all(ytunnus.is_valid(member) for _, _, member, _ in clients.values())
    members = {name: member for name, (_, _, member, _) in clients.items()}
    assert members["employment_authority"] == members["kela_seinajoki"]  # the lead municipality
    assert len({members["kela_county"], members["kela_seinajoki"], members["kela_lapua"]}) == 3
    # Kela is called by the employment area with the employment authority's own client
    assert clients["kela_employment_area"] == clients["employment_authority"]
    assert len({"/".join(c) for c in clients.values()}) == 4  # a client subsystem each


def _derive_client(d):
    d["exchanges"]["hub_to_innokyla"]["entities"][0].update(entity="Client", fields=["hetu"])


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (
            lambda d: d["systems"].update(hub={"base_url": "http://x"}),
            "systems/hub: the name is taken by an end inside the hub",
        ),
        (_derive_client, "exchanges/hub_to_innokyla: hub has no readable stream of Client"),
        (
            lambda d: d["systems"].pop("innokyla"),  # named as its adapter, not declared
            "exchanges/innokyla_to_hub: system 'innokyla' is not declared under systems",
        ),
        (
            lambda d: d["exchanges"]["employment_authority_to_county"]["entities"][1][
                "fields"
            ].append("shoe_size"),
            "exchanges/employment_authority_to_county/entities/1/fields: shoe_size not fields of "
            "ServiceEpisode",
        ),
        (
            lambda d: d["exchanges"]["employment_authority_to_county"]["entities"][0].update(
                entity="Pet"
            ),
            "exchanges/employment_authority_to_county/entities/0/entity: unknown entity 'Pet'",
        ),
        (
            lambda d: d["exchanges"]["employment_authority_to_county"]["entities"][0].update(
                source_stream="period_notifications"
            ),
            "exchanges/employment_authority_to_county: stream "
            "employment_authority/period_notifications is not readable",
        ),
    ],
)
def test_what_needs_the_plugins_is_checked_against_them(tmp_path, mutate, words):
    problems = check_against_adapters(load_exchanges(write(tmp_path, mutate)))
    assert any(words in p for p in problems), problems


def test_source_and_target_must_differ(tmp_path):
    path = write(
        tmp_path, lambda d: d["exchanges"]["county_to_kela"].update(target="county_case_system")
    )
    with pytest.raises(ConfigError, match="county_to_kela: source and target are the same"):
        load_exchanges(path)


def test_each_default_is_declared_once_in_the_schema(tmp_path):
    """A setting left out takes the schema's default; the dataclass declares none."""
    import dataclasses
    import json

    from hub.exchanges import SCHEMA_FILE, Exchange

    schema = json.loads(SCHEMA_FILE.read_text())["$defs"]["exchange"]["properties"]
    x = load_exchanges(SHIPPED).exchange("kela_to_seinajoki")
    assert x.max_attempts == schema["delivery"]["properties"]["max_attempts"]["default"]
    assert x.commit_every == schema["commit_every"]["default"]
    assert all(
        f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        for f in dataclasses.fields(Exchange)
    )
    # a system's connection settings: SystemConfig (built directly by tests and the kit)
    # keeps the schema's defaults
    from hub.adapter import SystemConfig

    system = json.loads(SCHEMA_FILE.read_text())["$defs"]["system"]["properties"]
    bare = SystemConfig("x", "http://x")
    assert bare.timeout == system["timeout_seconds"]["default"]
    assert bare.deadline == system["deadline_seconds"]["default"]


def test_a_field_the_target_cannot_hold_is_reported(tmp_path):
    def mutate(d):
        d["exchanges"]["county_to_employment_authority"]["entities"][0]["fields"].append(
            "hours_per_day"
        )

    problems = check_against_adapters(load_exchanges(write(tmp_path, mutate)))
    assert problems == [
        "exchanges/county_to_employment_authority: employment_authority/period_notifications "
        "cannot hold "
        "hours_per_day of ServiceEpisode; remove them from the allowed fields"
    ]


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (
            lambda d: d["exchanges"]["employment_authority_to_county"].pop("legal_basis"),
            "employment_authority_to_county: 'legal_basis' is a required property",
        ),
        (
            lambda d: d["systems"]["employment_authority"].update(base_url="ftp://x"),
            "systems/employment_authority/base_url",
        ),
    ],
)
def test_invalid_files_name_file_and_key(tmp_path, mutate, words):
    path = write(tmp_path, mutate)
    with pytest.raises(ConfigError) as info:
        load_exchanges(path)
    assert str(path) in str(info.value)
    assert words in str(info.value)


def test_unknown_system_adapter_is_reported(tmp_path):
    def mutate(d):
        d["systems"]["pension_fund"] = {"base_url": "http://127.0.0.1:1"}
        d["exchanges"]["employment_authority_to_county"]["target"] = "pension_fund"

    problems = check_against_adapters(load_exchanges(write(tmp_path, mutate)))
    assert problems == [
        "exchanges/employment_authority_to_county: no adapter installed for system 'pension_fund'"
    ]


def test_system_url_from_environment(monkeypatch):
    monkeypatch.setenv("HUB_SYSTEM_COUNTY_CASE_SYSTEM_URL", "http://127.0.0.1:9999/")
    assert load_exchanges(SHIPPED).system("county_case_system").base_url == "http://127.0.0.1:9999"
