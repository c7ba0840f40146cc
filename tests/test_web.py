"""The dashboard over HTTP: sign-in, roles, CSRF, masking and the access log, replay and
resolve, paging and filters, metrics, and the app mounted into Airflow's API server."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hub.engine import Hub, run_exchange
from hub.privacy import HETU_PATTERN
from hub.store import deadletters, users
from hub.store import schema as t
from hub.web.app import create_app

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def hub(hub_env):
    h = Hub.open()
    with h.store.transaction() as conn:
        users.set_user(conn, "viivi", PASSWORD, "viewer")
        users.set_user(conn, "olli", PASSWORD, "operator")
    yield h
    h.close()


@pytest.fixture
def app(hub):
    return create_app(lambda: hub)


def sign_in(app, name: str) -> TestClient:
    client = TestClient(app)
    token = CSRF.search(client.get("/login").text)[1]
    response = client.post("/login", data={"username": name, "password": PASSWORD, "csrf": token})
    assert response.status_code == 200 and name in response.text
    return client


def csrf_of(client: TestClient, path: str) -> str:
    return CSRF.search(client.get(path).text)[1]


@pytest.fixture
def failed(hub, hub_env):
    """A run whose deliveries the county's case system refused: dead letters to look at."""
    hub_env.faults("county_case_system", reject_writes=True)
    summary = run_exchange(hub, "employment_authority_to_county")
    assert summary.failed > 0
    with hub.store.transaction() as conn:
        return deadletters.list_letters(conn, limit=1000)


def test_pages_need_a_sign_in(app):
    client = TestClient(app)
    for path in ("/", "/failures", "/failures/1", "/exchanges/employment_authority_to_county"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].endswith("/login")


def test_wrong_password_and_missing_csrf_are_refused(app):
    client = TestClient(app)
    token = CSRF.search(client.get("/login").text)[1]
    bad = client.post("/login", data={"username": "olli", "password": "nope", "csrf": token})
    assert bad.status_code == 401 and "Wrong name or password" in bad.text
    no_token = client.post("/login", data={"username": "olli", "password": PASSWORD})
    assert no_token.status_code == 403
    other = TestClient(app)  # a token from another session does not do either
    other.get("/login")
    stolen = other.post("/login", data={"username": "olli", "password": PASSWORD, "csrf": token})
    assert stolen.status_code == 403


def test_overview_shows_every_exchange_with_its_counts(app, failed):
    client = sign_in(app, "viivi")
    page = client.get("/").text
    for name in ("employment_authority_to_county", "county_to_kela", "hub_to_innokyla"):
        assert f'data-exchange="{name}"' in page
    row = page.split('data-exchange="employment_authority_to_county"')[1].split("</tr>")[0]
    assert f">{len(failed)}</a>" in row  # open dead letters
    assert "never-run" in page.split('data-exchange="county_to_kela"')[1].split("</tr>")[0]
    assert response_headers_are_strict(client.get("/"))


def response_headers_are_strict(response) -> bool:
    return (
        response.headers["x-frame-options"] == "SAMEORIGIN"
        and "frame-ancestors 'self'" in response.headers["content-security-policy"]
        and response.headers["cache-control"] == "no-store"
    )


def test_viewer_sees_masked_data_and_cannot_act(app, hub, failed):
    client = sign_in(app, "viivi")
    rule = next(f for f in failed if f.error_class == "rule")
    page = client.get(f"/failures/{rule.id}").text
    assert "days_per_week" in page and not HETU_PATTERN.search(page)
    assert "Replay" not in page and "Show unmasked" not in page
    token = csrf_of(client, f"/failures/{rule.id}")
    for path, data in (
        (f"/failures/{rule.id}/reveal", {"reason": "checking the identity code"}),
        (f"/failures/{rule.id}/replay", {}),
        (f"/failures/{rule.id}/resolve", {"note": "ok"}),
        ("/failures/replay", {"ids": [rule.id]}),
    ):
        assert client.post(path, data={**data, "csrf": token}).status_code == 403
    with hub.store.transaction() as conn:
        reads = conn.execute(
            select(t.access_events.c.action, t.access_events.c.actor).where(
                t.access_events.c.actor == "dashboard:viivi"
            )
        ).all()
    assert ("read", "dashboard:viivi") in reads


def test_operator_reveals_with_a_reason_written_to_the_access_log(app, hub, failed):
    client = sign_in(app, "olli")
    rule = next(f for f in failed if f.error_class == "rule")
    token = csrf_of(client, f"/failures/{rule.id}")
    short = client.post(f"/failures/{rule.id}/reveal", data={"reason": "x", "csrf": token})
    assert "State why you need" in short.text and not HETU_PATTERN.search(short.text)
    shown = client.post(
        f"/failures/{rule.id}/reveal",
        data={"reason": "client asked to correct the decision", "csrf": token},
    )
    assert HETU_PATTERN.search(shown.text) and "in the access log" in shown.text
    with hub.store.transaction() as conn:
        revealed = (
            conn.execute(
                select(t.access_events.c.purpose).where(t.access_events.c.action == "reveal")
            )
            .scalars()
            .all()
        )
    assert revealed == ["client asked to correct the decision"]
    forged = client.post(f"/failures/{rule.id}/reveal", data={"reason": "a good reason here"})
    assert forged.status_code == 403


def test_operator_replays_a_selection_and_resolves_with_a_note(app, hub, hub_env, failed):
    client = sign_in(app, "olli")
    delivery = [f.id for f in failed if f.stage == "deliver"][:5]
    hub_env.faults("county_case_system")  # the fault is fixed
    token = csrf_of(client, "/failures")
    page = client.post("/failures/replay", data={"ids": delivery, "csrf": token}).text
    assert "Replayed 5 of 5" in page
    again = client.post("/failures/replay", data={"ids": delivery, "csrf": token}).text
    assert "Replayed 5 of 5" in again  # idempotent: already replayed, nothing sent twice
    received = [r["idempotency_key"] for r in hub_env.received("county_case_system")]
    assert len(received) == len(set(received)) == 5
    rule = next(f for f in failed if f.error_class == "rule")
    page = client.post(
        f"/failures/{rule.id}/resolve", data={"note": "agreed by phone", "csrf": token}
    ).text
    assert "marked resolved" in page and "olli: agreed by phone" in page
    with hub.store.transaction() as conn:
        assert deadletters.get(conn, rule.id).status == "resolved"


def test_failures_are_filtered_and_paged(app, hub, failed):
    client = sign_in(app, "viivi")
    page = client.get("/failures").text
    assert f'id="total">{len(failed)}<' in page
    rules = client.get("/failures?error_class=rule").text
    ids = re.findall(r'data-id="(\d+)"', rules)
    assert len(ids) == sum(f.error_class == "rule" for f in failed)
    first = re.findall(r'data-id="(\d+)"', page)
    assert len(first) == min(50, len(failed))
    if len(failed) > 50:
        second = client.get(f"/failures?before={first[-1]}").text
        more = re.findall(r'data-id="(\d+)"', second)
        assert more and int(more[0]) < int(first[-1])
    assert client.get("/failures?since=2000-01-01&until=2000-01-02").text.count("data-id=") == 0
    assert client.get("/failures?since=yesterday").status_code == 400
    assert client.get("/failures?status=lost").status_code == 400
    # the edges of the calendar and of the stores' integers are bad requests, not errors
    for hostile in (
        "/failures?until=9999-12-31",
        "/failures?since=0001-01-01T00:00:00%2B05:00",
        f"/failures?before={2**64}",
        f"/failures/{2**64}",
        "/failures/0",
    ):
        assert client.get(hostile).status_code in (400, 422), hostile


def test_run_history_and_detail(app, failed):
    client = sign_in(app, "viivi")
    history = client.get("/exchanges/employment_authority_to_county").text
    run_link = re.search(r'href="(/runs/[^"]+)"', history)[1]
    detail = client.get(run_link).text
    assert "extract" in detail and "deliver" in detail and "service_periods" in detail
    assert client.get("/exchanges/nope").status_code == 404


def test_metrics_in_prometheus_text_format(app, failed, monkeypatch):
    from prometheus_client.parser import text_string_to_metric_families

    # protected by default: no token set, no one signed in
    assert TestClient(app).get("/metrics").status_code == 401
    client = sign_in(app, "olli")  # a signed-in user reads them
    text = client.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    open_letters = {
        s.labels["exchange"]: s.value for s in families["hub_dead_letters_open"].samples
    }
    assert open_letters["employment_authority_to_county"] == len(failed)
    runs = {
        (s.labels["exchange"], s.labels["state"]): s.value
        for s in families["hub_runs"].samples
        if s.name == "hub_runs_total"
    }
    assert runs[("employment_authority_to_county", "success_with_failures")] == 1
    assert "hub_outbox_pending" in families and "hub_exchange_stale" in families
    assert not HETU_PATTERN.search(text)
    monkeypatch.setenv("HUB_METRICS_TOKEN", "s3cret")  # a scraper sends the token
    scraper = TestClient(app)
    assert scraper.get("/metrics").status_code == 401
    assert scraper.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = scraper.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


@pytest.mark.airflow
def test_mounted_into_airflows_api_server_with_a_navigation_link(hub, airflow_home):
    from airflow.api_fastapi.app import create_app as airflow_app
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    client = TestClient(airflow_app(), follow_redirects=False)
    # no hub sign-in inside Airflow: Airflow's (tests/test_web_airflow.py has the roles)
    assert client.get("/hub/login").headers["location"].endswith("/hub/")
    admin = SimpleAuthManagerUser(username="admin", role="admin")
    client.cookies.set("_token", get_auth_manager().generate_jwt(admin))
    page = client.get("/hub/")
    assert page.status_code == 200 and "Exchanges" in page.text
    assert 'href="/hub/static/hub.css"' in page.text  # links follow the mount point
    from airflow import plugins_manager

    views = (
        plugins_manager.get_ui_plugins()[0]
        if hasattr(plugins_manager, "get_ui_plugins")
        else plugins_manager._get_ui_plugins()[0]
    )
    assert {
        "name": "Integration hub",
        "href": "hub/",
        "destination": "nav",
        "url_route": "integration-hub",
    } in views


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory):
    from test_airflow import airflow_home as make_home

    return make_home.__wrapped__(tmp_path_factory)


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_hundred_thousand_dead_letters_page_through_indexes(app, hub):
    """100 000 open dead letters: every listing the page makes is answered from an index
    (no full scan, no sort of the table), and the page shows 50 with the right total."""
    import datetime as dt

    from sqlalchemy import text

    stamp = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    rows = [
        {
            "exchange": ("employment_authority_to_county", "county_to_kela")[i % 2],
            "run_id": None,
            "stage": "deliver",
            "system": ("county_case_system", "kela_county")[i % 2],
            "stream": "s",
            "entity": "ServiceEpisode",
            "native_ref": f"x/{i}",
            "record_id": None,
            "error_class": ("permanent", "rule", "invalid")[i % 3],
            "field": None,
            "reason": f"synthetic failure {i}",
            "payload": None,
            "status": "open",
            "note": None,
            "created_at": stamp,
            "updated_at": stamp,
        }
        for i in range(100_000)
    ]
    with hub.store.transaction() as conn:
        conn.execute(t.dead_letters.insert(), rows)
    client = sign_in(app, "viivi")
    for query in ("", "?system=kela_county", "?error_class=rule", "?exchange=county_to_kela"):
        page = client.get(f"/failures{query}").text
        assert page.count("data-id=") == 50
    assert 'id="total">100000<' in client.get("/failures").text
    # the next page keeps the filter (the one DeadLetterFilter reads and writes back)
    page = client.get("/failures?system=kela_county&until=2026-11-01").text
    following = re.search(r'href="(/failures\?[^"]+)">Next page', page)[1].replace("&amp;", "&")
    assert "system=kela_county" in following and "until=2026-11-01" in following
    assert "status=open" in following
    more = client.get(following).text
    assert more.count("data-id=") == 50 and 'id="total">50000<' in more

    def plan(**filters) -> str:
        from sqlalchemy.dialects import sqlite

        query = select(t.dead_letters).order_by(t.dead_letters.c.id.desc()).limit(50)
        stmt = deadletters.DeadLetterFilter(**filters).apply(query)
        sql = str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
        with hub.store.transaction() as conn:
            return " ".join(r[-1] for r in conn.execute(text(f"EXPLAIN QUERY PLAN {sql}")))

    for filters in ({}, {"system": "kela_county"}, {"error_class": "rule"}, {"exchange": "x"}):
        found = plan(**filters)
        assert "USING INDEX" in found or "USING COVERING INDEX" in found, found
        assert "TEMP B-TREE" not in found, found  # no sort of the whole table


def test_an_operator_chooses_the_days_of_a_week_over_the_limit(app, hub, hub_env):
    """A week with more attended days than decided waits for an operator: the failed
    record's page offers its days, the operator ticks those to report, and they go to Kela;
    the run's and the exchange's pages show what the rules held back."""
    hub_env.control("county_case_system", "nightly", "POST")
    run_exchange(hub, "county_to_employment_authority")  # the county's decisions
    summary = run_exchange(hub, "county_to_kela")
    with hub.store.transaction() as conn:
        waiting = deadletters.list_letters(conn, exchange="county_to_kela", stage="disclose")
    letter = waiting[0]
    offer = deadletters.payload_of(hub.keys, letter)
    viewer = sign_in(app, "viivi")  # a viewer cannot choose
    assert 'id="choose"' not in viewer.get(f"/failures/{letter.id}").text
    client = sign_in(app, "olli")
    page = client.get(f"/failures/{letter.id}").text
    assert 'id="choose"' in page and all(f'value="{d}"' in page for d in offer["choices"])
    token = csrf_of(client, f"/failures/{letter.id}")
    too_many = offer["choices"][: offer["choose_at_most"] + 1]
    refused = client.post(f"/failures/{letter.id}/choose", data={"csrf": token, "chosen": too_many})
    assert f"Choose from 1 to {offer['choose_at_most']}" in refused.text
    before = len(hub_env.received("kela_county"))
    chosen = offer["choices"][: offer["choose_at_most"]]
    done = client.post(f"/failures/{letter.id}/choose", data={"csrf": token, "chosen": chosen})
    assert "queued for delivery with the items chosen" in done.text
    assert len(hub_env.received("kela_county")) == before + 1
    run_page = client.get(f"/runs/{summary.run_id}").text
    assert "Held back" in run_page and "ktt_only" in run_page
    assert "operator_correction" in client.get("/exchanges/county_to_kela").text


def test_the_dashboard_and_the_command_line_resolve_alike(app, hub, failed, capsys):
    """One service behind both: an identity code typed into a note is redacted whichever
    way the operator comes."""
    from hub.cli import main

    first, second = failed[0], failed[1]
    hetu = "010190-999W"
    client = sign_in(app, "olli")
    token = csrf_of(client, f"/failures/{first.id}")
    client.post(f"/failures/{first.id}/resolve", data={"note": f"phoned {hetu}", "csrf": token})
    assert main(["failures", "resolve", str(second.id), "--note", f"phoned {hetu}"]) == 0
    capsys.readouterr()
    with hub.store.transaction() as conn:
        notes = [deadletters.get(conn, x.id).note for x in (first, second)]
    assert all(n and "phoned" in n and hetu not in n for n in notes)
