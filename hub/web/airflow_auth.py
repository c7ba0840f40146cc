"""Inside Airflow, the dashboard signs no one in: it asks Airflow who the user is and what
they may do.

Airflow's API server mounts the dashboard (:mod:`hub.web.airflow_plugin`). A request there
carries the user's Airflow token — the UI's ``_token`` cookie, or ``Authorization: Bearer``
from a script — which Airflow's auth manager (Simple, FAB, Keycloak, …) turns into a user;
the hub then maps Airflow's permissions onto its three roles:

- **viewer** — ``is_authorized_custom_view(GET, "Integration hub")``;
- **operator** — also ``is_authorized_custom_view(POST, "Integration hub")`` and
  ``is_authorized_dag(PUT)`` (may trigger and clear DAG runs: replaying a record is of that
  kind);
- **auditor** — a viewer who is not an operator and has
  ``is_authorized_custom_view(GET, "Integration hub audit log")``, or whose Airflow user
  name is listed in ``HUB_AIRFLOW_AUDITORS`` (comma separated). An auth manager that grants
  every custom view to everyone (Simple's does) says nothing about auditors, so there only
  the list counts: reading the access log is a duty given to named people.

No token, or an expired one: the browser is sent to Airflow's sign-in page and back. A user
without the view gets 403. There is no second password and no hub session to sign out of;
the hub still keeps a cookie session for its forms' CSRF tokens and messages.
"""

from __future__ import annotations

import os
import secrets

from fastapi import HTTPException, Request

from hub.store.users import User

HUB_VIEW = "Integration hub"
AUDIT_VIEW = "Integration hub audit log"
AUDITORS_ENV = "HUB_AIRFLOW_AUDITORS"
TOKEN_COOKIE = "_token"  # airflow.api_fastapi.auth.managers.base_auth_manager


class AirflowSignInNeeded(Exception):
    """No valid Airflow token: answered with a redirect to Airflow's sign-in page."""

    def __init__(self, login_url: str):
        super().__init__("Airflow sign-in needed")
        self.login_url = login_url


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.cookies.get(TOKEN_COOKIE)


def _manager():
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager()


async def airflow_user(request: Request) -> User:
    """The Airflow user of ``request`` as a hub user (``airflow:<name>``) with the role their
    Airflow permissions give; raises :class:`AirflowSignInNeeded` or 403."""
    from jwt import InvalidTokenError

    manager = _manager()
    token = _token(request)
    user = None
    if token:
        try:
            user = await manager.get_user_from_token(token)
        except InvalidTokenError:  # expired or forged: sign in again
            user = None
    if user is None:
        raise AirflowSignInNeeded(manager.get_url_login(next_url=str(request.url)))
    role = role_of(manager, user)
    if role is None:
        raise HTTPException(403, f"Airflow does not give you the view {HUB_VIEW!r}")
    return User(username=f"airflow:{user.get_name()}", role=role)


def role_of(manager, user) -> str | None:
    """The hub role Airflow's permissions give ``user``; None: not even a viewer."""

    def custom(method: str, view: str) -> bool:
        return manager.is_authorized_custom_view(method=method, resource_name=view, user=user)

    if not custom("GET", HUB_VIEW):
        return None
    if custom("POST", HUB_VIEW) and manager.is_authorized_dag(method="PUT", user=user):
        return "operator"
    listed = {n.strip() for n in os.environ.get(AUDITORS_ENV, "").split(",") if n.strip()}
    # a manager that grants a view no one defined grants every view: its answer says nothing
    blanket = custom("GET", f"{HUB_VIEW}: probe {secrets.token_hex(8)}")
    if user.get_name() in listed or (not blanket and custom("GET", AUDIT_VIEW)):
        return "auditor"
    return "viewer"


#: Airflow's own sign-out: revokes the token, clears the cookie, goes on to the auth
#: manager's sign-out page or Airflow's sign-in
AIRFLOW_LOGOUT = "/api/v2/auth/logout"


def logout_url() -> str:
    """Where signing out goes: Airflow's own sign-out."""
    return AIRFLOW_LOGOUT
