"""The exchanges file: schema validation with messages that name the file and the key."""

from pathlib import Path

import pytest
import yaml

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
    assert set(config.exchanges) == {
        "te_office_to_municipal",
        "municipal_to_te_office",
        "municipal_to_kela",
        "kela_to_municipal",
        "innokyla_to_hub",
        "municipal_to_hub",
        "hub_to_innokyla",
    }
    assert check_against_adapters(config) == []
    # every system the mission names, in every direction real data flows
    pairs = {(x.source, x.target) for x in config.exchanges.values()}
    assert {
        ("te_office", "municipal"),
        ("municipal", "te_office"),
        ("municipal", "kela"),
        ("kela", "municipal"),
        ("innokyla", "hub"),
        ("hub", "innokyla"),
    } <= pairs
    for x in config.exchanges.values():
        assert x.schedule and len(x.legal_basis) > 50 and x.entities


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
            lambda d: d["systems"].pop("kela"),
            "exchanges/municipal_to_kela: system 'kela' is not declared under systems",
        ),
        (
            lambda d: d["exchanges"]["te_office_to_municipal"]["entities"][1]["fields"].append(
                "shoe_size"
            ),
            "exchanges/te_office_to_municipal/entities/1/fields: shoe_size not fields of "
            "ServiceEpisode",
        ),
        (
            lambda d: d["exchanges"]["te_office_to_municipal"]["entities"][0].update(entity="Pet"),
            "exchanges/te_office_to_municipal/entities/0/entity: unknown entity 'Pet'",
        ),
        (
            lambda d: d["exchanges"]["te_office_to_municipal"]["entities"][0].update(
                source_stream="period_notifications"
            ),
            "exchanges/te_office_to_municipal: stream te_office/period_notifications is not "
            "readable",
        ),
    ],
)
def test_what_needs_the_plugins_is_checked_against_them(tmp_path, mutate, words):
    problems = check_against_adapters(load_exchanges(write(tmp_path, mutate)))
    assert any(words in p for p in problems), problems


def test_source_and_target_must_differ(tmp_path):
    path = write(tmp_path, lambda d: d["exchanges"]["municipal_to_kela"].update(target="municipal"))
    with pytest.raises(ConfigError, match="municipal_to_kela: source and target are the same"):
        load_exchanges(path)


def test_each_default_is_declared_once_in_the_schema(tmp_path):
    """A setting left out takes the schema's default; the dataclass declares none."""
    import dataclasses
    import json

    from hub.exchanges import SCHEMA_FILE, Exchange

    schema = json.loads(SCHEMA_FILE.read_text())["$defs"]["exchange"]["properties"]
    x = load_exchanges(SHIPPED).exchange("kela_to_municipal")
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
        d["exchanges"]["municipal_to_te_office"]["entities"][0]["fields"].append("hours_per_day")

    problems = check_against_adapters(load_exchanges(write(tmp_path, mutate)))
    assert problems == [
        "exchanges/municipal_to_te_office: te_office/period_notifications cannot hold "
        "hours_per_day of ServiceEpisode; remove them from the allowed fields"
    ]


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (
            lambda d: d["exchanges"]["te_office_to_municipal"].pop("legal_basis"),
            "te_office_to_municipal: 'legal_basis' is a required property",
        ),
        (
            lambda d: d["systems"]["te_office"].update(base_url="ftp://x"),
            "systems/te_office/base_url",
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
        d["exchanges"]["te_office_to_municipal"]["target"] = "pension_fund"

    problems = check_against_adapters(load_exchanges(write(tmp_path, mutate)))
    assert problems == [
        "exchanges/te_office_to_municipal: no adapter installed for system 'pension_fund'"
    ]


def test_system_url_from_environment(monkeypatch):
    monkeypatch.setenv("HUB_SYSTEM_MUNICIPAL_URL", "http://127.0.0.1:9999/")
    assert load_exchanges(SHIPPED).system("municipal").base_url == "http://127.0.0.1:9999"
