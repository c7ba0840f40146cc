"""The hub's dashboard: health of every exchange, run history, dead letters, replay.

A FastAPI application that runs alone (``hub web``) or mounted into Airflow's API server
(:mod:`hub.web.airflow_plugin`). Pages are server-rendered (Jinja2, no JavaScript build
step, no script at all). Roles: a *viewer* sees everything masked; an *operator* may also
reveal a payload (with a stated reason, written to the access log), replay and resolve.

The app is assembled from routers, one per thing it serves: :mod:`~hub.web.auth` (signing
in and out; its dependencies guard every other page and form), :mod:`~hub.web.overview`,
:mod:`~hub.web.runs`, :mod:`~hub.web.failures` (dead letters), :mod:`~hub.web.audit` (a
client's log extract, for auditors), :mod:`~hub.web.indicators` (what the next release to
Innokylä would publish, with charts, for operators) and :mod:`~hub.web.metrics`
(``/metrics``, ``/healthz``).
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from hub.engine import Hub
from hub.web import audit, auth, failures, indicators, metrics, overview, replays, runs
from hub.web.dashboard import Dashboard
from hub.web.rendering import templates

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'self'; form-action 'self'",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

ROUTERS = (
    auth.router,
    overview.router,
    runs.router,
    failures.router,
    replays.router,
    audit.router,
    indicators.router,
    metrics.router,
)


def create_app(open_hub: Callable[[], Hub] = Hub.open, *, airflow_signin: bool = False) -> FastAPI:
    """The dashboard over the hub ``open_hub()`` gives (called on the first request);
    ``airflow_signin``: its users are Airflow's (:mod:`hub.web.airflow_auth`), not the hub's."""
    app = FastAPI(title="Integration hub", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.dashboard = Dashboard(open_hub, airflow_signin=airflow_signin)
    app.mount("/static", StaticFiles(packages=[("hub.web", "static")]), name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(HTTPException)
    async def error_page(request: Request, exc: HTTPException):
        """A browser gets a page with the way back; a script (``/metrics``, JSON) the
        status and detail as JSON."""
        if "text/html" not in request.headers.get("accept", ""):
            return await http_exception_handler(request, exc)
        context = {
            "user": None,
            "flash": [],
            "status": exc.status_code,
            "title": HTTPStatus(exc.status_code).phrase,
            "detail": exc.detail,
        }
        return templates.TemplateResponse(
            request, "error.html", context, status_code=exc.status_code, headers=exc.headers
        )

    auth.install(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
