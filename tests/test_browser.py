"""The dashboard in a real headless browser (Debian's chromium driven by Playwright), over
real HTTP: sign in, see a record that failed because a sandbox fault was on, switch the fault
off, replay it, see it delivered and the count drop; after a run of every exchange of the
demo, preview the indicators for Innokylä (charts and tables). Every page is saved as a
screenshot in tests/artifacts/screenshots/."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from support.states import first_run_state

from hub import sandbox as sb
from hub.engine import Hub, run_exchange
from hub.privacy import HETU_PATTERN
from hub.store import users
from hub.web.app import create_app

SHOTS = Path(__file__).parent / "artifacts" / "screenshots"
PASSWORD = "correct horse battery staple"
CHROMIUM = os.environ.get("HUB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (make test installs it)",
)


@pytest.fixture
def dashboard(hub_env):
    hub = Hub.open()
    with hub.store.transaction() as conn:
        users.set_user(conn, "olli", PASSWORD, "operator")
    spec = sb.Sandbox("dashboard", "dashboard", lambda **_: None, 0)
    server = sb.RunningSandbox(spec, create_app(lambda: hub), "127.0.0.1", sb.free_port())
    server.start()
    yield hub, server.url
    server.stop()
    hub.close()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert not HETU_PATTERN.search(page.content()), f"an identity code on {name}"


def open_letters(page, exchange: str) -> int:
    row = page.locator(f'tr[data-exchange="{exchange}"]')
    return int(row.locator("a.open-letters").inner_text())


def test_sign_in_find_a_failure_fix_the_fault_and_replay(dashboard, page, hub_env):
    hub, url = dashboard
    hub_env.faults("county_case_system", reject_writes=True)  # the case system refuses everything
    run = run_exchange(hub, "employment_authority_to_county")
    assert run.failed > 0

    page.goto(f"{url}/")
    assert page.url.endswith("/login")
    shot(page, "01-sign-in")
    page.fill("input[name=username]", "olli")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Exchanges")
    before = open_letters(page, "employment_authority_to_county")
    assert before == run.failed
    shot(page, "02-overview")

    page.click('tr[data-exchange="employment_authority_to_county"] a.open-letters')
    page.wait_for_selector("h1:has-text('Failed records')")
    page.select_option("select[name=error_class]", "permanent")
    page.click("button:has-text('Filter')")
    shot(page, "03-failed-records")
    first = page.locator("tbody tr[data-id]").first
    letter = first.get_attribute("data-id")
    assert "the case system refused" in first.inner_text()
    first.locator("a").first.click()
    page.wait_for_selector("#reason")
    assert "deliver" in page.inner_text("dl")
    shot(page, "04-failed-record")

    hub_env.faults("county_case_system")  # the fault is switched off
    page.click("#replay")
    page.wait_for_selector("[role=status]")
    assert "queued for delivery again" in page.inner_text("[role=status]")
    assert "replayed" in page.inner_text("h1")
    shot(page, "05-replayed")
    delivered = [r for r in hub_env.received("county_case_system")]
    assert len(delivered) == 1

    page.click("header >> text=Exchanges")
    page.wait_for_selector('tr[data-exchange="employment_authority_to_county"]')
    assert open_letters(page, "employment_authority_to_county") == before - 1

    page.click('tr[data-exchange="employment_authority_to_county"] td:first-child a')
    page.wait_for_selector("h1:has-text('employment_authority_to_county')")
    shot(page, "06-run-history")
    page.locator("tbody tr a").first.click()
    page.wait_for_selector("h2:has-text('Batches')")
    assert re.search(r"extract\s+service_periods", page.inner_text("table"))
    shot(page, "07-run")
    assert letter


def test_a_viewer_sees_no_actions_and_masked_payloads(dashboard, page, hub_env):
    hub, url = dashboard
    with hub.store.transaction() as conn:
        users.set_user(conn, "viivi", PASSWORD, "viewer")
    run_exchange(hub, "employment_authority_to_county")  # the sandbox's rule breakers fail
    page.goto(f"{url}/login")
    page.fill("input[name=username]", "viivi")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{url}/failures?error_class=rule")
    page.locator("tbody tr[data-id] a").first.click()
    page.wait_for_selector("#payload")
    assert page.locator("#replay").count() == 0
    assert page.locator("text=Show unmasked").count() == 0
    assert "***" in page.inner_text("#payload")
    shot(page, "08-viewer-masked")


def test_an_operator_previews_the_indicators_after_a_demo_run(dashboard, page, hub_env):
    """Every exchange of the demo, in its order (the case system's nightly export after the
    referrals), Innokylä's release among them; then the indicator page: the charts and the
    tables of what the next release would publish, suppressed cells marked."""
    from hub.demo import CASE_SYSTEM, NIGHTLY_AFTER, ORDER

    hub, url = dashboard
    for name in ORDER:
        summary = run_exchange(hub, name)
        assert summary.state == first_run_state(name), f"{name}: {summary.error}"
        if name == NIGHTLY_AFTER:
            hub_env.control(CASE_SYSTEM, "nightly", "POST")

    page.goto(f"{url}/login")
    page.fill("input[name=username]", "olli")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click("header >> text=Indicators")
    page.wait_for_selector("h1:has-text('Indicators for Innokylä')")
    charts = page.locator("figure.chart svg")
    assert charts.count() >= 3
    first = charts.first
    assert first.is_visible() and first.bounding_box()["height"] > 150
    assert first.locator("> title").text_content() and first.locator("> desc").text_content()
    assert charts.locator("circle, rect.bar").count() > 0  # points and bars drawn
    tables = page.locator("details.family[open] table.figures")
    assert tables.first.is_visible()
    suppressed = page.locator("details.family[open] td.suppressed")
    assert suppressed.count() > 0 and suppressed.first.get_attribute("title")
    assert page.locator("details.family[open] ol.notes li").first.is_visible()
    shot(page, "09-indicators")

    drawn = {  # the model with the most published points and bars, for the screenshot
        m: page.locator(f"section.model[data-model='{m}'] svg").locator("circle, rect.bar").count()
        for m in page.locator("section.model").evaluate_all("s => s.map(e => e.dataset.model)")
    }
    model = max(drawn, key=drawn.get)
    page.select_option("select[name=model]", model)
    page.click("button:has-text('Show')")
    page.wait_for_selector(f"section.model[data-model='{model}']")
    assert page.locator("section.model").count() == 1
    page.locator("figure.chart details summary").first.click()  # the charts' figures as a table
    assert page.locator("figure.chart table.chart-data").first.is_visible()
    shot(page, "10-indicators-one-model")
