"""Signing in and out, and the dependencies that guard every page and form.

A handler says what it needs in its signature, and FastAPI checks it before the handler
runs:

- :data:`Visitor`: anyone (the sign-in page);
- :data:`Viewer`: a signed-in user, else a redirect to the sign-in page;
- :data:`Operator`: a signed-in operator, else 403;
- :data:`Posted` and :data:`OperatorPost`: the same, for a form that changes something: it
  must carry the session's CSRF token (after the sign-in and role checks), else 403.

The user and role are read from the store on every request, so a removed user or a changed
role takes effect at once.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse

from hub.store import users
from hub.web.dashboard import Dashboard, dashboard
from hub.web.rendering import View
from hub.web.session import CsrfError, check_csrf


class SignInNeeded(Exception):
    """The page needs a signed-in user; answered with a redirect to the sign-in page."""


def visitor(request: Request, board: Annotated[Dashboard, Depends(dashboard)]) -> View:
    """The request with its session, whoever sends it (``user`` is None)."""
    return View(request, board, board.sessions.load(request), None)


def viewer(view: Annotated[View, Depends(visitor)]) -> View:
    """The request of a signed-in user (any role)."""
    user = None
    if view.session.username:
        with view.hub.store.transaction() as conn:
            user = users.get_user(conn, view.session.username)
    if user is None:
        raise SignInNeeded()
    return dataclasses.replace(view, user=user)


def operator(view: Annotated[View, Depends(viewer)]) -> View:
    """The request of a signed-in operator."""
    assert view.user is not None
    if not view.user.is_operator:
        raise HTTPException(403, "this needs the operator role")
    return view


def posted(view: Annotated[View, Depends(visitor)], csrf: Annotated[str, Form()] = "") -> View:
    """A form sent with the session's CSRF token, whoever sends it."""
    check_csrf(view.session, csrf)
    return view


def operator_post(
    view: Annotated[View, Depends(operator)], csrf: Annotated[str, Form()] = ""
) -> View:
    """A form sent by a signed-in operator with the session's CSRF token."""
    check_csrf(view.session, csrf)
    return view


Visitor = Annotated[View, Depends(visitor)]
Viewer = Annotated[View, Depends(viewer)]
Operator = Annotated[View, Depends(operator)]
Posted = Annotated[View, Depends(posted)]
OperatorPost = Annotated[View, Depends(operator_post)]


def install(app: FastAPI) -> None:
    """Answer :class:`SignInNeeded` with the sign-in page and a CSRF failure with 403."""

    @app.exception_handler(SignInNeeded)
    async def to_login(request: Request, exc: SignInNeeded):
        return RedirectResponse(request.url_for("login").path, status_code=303)

    @app.exception_handler(CsrfError)
    async def csrf_failed(request: Request, exc: CsrfError):
        return PlainTextResponse(str(exc), status_code=403)


router = APIRouter()


@router.get("/login", response_class=HTMLResponse, name="login")
def login(view: Visitor):
    return view.page("login.html", error=None)


@router.post("/login", name="login_post")
def login_post(view: Posted, username: Annotated[str, Form()], password: Annotated[str, Form()]):
    with view.hub.store.transaction() as conn:
        user = users.authenticate(conn, username, password)
    if user is None:
        return view.page("login.html", status_code=401, error="Wrong name or password")
    return view.signed_in_as(user).redirect("overview")


@router.post("/logout", name="logout")
def logout(view: Posted):
    response = RedirectResponse(view.request.url_for("login").path, status_code=303)
    view.board.sessions.clear(view.request, response)
    return response
