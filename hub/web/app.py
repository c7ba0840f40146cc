"""The hub's dashboard: health of every exchange, run history, dead letters, replay.

A FastAPI application that runs alone (``hub web``) or mounted into Airflow's API server
(:mod:`hub.web.airflow_plugin`). Pages are server-rendered (Jinja2, no JavaScript build
step, no script at all). Roles: a *viewer* sees everything masked; an *operator* may also
reveal a payload (with a stated reason, written to the access log), replay and resolve.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context

from hub.engine import Hub, replay
from hub.errors import HubError
from hub.ops.health import all_health, aware
from hub.privacy import redact
from hub.privacy.mask import mask_payload
from hub.store import audit, deadletters, records, runs, users
from hub.web import metrics
from hub.web.session import CsrfError, Session, SessionStore, check_csrf

HERE = Path(__file__).parent
PAGE = 50
FILTERS = ("exchange", "system", "error_class", "status", "since", "until")

templates = Jinja2Templates(directory=str(HERE / "templates"))
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'self'; form-action 'self'",
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _ago(value: dt.datetime | dt.timedelta | None) -> str:
    if value is None:
        return "never"
    delta = value if isinstance(value, dt.timedelta) else dt.datetime.now(dt.UTC) - aware(value)
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _when(value: dt.datetime | None) -> str:
    return aware(value).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "–"


templates.env.filters["ago"] = _ago
templates.env.filters["when"] = _when


@pass_context
def _path_for(context: dict, name: str, /, **params: Any) -> str:
    """Links as absolute paths (with the mount point, e.g. /hub/…): right behind a reverse
    proxy and inside Airflow's frame, whatever the Host header says."""
    return context["request"].url_for(name, **params).path


templates.env.globals["url_for"] = _path_for


class Dashboard:
    """The hub the pages read, opened on first use (mounting into Airflow costs nothing)."""

    def __init__(self, open_hub: Callable[[], Hub]):
        self._open, self._hub, self._lock = open_hub, None, threading.Lock()
        self._sessions: SessionStore | None = None

    @property
    def hub(self) -> Hub:
        with self._lock:
            if self._hub is None:
                self._hub = self._open()
                self._sessions = SessionStore(self._hub.keys.session_secret())
            return self._hub

    @property
    def sessions(self) -> SessionStore:
        self.hub  # noqa: B018 - opens the hub and the session store
        assert self._sessions is not None
        return self._sessions


def create_app(open_hub: Callable[[], Hub] = Hub.open) -> FastAPI:
    board = Dashboard(open_hub)
    app = FastAPI(title="Integration hub", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def session_of(request: Request) -> Session:
        return board.sessions.load(request)

    def user_of(session: Session) -> users.User | None:
        if not session.username:
            return None
        with board.hub.store.transaction() as conn:
            return users.get_user(conn, session.username)

    def finish(request: Request, response: Response, session: Session) -> Response:
        board.sessions.save(request, response, session)
        return response

    def page(request: Request, name: str, session: Session, user, **context: Any) -> Response:
        response = templates.TemplateResponse(
            request,
            name,
            {
                "user": user,
                "csrf": session.csrf,
                "flash": session.pop_flash(),
                "exchanges": sorted(board.hub.config.exchanges),
                **context,
            },
        )
        return finish(request, response, session)

    def redirect(request: Request, route: str, session: Session, **params: Any) -> Response:
        url = request.url_for(route, **params).path
        return finish(request, RedirectResponse(url, status_code=303), session)

    def signed_in(request: Request, *, operator: bool = False):
        session = session_of(request)
        user = user_of(session)
        if user is None:
            raise _SignIn()
        if operator and not user.is_operator:
            raise HTTPException(403, "this needs the operator role")
        return session, user

    class _SignIn(Exception):
        pass

    @app.exception_handler(_SignIn)
    async def to_login(request: Request, exc: _SignIn):
        return RedirectResponse(request.url_for("login").path, status_code=303)

    @app.exception_handler(CsrfError)
    async def csrf_failed(request: Request, exc: CsrfError):
        return PlainTextResponse(str(exc), status_code=403)

    # --- sign-in ------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse, name="login")
    def login(request: Request):
        session = session_of(request)
        return page(request, "login.html", session, None, error=None)

    @app.post("/login", name="login_post")
    def login_post(
        request: Request,
        username: str = Form(...),
        password: str = Form(...),
        csrf: str = Form(""),
    ):
        session = session_of(request)
        check_csrf(session, csrf)
        with board.hub.store.transaction() as conn:
            user = users.authenticate(conn, username, password)
        if user is None:
            response = page(request, "login.html", session, None, error="Wrong name or password")
            response.status_code = 401
            return response
        fresh = Session(username=user.username)  # a new token: no fixation
        return redirect(request, "overview", fresh)

    @app.post("/logout", name="logout")
    def logout(request: Request, csrf: str = Form("")):
        check_csrf(session_of(request), csrf)
        response = RedirectResponse(request.url_for("login").path, status_code=303)
        board.sessions.clear(request, response)
        return response

    # --- pages --------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, name="overview")
    def overview(request: Request):
        session, user = signed_in(request)
        with board.hub.store.transaction() as conn:
            health = all_health(conn, board.hub.config)
            open_total = deadletters.count_letters(conn)
        return page(request, "overview.html", session, user, health=health, open_total=open_total)

    @app.get("/exchanges/{name}", response_class=HTMLResponse, name="exchange")
    def exchange(request: Request, name: str, before: str | None = None):
        session, user = signed_in(request)
        try:
            declared = board.hub.config.exchange(name)
        except HubError:
            raise HTTPException(404, "no such exchange") from None
        started_before = dt.datetime.fromisoformat(before) if before else None
        with board.hub.store.transaction() as conn:
            history = runs.list_runs(conn, name, limit=PAGE, before=started_before)
        older = history[-1].started_at.isoformat() if len(history) == PAGE else None
        return page(request, "exchange.html", session, user, x=declared, runs=history, older=older)

    @app.get("/runs/{run_id}", response_class=HTMLResponse, name="run")
    def run(request: Request, run_id: str):
        session, user = signed_in(request)
        with board.hub.store.transaction() as conn:
            found = runs.get_run(conn, run_id)
            if found is None:
                raise HTTPException(404, "no such run")
            batches = runs.batches_of(conn, run_id)
            letters = deadletters.list_letters(conn, status=None, run_id=run_id, limit=PAGE)
        return page(request, "run.html", session, user, run=found, batches=batches, letters=letters)

    @app.get("/failures", response_class=HTMLResponse, name="failures")
    def failures(
        request: Request,
        exchange: str = "",
        system: str = "",
        error_class: str = "",
        status: str = deadletters.OPEN,
        since: str = "",
        until: str = "",
        before: int | None = Query(None),
    ):
        session, user = signed_in(request)
        try:
            start = dt.datetime.fromisoformat(since).replace(tzinfo=dt.UTC) if since else None
            end = dt.datetime.fromisoformat(until).replace(tzinfo=dt.UTC) if until else None
        except ValueError:
            raise HTTPException(400, "since and until are dates (YYYY-MM-DD)") from None
        if end and len(until) == 10:
            end += dt.timedelta(days=1)  # the whole day
        filters = dict(
            exchange=exchange or None,
            system=system or None,
            error_class=error_class or None,
            status=None if status == "all" else status,
            since=start,
            until=end,
        )
        with board.hub.store.transaction() as conn:
            rows = deadletters.list_letters(conn, before_id=before, limit=PAGE, **filters)
            total = deadletters.count_letters(conn, **filters)
            choices = deadletters.facets(conn)
        query = {
            k: v
            for k, v in {
                "exchange": exchange,
                "system": system,
                "error_class": error_class,
                "status": status,
                "since": since,
                "until": until,
            }.items()
            if v
        }
        return page(
            request,
            "failures.html",
            session,
            user,
            rows=rows,
            total=total,
            choices=choices,
            query=query,
            next_before=rows[-1].id if len(rows) == PAGE else None,
        )

    def _letter(letter_id: int):
        with board.hub.store.transaction() as conn:
            row = deadletters.get(conn, letter_id)
        if row is None:
            raise HTTPException(404, "no such dead letter")
        return row

    def _show(request, session, user, row, *, reveal_reason: str | None):
        payload = deadletters.payload_of(board.hub.keys, row)
        with board.hub.store.transaction() as conn:
            if payload is None and row.record_id:  # failed at delivery: the stored record
                stored = records.load(conn, board.hub.keys, [row.record_id]).get(row.record_id)
                payload = stored.data if stored else None
            audit.log_access(
                conn,
                actor=f"dashboard:{user.username}",
                action="reveal" if reveal_reason else "read",
                purpose=reveal_reason or f"inspect dead letter {row.id} (masked)",
                items=[audit.Access(None, row.record_id)],
                exchange=row.exchange,
            )
        shown = payload if reveal_reason else mask_payload(payload)
        return page(
            request,
            "failure.html",
            session,
            user,
            row=row,
            payload=shown,
            revealed=bool(reveal_reason),
        )

    @app.get("/failures/{letter_id}", response_class=HTMLResponse, name="failure")
    def failure(request: Request, letter_id: int):
        session, user = signed_in(request)
        return _show(request, session, user, _letter(letter_id), reveal_reason=None)

    @app.post("/failures/{letter_id}/reveal", response_class=HTMLResponse, name="reveal")
    def reveal(request: Request, letter_id: int, reason: str = Form(""), csrf: str = Form("")):
        session, user = signed_in(request, operator=True)
        check_csrf(session, csrf)
        reason = " ".join(reason.split())
        if len(reason) < 10:
            session.add_flash(
                "State why you need to see the personal data (10 characters at least)"
            )
            return redirect(request, "failure", session, letter_id=letter_id)
        return _show(request, session, user, _letter(letter_id), reveal_reason=redact(reason))

    @app.post("/failures/replay", name="replay_selected")
    def replay_selected(request: Request, csrf: str = Form(""), ids: list[int] = Form([])):
        session, user = signed_in(request, operator=True)
        check_csrf(session, csrf)
        if not ids:
            session.add_flash("Select the records to replay")
            return redirect(request, "failures", session)
        results = replay(board.hub, ids, actor=f"dashboard:{user.username}")
        done = sum(r.ok for r in results if r.letter_id)
        session.add_flash(f"Replayed {done} of {len(ids)}")
        for r in results:
            if not r.ok:
                session.add_flash(
                    f"#{r.letter_id}: {redact(r.detail)}" if r.letter_id else r.detail
                )
        return redirect(request, "failures", session)

    @app.post("/failures/{letter_id}/replay", name="replay_one")
    def replay_one(request: Request, letter_id: int, csrf: str = Form("")):
        session, user = signed_in(request, operator=True)
        check_csrf(session, csrf)
        results = replay(board.hub, [letter_id], actor=f"dashboard:{user.username}")
        for r in results:
            session.add_flash(redact(r.detail) if r.ok else f"Not replayed: {redact(r.detail)}")
        return redirect(request, "failure", session, letter_id=letter_id)

    @app.post("/failures/{letter_id}/resolve", name="resolve")
    def resolve(request: Request, letter_id: int, note: str = Form(""), csrf: str = Form("")):
        session, user = signed_in(request, operator=True)
        check_csrf(session, csrf)
        note = " ".join(note.split())
        if not note:
            session.add_flash("A note is needed to mark a failure resolved")
            return redirect(request, "failure", session, letter_id=letter_id)
        row = _letter(letter_id)
        with board.hub.store.transaction() as conn:
            deadletters.set_status(
                conn, row.id, deadletters.RESOLVED, f"{user.username}: {redact(note)}"
            )
        session.add_flash(f"#{letter_id} marked resolved")
        return redirect(request, "failure", session, letter_id=letter_id)

    # --- machine endpoints --------------------------------------------------------------

    @app.get("/metrics", name="metrics")
    def prometheus(request: Request):
        metrics.authorise(request)
        body, content_type = metrics.render(board.hub)
        return Response(body, media_type=content_type)

    @app.get("/healthz", name="healthz")
    def healthz():
        return {"ok": True}

    app.state.dashboard = board
    return app
