"""The exchanges file: schema validation with messages that name the file and the key."""

from pathlib import Path

import pytest
import yaml

from hub.errors import ConfigError
from hub.exchanges import check_against_adapters, load_exchanges
from hub.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "config" / "exchanges.yaml"


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
        (lambda d: d["systems"].update(hub={"base_url": "http://x"}), "systems/hub: the name"),
        (_derive_client, "the hub derives only Indicator, not Client"),
        (
            lambda d: d["exchanges"]["municipal_to_kela"].update(target="municipal"),
            "municipal_to_kela: source and target are the same",
        ),
    ],
)
def test_the_hub_as_an_exchange_end(tmp_path, mutate, words):
    path = write(tmp_path, mutate)
    with pytest.raises(ConfigError) as info:
        load_exchanges(path)
    assert words in str(info.value)


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
            lambda d: d["exchanges"]["te_office_to_municipal"]["entities"][1]["fields"].append(
                "shoe_size"
            ),
            "entities/1/fields: shoe_size not fields of ServiceEpisode",
        ),
        (
            lambda d: d["exchanges"]["te_office_to_municipal"].update(target="nowhere"),
            "exchanges/te_office_to_municipal/target: system 'nowhere' is not declared",
        ),
        (
            lambda d: d["exchanges"]["te_office_to_municipal"]["entities"][0].update(entity="Pet"),
            "unknown entity 'Pet'",
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
