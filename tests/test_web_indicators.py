"""The dashboard's indicator page (``/indicators``): what the next release to Innokylä would
publish, per practice model and period, with charts.

Rendering of given figures (a family built by hand: suppressed cells, changed cells, gaps in
a series), then the page over HTTP on a real hub whose store holds the sandboxes' records:
suppressed cells marked with their reasons, no identity code or name on the page, the
practice-model filter, the operator role, and the reading written to the access log."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from support.states import first_run_state
from test_web import PASSWORD, sign_in

from hub.engine import Hub, run_exchange
from hub.indicators.preview import REASONS, CellView, FamilyView
from hub.model import Suppression
from hub.privacy import HETU_PATTERN
from hub.store import schema as t
from hub.store import users
from hub.synthetic import FIRST_NAMES, LAST_NAMES, people
from hub.testing.fixtures import SANDBOX_SEED, SANDBOX_SIZE
from hub.web.app import create_app
from hub.web.charts import Chart, Series, nice_ticks
from hub.web.indicators import STATES, period_label, table

MODEL = "osku-tutkiva-tyotoiminta"


def cell(code, shown, *, category=None, town=None, suppression=None, changed=False):
    value = None if suppression else float(shown)
    reason = REASONS[suppression] if suppression else ""
    return CellView(code, category, town, shown, value, "", suppression, reason, changed)


def family(cells, *, state="new", start=dt.date(2026, 4, 1)) -> FamilyView:
    end = dt.date(2026, 6, 30) if start.month == 4 else dt.date(2026, 3, 31)
    return FamilyView(MODEL, start, end, "main", state, "to be published", None, tuple(cells))


def test_a_familys_table_marks_suppressed_and_changed_cells_with_their_reasons():
    f = family(
        [
            cell("transitions", "x", category="education", suppression=Suppression.SECONDARY),
            cell("participants", "12"),
            cell("participants", "x", town="408", suppression=Suppression.SMALL_COUNT),
            cell("participants", "8", town="743", changed=True),
            cell("transitions", "x", category="employment", suppression=Suppression.SMALL_COUNT),
            cell("attendance_rate", "x", suppression=Suppression.SMALL_PART),
        ]
    )
    got = table(f)
    assert got.period == "2026 Q2"
    assert got.columns == ["All municipalities", "Lapua (408)", "Seinäjoki (743)"]
    # rows in the order of the indicator codes, categories in the order of their list
    assert [(r.code, r.category) for r in got.rows] == [
        ("participants", None),
        ("attendance_rate", None),
        ("transitions", "employment"),
        ("transitions", "education"),
    ]
    participants = got.rows[0].cells
    assert [c.shown for c in participants] == ["12", "x", "8"]
    assert participants[1].suppressed and participants[1].reason == REASONS["small_count"]
    assert participants[2].changed and not participants[0].changed
    assert got.rows[1].cells[1].shown == "–"  # no figure for that municipality
    # one footnote per distinct reason; each suppressed cell points at its own
    assert [(shown, why) for _, shown, why in got.notes] == [
        ("x", REASONS["small_count"]),
        ("x", REASONS["small_part"]),
        ("x", REASONS["secondary"]),
    ]
    notes = {n: why for n, _, why in got.notes}
    for row in got.rows:
        for c in row.cells:
            assert (c.note is not None) == c.suppressed
            if c.suppressed:
                assert notes[c.note] == c.reason
    assert got.changed == 1


def test_period_labels():
    assert period_label(dt.date(2026, 10, 1), dt.date(2026, 12, 31)) == "2026 Q4"
    assert period_label(dt.date(2026, 7, 1), dt.date(2026, 12, 31)) == "2026 H2"
    assert period_label(dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == "2026"
    assert period_label(dt.date(2026, 1, 15), dt.date(2026, 2, 14)) == "2026-01-15 – 2026-02-14"


def test_ticks_are_round_and_cover_the_range():
    assert nice_ticks(0, 100) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(-1, 1.3) == [-1, -0.5, 0, 0.5, 1, 1.5]
    ticks = nice_ticks(0, 7)
    assert ticks[0] <= 0 and ticks[-1] >= 7 and len(ticks) <= 10


def test_a_line_chart_breaks_at_suppressed_periods_and_says_so_in_words():
    periods = ["2026 Q1", "2026 Q2", "2026 Q3", "2026 Q4"]
    chart = Chart(
        "c1",
        "Attendance rate",
        MODEL,
        "attendance rate, %",
        periods,
        [Series("attendance rate", [80.0, None, 75.5, 90.0], ["80", "x", "75.5", "90"])],
        y_span=(0, 100),
        x_label="quarter",
    )
    svg = str(chart.svg())
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert 'aria-labelledby="c1-title c1-desc"' in svg
    assert f'<title id="c1-title">Attendance rate, {MODEL}</title>' in svg
    assert "Not published (suppressed): 2026 Q2 (attendance rate)" in svg
    # the line is drawn only between published neighbours: Q3–Q4, not across Q2
    lines = re.findall(r'<polyline points="([^"]+)"', svg)
    assert len(lines) == 1 and len(lines[0].split()) == 2
    assert svg.count("<circle") == 3  # Q1 stands alone, as a point
    # the gap: a shaded band and the published mark under the axis, explained in its title
    assert svg.count('class="gap-band"') == 2  # the band and its legend swatch
    marker = re.search(r'<text class="gap-marker"[^>]*>(.*?)<title>(.*?)</title>', svg)
    assert marker[1] == "x" and "2026 Q2: not published" in marker[2]
    for axis in ("attendance rate, %", "2026 Q1", "2026 Q4", ">100<", ">0<"):
        assert axis in svg
    assert "<script" not in svg and "style=" not in svg  # the CSP allows neither
    assert chart.rows()[1] == ("2026 Q2", ["x"])


def test_stacked_bars_leave_a_suppressed_category_out_and_mark_it():
    chart = Chart(
        "c2",
        "Transitions",
        "",
        "people",
        ["2026 Q1", "2026 Q2", "2026 Q3"],
        [
            Series("open labour market", [6.0, None, 0.0], ["6", "x", "0"]),
            Series("training", [9.0, 5.0, 0.0], ["9", "5", "0"]),
        ],
        stacked=True,
    )
    svg = str(chart.svg())
    bars = re.findall(r'<rect class="bar s(\d)" x="[^"]+" y="([^"]+)"[^>]*height="([^"]+)"', svg)
    assert len(bars) == 3 + 2  # three bars, two legend swatches
    q1 = [b for b in bars[:3] if b[0] in "01"][:2]
    assert float(q1[0][1]) > float(q1[1][1])  # stacked: training above open labour market
    assert "2026 Q2: not published (suppressed): open labour market (x)" in svg
    assert svg.count('class="gap-band"') == 1  # Q2 is not empty: only the legend's swatch
    assert "2026 Q3: no one" in svg  # zero people moved: a 0, not an empty slot
    assert '<title id="c2-title">Transitions</title>' in svg


# --- the page over HTTP, on a hub holding the sandboxes' records ---------------------------


@pytest.fixture
def hub(hub_env):
    h = Hub.open()
    with h.store.transaction() as conn:
        for name, role in (("olli", "operator"), ("viivi", "viewer"), ("aino", "auditor")):
            users.set_user(conn, name, PASSWORD, role)
    run_exchange(h, "innokyla_to_hub")
    hub_env.control("county_case_system", "nightly", "POST")
    for name in ("county_to_employment_authority", "county_to_kela", "county_to_hub"):
        summary = run_exchange(h, name)
        assert summary.state == first_run_state(name), f"{name}: {summary.error}"
    yield h
    h.close()


@pytest.fixture
def app(hub):
    return create_app(lambda: hub)


def test_the_page_shows_every_models_figures_without_anyone_in_them(app, hub):
    client = sign_in(app, "olli")
    assert 'href="/indicators"' in client.get("/").text  # in the navigation
    response = client.get("/indicators")
    assert response.status_code == 200
    page = response.text
    models = re.findall(r'<section class="model" id="model-([a-z0-9-]+)"', page)
    assert models and MODEL in models
    # every family has a state and a table of figures; the tables have the figures' rows
    assert page.count('<details class="family"') >= len(models)
    states = re.findall(r'<details class="family" [^>]*data-state="([a-z_]+)"', page)
    assert set(states) <= set(STATES) and "new" in states  # nothing released yet
    assert 'data-code="participants"' in page and 'data-code="transitions"' in page
    # the charts: inline SVG with a title and a description, and a table of the same figures
    for kind in ("attendance", "kykyviisari", "transitions"):
        assert f'id="chart-{MODEL}-{kind}"' in page
    assert page.count("<svg") == page.count('class="chart-data"') >= 2 * len(models)
    # suppressed cells: the mark, its reason as a tooltip and as a numbered footnote
    suppressed = re.findall(
        r'<td class="num suppressed[^"]*" title="([^"]+)" aria-describedby="([^"]+)">'
        r'.*?<span class="mark">(x)</span><sup><a href="#([^"]+)">',
        page,
    )
    assert suppressed, "the sandboxes' small groups give suppressed cells"
    for reason, note, _mark, link in suppressed:
        assert note == link and reason in REASONS.values()
        footnote = re.search(rf'<li id="{re.escape(note)}"[^>]*>(.*?)</li>', page)
        assert footnote and reason in footnote[1]
    # aggregates only: no identity code, no name of the synthetic people
    assert not HETU_PATTERN.search(page)
    for person in people(SANDBOX_SEED, SANDBOX_SIZE):
        assert person.hetu not in page
    names = re.compile(r"\b(" + "|".join(FIRST_NAMES + LAST_NAMES) + r")\b")
    assert not names.search(re.sub(r"<[^>]+>", " ", page))
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert "<script" not in page and "style=" not in page


def test_the_filter_shows_one_practice_model(app):
    client = sign_in(app, "olli")
    page = client.get(f"/indicators?model={MODEL}").text
    assert re.findall(r'<section class="model" id="model-([a-z0-9-]+)"', page) == [MODEL]
    assert f'<option value="{MODEL}" selected>' in page
    assert 'id="chart-osku-osallistava-tyotoiminta-attendance"' not in page
    assert client.get("/indicators?model=no-such-model").status_code == 400


def test_without_an_exchange_publishing_indicators_the_page_says_so(hub_env, tmp_path, monkeypatch):
    from hub.settings import DEFAULT_EXCHANGES

    text = DEFAULT_EXCHANGES.path().read_text(encoding="utf-8")
    start = text.index("\n  hub_to_innokyla:")
    end = text.index("\n# How the indicators")
    trimmed = tmp_path / "exchanges.yaml"
    trimmed.write_text(text[:start] + "\n" + text[end:], encoding="utf-8")
    monkeypatch.setenv("HUB_EXCHANGES", str(trimmed))
    h = Hub.open()
    try:
        with h.store.transaction() as conn:
            users.set_user(conn, "olli", PASSWORD, "operator")
        response = sign_in(create_app(lambda: h), "olli").get("/indicators")
    finally:
        h.close()
    assert response.status_code == 404
    assert "no exchange publishes indicators" in response.text and "<svg" not in response.text


def test_only_operators_see_it_and_the_reading_is_in_the_access_log(app, hub):
    assert TestClient(app).get("/indicators", follow_redirects=False).status_code == 303
    for name in ("viivi", "aino"):
        client = sign_in(app, name)
        assert client.get("/indicators").status_code == 403
        assert 'href="/indicators"' not in client.get("/").text
    sign_in(app, "olli").get("/indicators")
    with hub.store.transaction() as conn:
        actors = set(
            conn.execute(
                select(t.access_events.c.actor).where(t.access_events.c.actor.like("dashboard:%"))
            )
            .scalars()
            .all()
        )
    assert actors == {"dashboard:olli"}
