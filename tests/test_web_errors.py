"""Error answers of the dashboard: a browser gets a page with the way back, a script JSON."""

from __future__ import annotations

from test_web import app, hub, sign_in  # noqa: F401 - the dashboard's fixtures

HTML = {"Accept": "text/html,application/xhtml+xml"}


def test_a_browser_gets_an_error_page_with_navigation_a_script_json(app):  # noqa: F811
    client = sign_in(app, "viivi")  # a viewer
    page = client.get("/indicators", headers=HTML)  # operators only
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "<h1>Forbidden</h1>" in page.text and "this needs the operator role" in page.text
    assert 'href="/failures"' in page.text and 'href="/"' in page.text
    missing = client.get("/exchanges/nope", headers=HTML)
    assert missing.status_code == 404 and "<h1>Not Found</h1>" in missing.text
    scripted = client.get("/exchanges/nope", headers={"Accept": "application/json"})
    assert scripted.status_code == 404 and scripted.json()["detail"]
    assert client.get("/metrics", headers={"Accept": "text/plain"}).status_code == 200
