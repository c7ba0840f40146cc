"""The hub command, as an administrator or a script uses it."""

import json

import pytest

from hub.cli import main
from hub.privacy import HETU_PATTERN


def test_exchanges_list_and_validate(capsys):
    assert main(["exchanges", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {x["name"] for x in listed} >= {
        "te_office_to_municipal",
        "municipal_to_te_office",
        "municipal_to_kela",
        "kela_to_municipal",
        "innokyla_to_hub",
        "hub_to_innokyla",
    }
    assert main(["exchanges", "validate"]) == 0
    assert "valid" in capsys.readouterr().out


def test_adapters_list(capsys):
    assert main(["adapters", "list"]) == 0
    out = capsys.readouterr().out
    assert all(system in out for system in ("te_office", "municipal", "kela", "innokyla"))


def test_unknown_exchange_is_a_clear_error(hub_env, capsys):
    assert main(["exchanges", "run", "nope"]) == 2
    assert "no exchange named 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_run_then_inspect_and_replay_failures(hub_env, capsys):
    assert main(["adapters", "check", "--json"]) == 0
    assert all(row["ok"] for row in json.loads(capsys.readouterr().out))
    hub_env.faults("municipal", reject_writes=True)
    assert main(["exchanges", "run", "te_office_to_municipal", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)[0]
    assert run["failed"] > 0

    assert main(["failures", "list", "--json", "--stage", "deliver", "--limit", "1000"]) == 0
    failures = json.loads(capsys.readouterr().out)
    assert main(["failures", "list", "--json", "--stage", "validate"]) == 0
    rule_breakers = json.loads(capsys.readouterr().out)  # the sandbox's 5-days-a-week periods
    assert rule_breakers
    assert len(failures) + len(rule_breakers) == run["failed"]
    assert main(["failures", "list", "--stage", "validate"]) == 0
    table = capsys.readouterr().out
    assert "days_per_week" in table and not HETU_PATTERN.search(table)

    rule_id = rule_breakers[0]["id"]
    assert main(["failures", "show", str(rule_id)]) == 0
    shown = capsys.readouterr().out
    assert "days_per_week" in shown and not HETU_PATTERN.search(shown)
    assert main(["failures", "show", str(rule_id), "--reveal"]) == 2
    assert "--reason" in capsys.readouterr().err

    hub_env.faults("municipal")
    ids = [str(f["id"]) for f in failures]
    assert main(["failures", "replay", *ids]) == 0
    capsys.readouterr()
    assert main(["failures", "list", "--json", "--stage", "deliver"]) == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_runs_resolve_and_users(hub_env, capsys, monkeypatch):
    import io

    hub_env.faults("municipal", reject_writes=True)
    assert main(["exchanges", "run", "te_office_to_municipal", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)[0]
    assert main(["runs", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["exchange"] == "te_office_to_municipal" and listed["failed"] == run["failed"]
    assert main(["runs", "show", listed["id"], "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {b["phase"] for b in shown["batches"]} == {"extract", "deliver"}
    assert sum(b["failed"] for b in shown["batches"]) == run["failed"]
    assert main(["runs", "list"]) == 0
    assert "te_office_to_municipal" in capsys.readouterr().out

    assert main(["failures", "list", "--json", "--class", "rule"]) == 0
    ids = [str(f["id"]) for f in json.loads(capsys.readouterr().out)]
    assert ids
    assert main(["failures", "resolve", *ids, "--note", "agreed with the employment area"]) == 0
    capsys.readouterr()
    assert main(["failures", "list", "--json", "--class", "rule"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["failures", "list", "--json", "--class", "rule", "--status", "resolved"]) == 0
    resolved = json.loads(capsys.readouterr().out)
    assert {str(f["id"]) for f in resolved} == set(ids)

    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["users", "add", "olli", "--role", "operator", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "ville", "--password-stdin"]) == 2
    assert "at least 12" in capsys.readouterr().err
    assert main(["users", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"name": "olli", "role": "operator"}]
