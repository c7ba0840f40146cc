"""The replay lifecycle as an operator reads it: a replay that fails again leaves the old dead
letter superseded and naming its successor (CLI and dashboard), the payload to correct is
exported in exactly the form a replay takes, and the ``failures`` and ``runs`` commands fit
a terminal, take run ids by unique prefix and print times with their zone."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import stat

import pytest
from conftest import BOTH_STORES
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.cli import main
from hub.engine import Hub, run_exchange
from hub.privacy import HETU_PATTERN
from hub.store import deadletters, users
from hub.store import schema as t
from hub.web.app import create_app

EXCHANGE = "employment_authority_to_county"
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
REASON = "correcting the days of a KTT period"


@pytest.fixture
def hub(hub_env):
    h = Hub.open()
    yield h
    h.close()


def cli_json(capsys, *argv: str):
    main([*argv, "--json"])
    return json.loads(capsys.readouterr().out)


def rule_breakers(capsys) -> list[dict]:
    """The sandbox's KTT periods of five days a week: dead letters at the validate step."""
    found = cli_json(capsys, "failures", "list", "--stage", "validate", "--class", "rule")
    assert found, "the sandbox's rule breakers must be dead letters"
    return found


@BOTH_STORES
def test_a_replay_that_fails_again_is_superseded_by_the_new_letter(hub, hub_env, capsys):
    run_exchange(hub, EXCHANGE)
    old = rule_breakers(capsys)[0]["id"]

    # replayed as it is, the period breaks the same rule again
    assert main(["failures", "replay", str(old), "--json"]) == 1
    [result] = json.loads(capsys.readouterr().out)
    successor = int(re.search(r"failed again as #(\d+)", result["detail"])[1])
    assert successor > old and result["ok"] is False

    superseded = cli_json(capsys, "failures", "list", "--status", "superseded")
    assert [(r["id"], r["successor"]) for r in superseded] == [(old, successor)]
    still_open = {r["id"] for r in cli_json(capsys, "failures", "list", "--limit", "1000")}
    assert successor in still_open and old not in still_open

    assert main(["failures", "show", str(old)]) == 0
    out, err = capsys.readouterr()
    shown = json.loads(out)
    assert (shown["status"], shown["superseded_by"]) == ("superseded", successor)
    assert f"failed again as #{successor}" in err
    assert shown["created_at"].endswith(" UTC")

    # the old letter is not "resolved; nothing to do": it names the one to replay
    assert main(["failures", "replay", str(old)]) == 1
    assert f"superseded by #{successor}; replay that one" in capsys.readouterr().out
    # ... the latest of a chain
    assert main(["failures", "replay", str(successor), "--json"]) == 1
    third = int(re.search(r"#(\d+)", json.loads(capsys.readouterr().out)[0]["detail"])[1])
    assert main(["failures", "replay", str(old), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)[0]["detail"] == (
        f"superseded by #{third}; replay that one"
    )


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_delivery_replayed_into_a_refusing_target_is_superseded(hub, hub_env, capsys):
    hub_env.faults("county_case_system", reject_writes=True)
    run_exchange(hub, EXCHANGE)
    old = cli_json(capsys, "failures", "list", "--stage", "deliver")[0]["id"]

    # the target still refuses: the replay's own delivery fails again
    assert main(["failures", "replay", str(old), "--json"]) == 1
    details = [r["detail"] for r in json.loads(capsys.readouterr().out)]
    successor = int(re.search(r"superseded by #(\d+); replay that one", details[0])[1])
    with hub.store.transaction() as conn:
        row, new = deadletters.get(conn, old), deadletters.get(conn, successor)
    assert (row.status, row.successor_id) == (deadletters.SUPERSEDED, successor)
    assert (new.status, new.stage, new.native_ref) == (deadletters.OPEN, "deliver", row.native_ref)

    # fixed: the successor goes through, and is the only one left replayed
    hub_env.faults("county_case_system")
    before = len(hub_env.received("county_case_system"))
    assert main(["failures", "replay", str(successor)]) == 0
    capsys.readouterr()
    assert len(hub_env.received("county_case_system")) == before + 1
    with hub.store.transaction() as conn:
        assert deadletters.get(conn, successor).status == deadletters.REPLAYED
        assert deadletters.get(conn, old).status == deadletters.SUPERSEDED


@BOTH_STORES
def test_export_writes_what_replay_payload_takes(hub, hub_env, capsys, tmp_path):
    run_exchange(hub, EXCHANGE)
    letter = next(r for r in rule_breakers(capsys) if r["field"] == "days_per_week")["id"]
    exported = tmp_path / "period.json"

    # exporting reveals personal data: a reason is needed, and it is logged as a reveal
    with pytest.raises(SystemExit):
        main(["failures", "export", str(letter), "--output", str(exported)])
    capsys.readouterr()
    assert main(["failures", "export", str(letter), "--reason", "x"]) == 2
    assert "10 characters at least" in capsys.readouterr().err
    assert (
        main(["failures", "export", str(letter), "--output", str(exported), "--reason", REASON])
        == 0
    )
    assert f"--payload {exported}" in capsys.readouterr().err
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600
    payload = json.loads(exported.read_text(encoding="utf-8"))
    assert payload["daysPerWeek"] in (5, "5") and HETU_PATTERN.search(json.dumps(payload))
    with hub.store.transaction() as conn:
        logged = conn.execute(
            select(
                t.access_events.c.actor, t.access_events.c.action, t.access_events.c.purpose
            ).where(t.access_events.c.purpose.like(f"export of dead letter {letter} %"))
        ).all()
    assert [(a, p) for _, a, p in logged] == [
        ("reveal", f"export of dead letter {letter} for correction: {REASON}")
    ]
    assert main(["failures", "export", str(letter), "--reason", REASON]) == 0  # to stdout
    assert json.loads(capsys.readouterr().out) == payload

    # edit a field, replay with the file: stored and delivered as corrected
    exported.write_text(json.dumps({**payload, "daysPerWeek": 3}), encoding="utf-8")
    before = len(hub_env.received("county_case_system"))
    assert main(["failures", "replay", str(letter), "--payload", str(exported)]) == 0
    capsys.readouterr()
    delivered = hub_env.received("county_case_system")
    assert len(delivered) == before + 1 and delivered[-1]["daysPerWeek"] == "3"
    with hub.store.transaction() as conn:
        assert deadletters.get(conn, letter).status == deadletters.REPLAYED


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_failed_delivery_has_no_payload_to_export_or_give(hub, hub_env, capsys, tmp_path):
    hub_env.faults("county_case_system", reject_writes=True)
    run_exchange(hub, EXCHANGE)
    letter = cli_json(capsys, "failures", "list", "--stage", "deliver")[0]["id"]
    assert main(["failures", "export", str(letter), "--reason", REASON]) == 2
    assert "takes no payload" in capsys.readouterr().err
    given = tmp_path / "any.json"
    given.write_text("{}", encoding="utf-8")
    assert main(["failures", "replay", str(letter), "--payload", str(given), "--json"]) == 1
    assert "without a payload" in json.loads(capsys.readouterr().out)[0]["detail"]
    given.write_text("{not json", encoding="utf-8")
    assert main(["failures", "replay", str(letter), "--payload", str(given)]) == 2
    assert f"--payload {given}: not JSON" in capsys.readouterr().err
    with hub.store.transaction() as conn:
        assert deadletters.get(conn, letter).status == deadletters.OPEN  # left as it was


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("columns", [80, 120])
def test_failures_list_fits_the_terminal_and_wide_shows_every_column(
    hub, hub_env, capsys, monkeypatch, columns
):
    hub_env.faults("county_case_system", reject_writes=True)
    run_exchange(hub, EXCHANGE)
    monkeypatch.setenv("COLUMNS", str(columns))
    assert main(["failures", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 10 and max(len(line) for line in lines) <= columns
    header = lines[0].split()
    assert header == ["id", "exchange", "stage", "class", "status", "at", "reason"]
    assert all(line.count("UTC") == 1 for line in lines[2:])  # one line a record, zone shown
    monkeypatch.delenv("COLUMNS")  # piped: every column unfolded
    assert main(["failures", "list", "--wide"]) == 0
    wide = capsys.readouterr().out
    assert all(h in wide.splitlines()[0] for h in ("system", "stream", "record", "successor"))
    assert not HETU_PATTERN.search(wide)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_runs_are_found_by_a_unique_prefix_of_their_id(hub, hub_env, capsys):
    stamp = dt.datetime(2026, 3, 2, 6, 15, 2, tzinfo=dt.UTC)
    ids = ["3f2a0000-0000-4000-8000-000000000001", "3f2b0000-0000-4000-8000-000000000002"]
    with hub.store.transaction() as conn:
        for run_id in ids:
            conn.execute(
                t.runs.insert().values(
                    id=run_id,
                    exchange=EXCHANGE,
                    external_id=f"manual__{run_id}",
                    state="success",
                    started_at=stamp,
                    finished_at=stamp + dt.timedelta(seconds=5),
                )
            )
    assert main(["runs", "list"]) == 0
    listed = capsys.readouterr().out
    assert "3f2a0000 " in listed and ids[0] not in listed  # the short id is enough
    assert "2026-03-02 06:15:02 UTC" in listed
    assert main(["runs", "list", "--wide"]) == 0
    assert ids[0] in capsys.readouterr().out

    assert main(["runs", "show", "3F2A"]) == 0
    shown = capsys.readouterr().out
    assert ids[0] in shown and "finished: 2026-03-02 06:15:07 UTC" in shown
    assert cli_json(capsys, "runs", "show", ids[1])["id"] == ids[1]
    assert main(["runs", "show", "3f2"]) == 2
    err = capsys.readouterr().err
    assert "run id '3f2' is ambiguous" in err and ids[0] in err and ids[1] in err
    assert main(["runs", "show", "ffff"]) == 2
    assert "no run with an id starting 'ffff'" in capsys.readouterr().err
    assert main(["runs", "show", "3f2a%"]) == 2
    assert "hexadecimal digits and dashes" in capsys.readouterr().err


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_dashboard_links_a_superseded_letter_to_its_successor(hub, hub_env):
    with hub.store.transaction() as conn:
        users.set_user(conn, "viivi", PASSWORD, "viewer")
    run_exchange(hub, EXCHANGE)
    with hub.store.transaction() as conn:
        old = deadletters.list_letters(conn, stage="validate", limit=1)[0].id
    from hub.engine import replay

    [result] = replay(hub, [old], actor="test")
    successor = int(re.search(r"#(\d+)", result.detail)[1])

    client = TestClient(create_app(lambda: hub))
    token = CSRF.search(client.get("/login").text)[1]
    client.post("/login", data={"username": "viivi", "password": PASSWORD, "csrf": token})
    page = client.get(f"/failures/{old}").text
    link = f'href="/failures/{successor}"'
    assert 'class="state degraded">superseded<' in page and page.count(link) == 2
    assert f"act on <a {link}>#{successor}</a>" in page
    listed = client.get("/failures", params={"status": "superseded"}).text
    assert f"superseded by <a {link}>#{successor}</a>" in listed
    assert 'class="state ok">open' not in client.get(f"/failures/{successor}").text


def sign_in(app, name: str) -> TestClient:
    client = TestClient(app)
    token = CSRF.search(client.get("/login").text)[1]
    client.post("/login", data={"username": name, "password": PASSWORD, "csrf": token})
    return client


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_an_operator_corrects_a_payload_on_the_dashboard_and_replays_it(hub, hub_env):
    with hub.store.transaction() as conn:
        users.set_user(conn, "olli", PASSWORD, "operator")
        users.set_user(conn, "viivi", PASSWORD, "viewer")
    run_exchange(hub, EXCHANGE)
    with hub.store.transaction() as conn:
        letter = deadletters.list_letters(conn, stage="validate", error_class="rule")[0].id
    app = create_app(lambda: hub)
    olli, viivi = sign_in(app, "olli"), sign_in(app, "viivi")
    path = f"/failures/{letter}"

    assert 'id="correct"' not in olli.get(path).text  # masked: nothing to correct yet
    token = CSRF.search(olli.get(path).text)[1]
    page = olli.post(f"{path}/reveal", data={"csrf": token, "reason": REASON}).text
    shown = re.search(r'<textarea name="payload"[^>]*>(.*?)</textarea>', page, re.S)[1]
    payload = json.loads(html.unescape(shown))
    assert payload["daysPerWeek"] in (5, "5")

    # a viewer may not; nor may a form without its token; nor text that is not JSON
    assert viivi.post(f"{path}/correct", data={"csrf": token, "payload": "{}"}).status_code == 403
    assert olli.post(f"{path}/correct", data={"payload": "{}"}).status_code == 403
    refused = olli.post(f"{path}/correct", data={"csrf": token, "payload": "{days"}).text
    assert "Not replayed: the corrected payload is not JSON" in refused

    before = len(hub_env.received("county_case_system"))
    fixed = json.dumps({**payload, "daysPerWeek": 3})
    done = olli.post(f"{path}/correct", data={"csrf": token, "payload": fixed}).text
    assert "stored and queued for delivery" in done
    delivered = hub_env.received("county_case_system")
    assert len(delivered) == before + 1 and delivered[-1]["daysPerWeek"] == "3"
    with hub.store.transaction() as conn:
        assert deadletters.get(conn, letter).status == deadletters.REPLAYED
        purposes = list(
            conn.execute(
                select(t.access_events.c.purpose).where(
                    t.access_events.c.actor == "dashboard:olli",
                    t.access_events.c.action == "reveal",
                )
            ).scalars()
        )
    assert f"correction of dead letter {letter}: changed daysPerWeek" in purposes
