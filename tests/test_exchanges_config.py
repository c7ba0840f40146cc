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
    assert set(config.exchanges) == {"te_office_to_municipal", "municipal_to_te_office"}
    assert check_against_adapters(config) == []
    for x in config.exchanges.values():
        assert x.schedule and len(x.legal_basis) > 50 and x.entities


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
            lambda d: d["exchanges"]["te_office_to_municipal"].update(target="kela"),
            "exchanges/te_office_to_municipal/target: system 'kela' is not declared",
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
        d["systems"]["kela"] = {"base_url": "http://127.0.0.1:1"}
        d["exchanges"]["te_office_to_municipal"]["target"] = "kela"

    problems = check_against_adapters(load_exchanges(write(tmp_path, mutate)))
    assert problems == ["exchanges/te_office_to_municipal: no adapter installed for system 'kela'"]


def test_system_url_from_environment(monkeypatch):
    monkeypatch.setenv("HUB_SYSTEM_MUNICIPAL_URL", "http://127.0.0.1:9999/")
    assert load_exchanges(SHIPPED).system("municipal").base_url == "http://127.0.0.1:9999"
