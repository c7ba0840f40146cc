"""A client's log extract (Act 703/2023 § 11) after real exchange runs: ``hub audit person``
writes an HTML document and a CSV whose rows are the store's log entries for that person and
no one else's, over the period asked; the extract and the reading of the logs are logged
themselves; only an auditor may make one; the identity code is asked, never an argument,
and never written out; the dashboard's ``/audit`` page does the same for auditors only."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from conftest import BOTH_STORES
from fastapi.testclient import TestClient
from sqlalchemy import select
from support.states import first_run_state

from hub.audit import extract
from hub.cli import main as cli
from hub.cli.common import actor as cli_actor
from hub.engine import Hub, run_exchange
from hub.privacy import HETU_PATTERN
from hub.store import audit, subjects, users
from hub.store import schema as t
from hub.synthetic import make_hetu, person
from hub.testing.fixtures import SANDBOX_SEED, SANDBOX_SIZE
from hub.web.app import create_app

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TOKEN = re.compile(r'name="token" value="([^"]+)"')
CONTROLLER = "Etelä-Pohjanmaan hyvinvointialue"
#: a valid code of nobody the sandboxes know (individual numbers 900-999 only)
STRANGER = make_hetu(dt.date(1950, 6, 15), 999)


@pytest.fixture
def hub(hub_env, monkeypatch):
    monkeypatch.setenv(extract.CONTROLLER_ENV, CONTROLLER)
    h = Hub.open()
    with h.store.transaction() as conn:
        users.set_user(conn, "aino", PASSWORD, "auditor")
        users.set_user(conn, "olli", PASSWORD, "operator")
        users.set_user(conn, "viivi", PASSWORD, "viewer")
    for name in ("county_to_employment_authority", "employment_authority_to_county"):
        summary = run_exchange(h, name)
        assert summary.state == first_run_state(name), f"{name}: {summary.error}"
    yield h
    h.close()


def _entries_of(conn, subject_id: int) -> Counter:
    """The store's log entries for one person, as the extract's CSV should show them."""
    e, al = t.access_events.c, t.access_log.c
    d, dl = t.disclosures.c, t.disclosure_log.c
    accesses = conn.execute(
        select(e.at, e.actor, e.action)
        .where(e.id.in_(select(al.event_id).where(al.subject_id == subject_id)))
        .order_by(e.id)
    ).all()
    disclosed = conn.execute(
        select(d.at, d.exchange, d.target_system)
        .where(d.id.in_(select(dl.disclosure_id).where(dl.subject_id == subject_id)))
        .order_by(d.id)
    ).all()
    return Counter(
        [("access", _iso(at), who, action, "") for at, who, action in accesses]
        + [("disclosure", _iso(at), f"exchange:{x}", "disclose", to) for at, x, to in disclosed]
    )


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(extract.ZONE).isoformat(timespec="seconds")


def _person_with_both(hub) -> tuple[str, int]:
    """A sandbox person whose data was both received and disclosed (and, so that the
    extract has others' entries to leave out, not the only one)."""
    with hub.store.transaction() as conn:
        disclosed = set(conn.execute(select(t.disclosure_log.c.subject_id)).scalars())
        read = set(conn.execute(select(t.access_log.c.subject_id)).scalars())
        found = [
            (p.hetu, sid)
            for i in range(SANDBOX_SIZE)
            if (sid := subjects.id_of(conn, hub.keys, (p := person(SANDBOX_SEED, i)).hetu))
            in disclosed & read
        ]
    assert len(found) > 1
    return found[0]


def _cli_extract(monkeypatch, code: str, out: Path, *args: str) -> tuple[int, list[Path]]:
    monkeypatch.setattr("sys.stdin", io.StringIO(code + "\n"))
    argv = ["audit", "person", "--auditor", "aino", "--stdin", "--out", str(out), *args]
    assert code not in " ".join(argv)
    status = cli(argv)
    return status, sorted(out.glob("lokiote-*"))


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _key(row: dict) -> tuple:
    return (row["kind"], row["at"], row["actor_or_exchange"], row["action"], row["recipient"])


@BOTH_STORES
def test_extract_shows_the_persons_log_entries_and_is_logged_itself(
    hub, monkeypatch, tmp_path, capsys
):
    code, subject_id = _person_with_both(hub)
    with hub.store.transaction() as conn:
        expected = _entries_of(conn, subject_id)
        everyone = conn.execute(select(t.access_events.c.id)).all()
    assert len(everyone) > sum(1 for k in expected if k[0] == "access")  # others' entries

    status, files = _cli_extract(monkeypatch, code, tmp_path / "first")
    assert status == 0
    printed = capsys.readouterr().out
    assert [f.suffix for f in files] == [".csv", ".html"]
    for f in files:
        assert f"written: {f}" in printed
        assert f.stat().st_mode & 0o077 == 0  # the owner's only
    assert code not in printed

    # the CSV: one row per access event or disclosure of this person, none of anyone else
    rows = _rows(files[0])
    assert list(rows[0]) == list(extract.CSV_COLUMNS)
    assert Counter(_key(r) for r in rows) == expected
    assert all(dt.datetime.fromisoformat(r["at"]).tzinfo is not None for r in rows)
    received = [r for r in rows if r["action"] == "receive"]
    assert received and all("189/2001" in r["legal_basis_or_purpose"] for r in received)
    sent = [r for r in rows if r["kind"] == "disclosure"]
    assert sent
    for r in sent:  # to the exchange's target, the fields its legal basis allows
        exchange = hub.config.exchange(r["actor_or_exchange"].removeprefix("exchange:"))
        assert r["recipient"] == exchange.target and r["outcome"] == "ok"
        assert r["legal_basis_or_purpose"] == exchange.legal_basis
        for kind in r["what"].split("; "):
            entity, fields = kind.removesuffix(")").split(" (")
            assert set(fields.split(", ")) <= set(exchange.flow(entity).fields)

    # the document: the controller, the period, both tables; the code only masked
    html = files[1].read_text(encoding="utf-8")
    assert CONTROLLER in html and extract.masked(code) in html
    today = dt.datetime.now(extract.ZONE).date()
    assert f"{today.day}.{today.month}.{today.year}" in html
    assert html.count("<tr>") == len(rows) + 2  # two header rows
    assert "Vastaanottaja" in html and "county_to_employment_authority" in html
    for f in files:
        text = f.read_text(encoding="utf-8")
        assert code not in text and not HETU_PATTERN.search(text)

    # the extract and the reading of the logs are in the access log, for this person ...
    me = f"{cli_actor()}/aino"
    with hub.store.transaction() as conn:
        e, al = t.access_events.c, t.access_log.c
        logged = conn.execute(
            select(e.action, e.actor, e.purpose)
            .join(t.access_log, al.event_id == e.id)
            .where(al.subject_id == subject_id, e.action.in_(["extract", "log_read"]))
        ).all()
    assert sorted(a for a, _, _ in logged) == ["extract", "log_read"]
    assert {who for _, who, _ in logged} == {me}
    assert all("703/2023 § 11" in purpose for _, _, purpose in logged)

    # ... so the next extract shows them
    status, again = _cli_extract(monkeypatch, code, tmp_path / "second")
    assert status == 0
    later = _rows(again[0])
    new = [r for r in later if _key(r) not in expected]
    assert sorted((r["action"], r["actor_or_exchange"], r["what"]) for r in new) == [
        ("extract", me, "log entries"),
        ("log_read", me, "log entries"),
    ]


def test_the_period_filter(hub, monkeypatch, tmp_path):
    code, subject_id = _person_with_both(hub)
    # a reading three years ago, logged through the store's own function under a clock
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=3 * 365)
    with monkeypatch.context() as clock, hub.store.transaction() as conn:
        clock.setattr("hub.store.audit.now", lambda: long_ago)
        old = [audit.Access(subject_id, None)]
        audit.log_access(conn, "dashboard:olli", "read", "an old reading", old)

    def purposes(folder: str, *args: str) -> list[str]:
        status, files = _cli_extract(monkeypatch, code, tmp_path / folder, *args)
        assert status == 0
        return [r["legal_basis_or_purpose"] for r in _rows(files[0])]

    recent = purposes("default")  # two years back: the old reading is left out
    assert recent and "an old reading" not in recent
    old_day = long_ago.astimezone(extract.ZONE).date()
    assert purposes("old", "--from", old_day.isoformat(), "--to", old_day.isoformat()) == [
        "an old reading"
    ]
    wide = purposes("all", "--from", old_day.isoformat())
    assert "an old reading" in wide and len(wide) > len(recent)
    yesterday = (dt.datetime.now(extract.ZONE) - dt.timedelta(days=1)).date()
    assert (
        purposes(
            "none",
            "--from",
            (old_day + dt.timedelta(days=1)).isoformat(),
            "--to",
            yesterday.isoformat(),
        )
        == []
    )


def test_only_an_auditor_reads_the_logs_and_bad_input_is_a_clear_error(
    hub, monkeypatch, tmp_path, capsys
):
    code, subject_id = _person_with_both(hub)
    out = tmp_path / "out"

    def refused(stdin: str, *argv: str) -> str:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin + "\n"))
        assert cli(["audit", "person", "--stdin", "--out", str(out), *argv]) == 2
        return capsys.readouterr().err

    assert "olli has the role operator; reading the logs needs the auditor role" in refused(
        code, "--auditor", "olli"
    )
    assert "nobody: no enabled user of that name" in refused(code, "--auditor", "nobody")
    bad = code[:-1] + ("A" if code[-1] != "A" else "B")  # wrong check character
    error = refused(bad, "--auditor", "aino")
    assert "identity code is refused" in error and "check" in error and bad not in error
    assert "lower case" in refused(code.lower(), "--auditor", "aino")
    assert "YYYY-MM-DD" in refused(code, "--auditor", "aino", "--from", "1.1.2024")
    assert "period is empty" in refused(code, "--auditor", "aino", "--from", "2999-01-01")
    assert "--format" in refused(code, "--auditor", "aino", "--format", "pdf")
    monkeypatch.delenv(extract.CONTROLLER_ENV)
    assert "name the controller" in refused(code, "--auditor", "aino")
    assert not out.exists()  # nothing written
    with hub.store.transaction() as conn:
        made = conn.execute(
            select(t.access_events.c.id).where(
                t.access_events.c.action.in_(["extract", "log_read"])
            )
        ).all()
    assert made == []  # and nothing read

    # the identity code is not taken as an argument
    with pytest.raises(SystemExit) as exc:
        cli(["audit", "person", "--auditor", "aino", code])
    assert exc.value.code == 2


def test_prompted_code_and_a_person_the_hub_does_not_know(hub, monkeypatch, tmp_path, capsys):
    asked = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or STRANGER)
    status = cli(
        [
            "audit",
            "person",
            "--auditor",
            "aino",
            "--out",
            str(tmp_path),
            "--format",
            "html",
            "--controller",
            "Seinäjoen kaupunki",
        ]
    )
    assert status == 0 and len(asked) == 1 and "identity code" in asked[0]
    assert "does not know this person" in capsys.readouterr().out
    (document,) = tmp_path.glob("*.html")
    html = document.read_text(encoding="utf-8")
    assert 'id="unknown"' in html and "Seinäjoen kaupunki" in html
    assert STRANGER not in html and extract.masked(STRANGER) in html
    with hub.store.transaction() as conn:  # the search is logged, though it found nobody
        logged = (
            conn.execute(
                select(t.access_events.c.action).where(t.access_events.c.actor.endswith("/aino"))
            )
            .scalars()
            .all()
        )
    assert sorted(logged) == ["extract", "log_read"]


# --- the dashboard -------------------------------------------------------------------------


def sign_in(app, name: str) -> TestClient:
    client = TestClient(app)
    token = CSRF.search(client.get("/login").text)[1]
    response = client.post("/login", data={"username": name, "password": PASSWORD, "csrf": token})
    assert response.status_code == 200 and name in response.text
    return client


def test_dashboard_extract_for_an_auditor_only(hub):
    code, subject_id = _person_with_both(hub)
    app = create_app(lambda: hub)
    with hub.store.transaction() as conn:
        expected = _entries_of(conn, subject_id)

    for name in ("olli", "viivi"):
        client = sign_in(app, name)
        assert client.get("/audit").status_code == 403
        token = CSRF.search(client.get("/").text)[1]
        assert client.post("/audit", data={"csrf": token, "code": code}).status_code == 403

    client = sign_in(app, "aino")
    page = client.get("/audit")
    assert page.status_code == 200 and 'name="code"' in page.text
    assert "/audit" in client.get("/").text  # the menu offers it
    token = CSRF.search(page.text)[1]
    assert client.post("/audit", data={"code": code}).status_code == 403  # no CSRF token

    bad = client.post("/audit", data={"csrf": token, "code": code[:-1] + "?"})
    assert bad.status_code == 400 and "identity code is refused" in bad.text
    assert code[:-1] not in bad.text

    shown = client.post("/audit", data={"csrf": token, "code": code, "controller": CONTROLLER})
    assert shown.status_code == 200 and str(shown.url).endswith("/audit")
    assert code not in shown.text and extract.masked(code) in shown.text
    assert shown.text.count("<tr>") == sum(expected.values()) + 2
    copy = TOKEN.search(shown.text)[1]

    csv_copy = client.post("/audit/download", data={"csrf": token, "token": copy, "fmt": "csv"})
    assert csv_copy.status_code == 200 and csv_copy.headers["content-type"].startswith("text/csv")
    assert "attachment;" in csv_copy.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(csv_copy.text)))
    assert Counter(_key(r) for r in rows) == expected  # the rows shown, not the reading since
    html_copy = client.post("/audit/download", data={"csrf": token, "token": copy, "fmt": "html"})
    assert html_copy.status_code == 200 and CONTROLLER in html_copy.text
    for text in (csv_copy.text, html_copy.text):
        assert code not in text and not HETU_PATTERN.search(text)

    # a copy token is this user's only
    other = sign_in(app, "aino")
    other_token = CSRF.search(other.get("/audit").text)[1]
    with hub.store.transaction() as conn:
        users.set_user(conn, "aapo", PASSWORD, "auditor")
    aapo = sign_in(app, "aapo")
    aapo_token = CSRF.search(aapo.get("/audit").text)[1]
    stolen = aapo.post("/audit/download", data={"csrf": aapo_token, "token": copy, "fmt": "csv"})
    assert stolen.status_code == 400
    assert (
        other.post(
            "/audit/download", data={"csrf": other_token, "token": copy, "fmt": "csv"}
        ).status_code
        == 200
    )

    with hub.store.transaction() as conn:
        e, al = t.access_events.c, t.access_log.c
        logged = Counter(
            conn.execute(
                select(e.action)
                .join(t.access_log, al.event_id == e.id)
                .where(al.subject_id == subject_id, e.actor == "dashboard:aino")
            ).scalars()
        )
    assert logged == {"extract": 1, "log_read": 4}  # made once; shown and copied thrice
