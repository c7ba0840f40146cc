"""The hub's pages inside Airflow's API server, in a real browser: one sign-in, Airflow's.

Airflow's app (its UI, its Simple auth manager's sign-in page and the hub mounted under
``/hub``) is served over real HTTP; Chromium signs in to Airflow once and then uses the
hub's pages — straight and inside Airflow's navigation — with no second sign-in; Airflow's
roles decide what each user may do."""

from __future__ import annotations

import pytest
from test_browser import CHROMIUM, page, shot  # noqa: F401 - the browser fixture
from test_web_airflow import airflow_home  # noqa: F401 - Airflow with users viv, olli, ada

from hub import sandbox as sb
from hub.engine import Hub, run_exchange

pytestmark = [
    pytest.mark.airflow,
    pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(), reason="no chromium"),
]


@pytest.fixture
def airflow_server(hub_env, airflow_home):  # noqa: F811
    """Airflow's API server app, with the hub's plugin, on a free port; the users'
    generated passwords."""
    from airflow.api_fastapi.app import create_app
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManager

    app = create_app()
    spec = sb.Sandbox("airflow", "airflow", lambda **_: None, 0)
    server = sb.RunningSandbox(spec, app, "127.0.0.1", sb.free_port()).start()
    yield server.url, SimpleAuthManager.get_passwords()
    server.stop()


def sign_in_to_airflow(page, url: str, name: str, password: str) -> None:  # noqa: F811
    page.wait_for_url("**/auth/login**")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_one_sign_in_to_airflow_opens_the_hubs_pages(airflow_server, page, hub_env):  # noqa: F811
    url, passwords = airflow_server
    hub = Hub.open()
    try:
        run_exchange(hub, "employment_authority_to_county")  # something to look at
    finally:
        hub.close()

    page.goto(f"{url}/hub/failures")  # not signed in: Airflow's sign-in page, and back
    sign_in_to_airflow(page, url, "olli", passwords["olli"])
    page.wait_for_url(f"{url}/hub/failures")
    page.wait_for_selector("h1")
    assert "airflow:olli (operator)" in page.inner_text("header")
    assert page.locator("input[name=password]").count() == 0  # no second sign-in
    shot(page, "11-airflow-hub-failures")

    # the same page inside Airflow's navigation ("Integration hub"), same session
    page.goto(f"{url}/plugin/integration-hub")
    frame = page.frame_locator("iframe").first
    frame.locator("h1:has-text('Exchanges')").wait_for()
    assert "airflow:olli (operator)" in frame.locator("header").inner_text()
    frame.locator("header >> text=Indicators").click()  # operators see the indicators
    frame.locator("h1:has-text('Indicators for Innokylä')").wait_for()
    shot(page, "12-airflow-navigation-indicators")

    # signing out of the hub is signing out of Airflow
    page.goto(f"{url}/hub/")
    page.click("text=Sign out")
    page.goto(f"{url}/hub/")
    page.wait_for_url("**/auth/login**")


def test_airflows_viewer_sees_but_may_not_operate(airflow_server, page):  # noqa: F811
    url, passwords = airflow_server
    page.goto(f"{url}/hub/")
    sign_in_to_airflow(page, url, "viv", passwords["viv"])
    page.wait_for_url(f"{url}/hub/")
    assert "airflow:viv (viewer)" in page.inner_text("header")
    assert page.locator("header >> text=Indicators").count() == 0
    answer = page.goto(f"{url}/hub/indicators")
    assert answer.status == 403
    assert "this needs the operator role" in page.inner_text("main")
    assert page.locator("main a[href='/hub/']").count() == 1  # the way back
