"""The configuration mistakes that used to pass ``hub exchanges validate`` and fail later
(issue 16): schedules Airflow refuses, keys given twice, unknown adapter options, key fields
a target needs and is not sent; and one invalid exchange leaves the others usable."""

from pathlib import Path

import pytest
import yaml

from hub.cli import main
from hub.config_validation import schedule_problem
from hub.errors import ConfigError
from hub.exchanges import check_against_adapters, load_exchanges
from hub.settings import DEFAULT_EXCHANGES

SHIPPED = DEFAULT_EXCHANGES.path()


def write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(SHIPPED.read_text())
    mutate(data)
    path = tmp_path / "exchanges.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def scheduled(schedule):
    return lambda d: d["exchanges"]["county_to_kela"].update(schedule=schedule)


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ("15 6 * * 1-8", "day of week 8 is out of range 0-7"),
        ("61 * * * *", "minute 61 is out of range 0-59"),
        ("0 0 * 13 *", "month 13 is out of range 1-12"),
        ("@dayly", "not a preset Airflow knows"),
        ("every day at six", "a cron expression has 5 fields"),
    ],
)
def test_a_schedule_airflow_refuses_is_refused_naming_file_exchange_and_key(
    tmp_path, schedule, words
):
    path = write(tmp_path, scheduled(schedule))
    with pytest.raises(ConfigError) as info:
        load_exchanges(path)
    message = str(info.value)
    assert message.startswith(f"{path}: exchanges/county_to_kela/schedule: {schedule!r}")
    assert words in message


def test_a_misspelt_preset_is_given_the_one_meant():
    assert "did you mean @daily?" in schedule_problem("@dayly")


@pytest.mark.parametrize(
    "schedule",
    [None, "@once", "@continuous", "@daily", "@quarterly", "30 3 * * 1-5", "*/15 * * * *"],
)
def test_what_airflow_takes_is_taken(tmp_path, schedule):
    config = load_exchanges(write(tmp_path, scheduled(schedule)))
    assert config.exchange("county_to_kela").schedule == schedule


@pytest.mark.airflow
@pytest.mark.parametrize(
    "schedule",
    [
        None,
        "@once",
        "@continuous",
        "@hourly",
        "@yearly",
        "@annually",
        "@midnight",
        "@reboot",
        "@dayly",
        "0 6 * * 1-5",
        "15 6 * * 1-8",
        "0 0 * * MON-FRI",
        "0 0 L * *",
        "0 0 * * 1#2",
        "0 0 * * * *",
        "* * * *",
        "H 0 * * *",
        "every day at six",
    ],
)
def test_the_hub_takes_exactly_the_schedules_airflow_takes(schedule):
    """Airflow's own construction and validation of a DAG's timetable is the judge (a
    DAG with one active run at most, as every exchange's)."""
    from airflow.sdk import DAG

    try:
        dag = DAG(dag_id="probe", schedule=schedule, max_active_runs=1, auto_register=False)
        dag.timetable.validate()
    except Exception:
        airflow_takes = False
    else:
        airflow_takes = True
    assert (schedule_problem(schedule) is None) == airflow_takes


def test_an_exchange_declared_twice_is_refused_with_the_line(tmp_path):
    text = SHIPPED.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    at = lines.index("exchanges:\n") + 1
    lines.insert(at, "  county_to_kela: {source: a, target: b}\n")  # PyYAML kept the last
    path = tmp_path / "exchanges.yaml"
    path.write_text("".join(lines), encoding="utf-8")
    again = lines.index("  county_to_kela:\n") + 1
    with pytest.raises(ConfigError) as info:
        load_exchanges(path)
    assert str(info.value).startswith(
        f"{path}:{again}: exchange 'county_to_kela' is declared twice (first on line {at + 1})"
    )


def test_a_key_given_twice_inside_an_exchange_is_refused(tmp_path):
    path = tmp_path / "exchanges.yaml"
    path.write_text(
        "version: 1\nsystems:\n  a: {base_url: 'http://x'}\nexchanges:\n  a_to_hub:\n"
        "    source: a\n    schedule: '@daily'\n    target: hub\n    schedule: null\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_exchanges(path)
    assert str(info.value).startswith(
        f"{path}:9: exchanges/a_to_hub: key 'schedule' is given twice (first on line 7)"
    )


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (
            lambda d: d["systems"]["kela_county"]["options"].update(xroad_clinet="x"),
            "systems/kela_county/options: unknown option 'xroad_clinet' (did you mean "
            "'xroad_client'?)",
        ),
        (
            lambda d: d["systems"]["employment_authority"]["options"].pop("xroad_client"),
            "systems/employment_authority/options: 'xroad_client' is a required property",
        ),
        (
            lambda d: d["systems"]["lapua"]["options"].update(municipality_codes=["408"]),
            "systems/lapua/options: give exactly one of municipality_codes",
        ),
        (
            lambda d: d["systems"]["kela_lapua"]["options"].update(max_paid_days_per_week=9),
            "systems/kela_lapua/options/max_paid_days_per_week: 9 is greater than the maximum",
        ),
        (
            lambda d: d["systems"]["innokyla"]["options"].update(api_key=""),
            "systems/innokyla/options/api_key",
        ),
    ],
)
def test_options_are_checked_against_the_schema_of_their_adapter(tmp_path, mutate, words):
    problems = check_against_adapters(load_exchanges(write(tmp_path, mutate)))
    assert any(words in p for p in problems), problems


def test_every_built_in_adapter_declares_its_options():
    from hub.plugins import adapter_registry

    registry = adapter_registry()
    connecting = [a for a in registry.values() if a.connects]
    assert {a.system_id for a in connecting} >= {"te_office", "municipal", "kela", "innokyla"}
    assert all(a.options_schema is not None and not a.problems() for a in connecting)


def _without(exchange: str, index: int, field: str):
    def mutate(d):
        d["exchanges"][exchange]["entities"][index]["fields"].remove(field)

    return mutate


@pytest.mark.parametrize(
    ("exchange", "field", "stream", "entity"),
    [
        (
            "county_to_employment_authority",
            "start_date",
            "employment_authority/period_notifications",
            "ServiceEpisode",
        ),
        ("county_to_kela", "week", "kela_county/attendance", "Attendance"),
        ("hub_to_innokyla", "code", "innokyla/indicators", "Indicator"),
    ],
)
def test_a_key_field_the_target_needs_must_be_sent(tmp_path, exchange, field, stream, entity):
    path = write(tmp_path, _without(exchange, 0, field))
    assert check_against_adapters(load_exchanges(path)) == [
        f"exchanges/{exchange}/entities/0/fields: {stream} needs {field} in every {entity} it "
        "takes, which the exchange does not send; add it to the allowed fields"
    ]


def test_the_case_systems_required_fields_are_its_keys(tmp_path):
    """The municipal adapter's required fields come from its XSD (the record types)."""
    from hub.plugins import get_adapter_class

    episodes = get_adapter_class("municipal").stream_class("service_episodes")
    assert "client_hetu" in episodes.requires


def _unknown_setting(d):
    d["exchanges"]["county_to_kela"]["shedule"] = "0 6 * * *"


def test_one_invalid_exchange_leaves_the_others_when_loaded_partially(tmp_path):
    path = write(tmp_path, _unknown_setting)
    with pytest.raises(ConfigError, match="county_to_kela: Additional properties"):
        load_exchanges(path)  # the engine and validate: the file is refused
    config = load_exchanges(path, partial=True)  # the DAG file: the others are built
    assert "county_to_kela" not in config.exchanges
    assert "county_to_employment_authority" in config.exchanges
    assert str(path) in config.invalid["county_to_kela"]
    with pytest.raises(ConfigError, match="'shedule' was unexpected"):
        config.exchange("county_to_kela")


def test_a_mistake_in_the_file_as_a_whole_is_refused_even_partially(tmp_path):
    path = write(tmp_path, lambda d: d["systems"]["lapua"].update(base_url="ftp://x"))
    with pytest.raises(ConfigError, match="systems/lapua/base_url"):
        load_exchanges(path, partial=True)


def test_validate_names_the_file_and_the_key(tmp_path, capsys):
    path = write(tmp_path, lambda d: d["systems"]["kela_county"]["options"].update(user="x"))
    assert main(["exchanges", "validate", "--file", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}: systems/kela_county/options: unknown option 'user'" in err

    path = write(tmp_path, scheduled("@dayly"))
    assert main(["exchanges", "validate", "--file", str(path)]) == 2
    assert f"{path}: exchanges/county_to_kela/schedule: '@dayly'" in capsys.readouterr().err
