"""Signing in and out, and the dependencies that guard every page and form.

A handler says what it needs in its signature, and FastAPI checks it before the handler
runs:

- :data:`Visitor`: anyone (the sign-in page);
- :data:`Viewer`: a signed-in user, else a redirect to the sign-in page;
- :data:`Operator`: a signed-in operator, else 403;
- :data:`Posted` and :data:`OperatorPost`: the same, for a form that changes something: it
  must carry the session's CSRF token (after the sign-in and role checks), else 403.

The user and role are read from the store on every request, so a removed user or a changed
role takes effect at once; sessions live in the store (:mod:`hub.web.session`). Inside
Airflow's API server the user and role come from Airflow instead
(:mod:`hub.web.airflow_auth`): no second sign-in.

Guessing is limited (:mod:`hub.store.signin`, :class:`hub.settings.SignInPolicy`): too many
failures for one user name, or from one client address, lock it for a while; while locked,
even the right password is answered 429 with when to try again. An unknown name is counted
and locked like a known one and costs the same scrypt derivation, so neither the answer
nor its time tells which names exist. Failures and locks are logged (never a password; a
name only when a user has it: an unknown one may be a password typed in the wrong field).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import ipaddress
import logging
import math
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse

from hub.store import signin, users
from hub.web import airflow_auth
from hub.web.dashboard import Dashboard, dashboard
from hub.web.rendering import View
from hub.web.session import ENDED, CsrfError, Session, check_csrf

log = logging.getLogger(__name__)


class SignInNeeded(Exception):
    """The page needs a signed-in user; answered with a redirect to the sign-in page."""

    def __init__(self, view: View):
        super().__init__("sign-in needed")
        self.view = view


def visitor(request: Request, board: Annotated[Dashboard, Depends(dashboard)]) -> View:
    """The request with its session, whoever sends it (``user`` is None)."""
    hub = board.hub
    return View(request, board, board.sessions.load(request, hub.store, hub.settings.signin), None)


async def airflow_gate(
    request: Request, board: Annotated[Dashboard, Depends(dashboard)]
) -> users.User | None:
    """Inside Airflow, Airflow's user — asked before anything else, so that a request
    without an Airflow sign-in opens nothing of the hub; None outside Airflow."""
    if not board.airflow_signin:
        return None
    return await airflow_auth.airflow_user(request)


async def viewer(
    airflow_user: Annotated[users.User | None, Depends(airflow_gate)],
    view: Annotated[View, Depends(visitor)],
) -> View:
    """The request of a signed-in user (any role): inside Airflow, Airflow's user."""
    if airflow_user is not None:
        return dataclasses.replace(view, user=airflow_user)
    return await run_in_threadpool(_hub_user, view)


def _hub_user(view: View) -> View:
    """The hub's own signed-in user. A user disabled or removed since signing in has their
    sessions ended."""
    user, name = None, view.session.username
    if name:
        with view.hub.store.transaction() as conn:
            user = users.get_user(conn, name)
            if user is None:
                signin.end_sessions(conn, name, view.board.sessions.clock())
        if user is None:
            view = dataclasses.replace(view, session=Session(flash=[ENDED], changed=True))
    if user is None:
        raise SignInNeeded(view)
    return dataclasses.replace(view, user=user)


def _takes(func, **params):
    """Give ``func`` the signature FastAPI reads: parameters with their annotations as
    objects (a closure's names cannot be resolved from the annotations' text)."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    func.__signature__ = inspect.Signature(
        [inspect.Parameter(name, kind, annotation=a, default=d) for name, (a, d) in params.items()]
    )
    return func


def needs(role: str):
    """The dependency of a page for a signed-in user of ``role`` (others get 403)."""

    def signed_in_as(view: View) -> View:
        assert view.user is not None
        if view.user.role != role:
            raise HTTPException(403, f"this needs the {role} role")
        return view

    signed_in_as.__doc__ = f"The request of a signed-in {role}."
    empty = inspect.Parameter.empty
    return _takes(signed_in_as, view=(Annotated[View, Depends(viewer)], empty))


def sent_by(page):
    """The dependency of a form that ``page``'s user sends: with the session's CSRF token."""

    def with_token(view: View, csrf: str = "") -> View:
        check_csrf(view.session, csrf)
        return view

    empty = inspect.Parameter.empty
    return _takes(
        with_token,
        view=(Annotated[View, Depends(page)], empty),
        csrf=(Annotated[str, Form()], ""),
    )


operator = needs("operator")
posted = sent_by(visitor)  # a form sent with the session's CSRF token, whoever sends it
operator_post = sent_by(operator)


Visitor = Annotated[View, Depends(visitor)]
Viewer = Annotated[View, Depends(viewer)]
Operator = Annotated[View, Depends(operator)]
Posted = Annotated[View, Depends(posted)]
OperatorPost = Annotated[View, Depends(operator_post)]


def install(app: FastAPI) -> None:
    """Answer :class:`SignInNeeded` with the sign-in page and a CSRF failure with 403."""

    @app.exception_handler(SignInNeeded)
    async def to_login(request: Request, exc: SignInNeeded):
        return exc.view.redirect("login")

    @app.exception_handler(CsrfError)
    async def csrf_failed(request: Request, exc: CsrfError):
        return PlainTextResponse(str(exc), status_code=403)

    @app.exception_handler(airflow_auth.AirflowSignInNeeded)
    async def to_airflow_login(request: Request, exc: airflow_auth.AirflowSignInNeeded):
        return RedirectResponse(exc.login_url, status_code=303)


def client_address(request: Request, trusted_proxies: tuple[str, ...] = ()) -> str:
    """The client's address: the socket peer, or, when the peer is one of
    ``trusted_proxies`` (addresses or networks), the nearest address in
    ``X-Forwarded-For`` that is not a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    if not trusted_proxies:
        return peer
    nets = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]

    def trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in nets)

    if not trusted(peer):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",")]
    for hop in reversed([h for h in hops if h]):
        if not trusted(hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                break  # a garbled header: the proxy itself is all that is known
    return peer


def _locked(view: View, until: dt.datetime, now: dt.datetime):
    """429: sign-in is locked (for a name or an address: the answer does not say which)."""
    wait = max(1, math.ceil((until - now).total_seconds()))
    minutes = math.ceil(wait / 60)
    message = (
        "Sign-in is temporarily locked after too many failed attempts. Try again after "
        f"{until.strftime('%H:%M')} UTC (in {minutes} min)."
    )
    response = view.page("login.html", status_code=429, error=message)
    response.headers["Retry-After"] = str(wait)
    return response


router = APIRouter()


@router.get("/login", response_class=HTMLResponse, name="login")
def login(view: Visitor):
    if view.board.airflow_signin:  # Airflow signs people in
        return view.redirect("overview")
    return view.page("login.html", error=None)


@router.post("/login", name="login_post")
def login_post(view: Posted, username: Annotated[str, Form()], password: Annotated[str, Form()]):
    if view.board.airflow_signin:
        raise HTTPException(404, "inside Airflow, sign in to Airflow")
    store, policy, now = view.hub.store, view.hub.settings.signin, view.board.sessions.clock()
    address = client_address(view.request, policy.trusted_proxies)
    keys = [
        (signin.USER, signin.throttle_key(store.keys, signin.USER, username)),
        (signin.ADDRESS, signin.throttle_key(store.keys, signin.ADDRESS, address)),
    ]
    with store.transaction() as conn:
        until = signin.locked_until(conn, keys, now)
    if until is not None:
        log.info("dashboard sign-in refused, locked until %s: from %s", until, address)
        return _locked(view, until, now)
    with store.transaction() as conn:
        user = users.authenticate(conn, username, password)
    if user is None:
        return _failed(view, username, address, keys, now)
    with store.transaction() as conn:
        signin.forget(conn, *keys[0])
        signin.forget_stale(conn, now, policy.window)
        if view.session.token:  # signing in again: the session before ends
            signin.revoke_session(conn, view.session.token, now)
        session = view.board.sessions.start(conn, user.username, policy)
    log.info("dashboard sign-in: %s from %s", user.username, address)
    return dataclasses.replace(view, session=session, user=user).redirect("overview")


def _failed(view: View, username: str, address: str, keys, now: dt.datetime):
    """Count a failed sign-in for the name and the address: 401, or 429 when it locks."""
    store, policy = view.hub.store, view.hub.settings.signin
    limits = {signin.USER: policy.max_failures, signin.ADDRESS: policy.max_address_failures}
    with store.transaction() as conn:
        known = users.get_user(conn, username) is not None
        locks = {
            kind: signin.record_failure(
                conn,
                kind,
                key,
                now,
                limit=limits[kind],
                window=policy.window,
                lockout=policy.lockout,
            )
            for kind, key in keys
        }
    who = f"user {username!r}" if known else "an unknown or disabled user name"
    log.warning("dashboard sign-in failed: %s from %s", who, address)
    for kind, until in locks.items():
        if until is not None:
            what = who if kind == signin.USER else f"address {address}"
            log.warning("dashboard sign-in locked for %s until %s", what, until)
    until = max((u for u in locks.values() if u is not None), default=None)
    if until is not None:
        return _locked(view, until, now)
    return view.page("login.html", status_code=401, error="Wrong name or password")


@router.post("/logout", name="logout")
def logout(view: Posted):
    target = view.request.url_for("login").path
    if view.board.airflow_signin:
        target = airflow_auth.logout_url()
    response = RedirectResponse(target, status_code=303)
    view.board.sessions.end(view.request, response, view.hub.store, view.session)
    if view.session.username:
        log.info("dashboard sign-out: %s", view.session.username)
    return response
