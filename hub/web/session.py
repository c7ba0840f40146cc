"""Sign-in sessions and CSRF protection for the dashboard.

A signed-in session lives in the store (:mod:`hub.store.signin`): the cookie, signed with a
key derived from the hub's master key (itsdangerous), carries only a random token that
names it, and the flash messages. Signing out revokes the session, so a copy of the cookie
opens nothing afterwards; a session ends at an absolute lifetime from sign-in however
active it is (the cookie expires then too: it is not renewed by activity) and after an idle
time; every sign-in starts a new session (no fixation). The user's role is read from the
store on every request, so a disabled user or a changed role takes effect at once.

Before signing in, the cookie holds the sign-in form's CSRF token; after, the session's
token is the one in the store. Every form that changes something carries it and every POST
checks it (synchronizer token pattern); the cookie is HttpOnly and SameSite=Strict.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from hub.settings import SignInPolicy
from hub.store import Store, signin

COOKIE = "hub_session"
#: how long the cookie of someone not signed in (the sign-in form's CSRF token) lasts
MAX_AGE = 8 * 3600
#: shown on the sign-in page when a session the cookie named has ended
ENDED = "Your session has ended; sign in again."


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CsrfError(Exception):
    """A form arrived without the session's CSRF token."""


@dataclass
class Session:
    username: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    flash: list[str] = field(default_factory=list)
    changed: bool = False
    #: the cookie's token of a signed-in session (None before signing in)
    token: str | None = None
    #: when a signed-in session ends at the latest (its absolute lifetime)
    expires_at: dt.datetime | None = None

    def add_flash(self, message: str) -> None:
        self.flash.append(message)
        self.changed = True

    def pop_flash(self) -> list[str]:
        messages, self.flash = self.flash, []
        if messages:
            self.changed = True
        return messages


class SessionStore:
    """Reads and writes the session cookie and the session it names in the store.
    ``clock`` is the dashboard's time (tests move it); sign-in limits use it too."""

    def __init__(self, secret: str, clock: Callable[[], dt.datetime] = utcnow):
        self.serializer = URLSafeTimedSerializer(secret, salt="hub-dashboard-session")
        self.clock = clock

    def load(self, request: Request, store: Store, policy: SignInPolicy) -> Session:
        """The request's session: the live stored session its cookie names, else one not
        signed in (with :data:`ENDED` as a flash when the named session has ended)."""
        raw = request.cookies.get(COOKIE)
        if not raw:
            return Session(changed=True)
        try:
            data: dict[str, Any] = self.serializer.loads(raw, max_age=max(MAX_AGE, policy.lifetime))
            flash = [str(m) for m in data.get("f", [])]
            token, csrf = data.get("s"), data.get("c")
        except (BadSignature, TypeError, AttributeError):
            return Session(changed=True)
        if not token:
            return Session(csrf=csrf, flash=flash) if csrf else Session(changed=True)
        with store.transaction() as conn:
            live = signin.find_session(
                conn, str(token), self.clock(), lifetime=policy.lifetime, idle=policy.idle
            )
        if live is None:
            return Session(flash=[ENDED], changed=True)
        expires = live.created_at + dt.timedelta(seconds=policy.lifetime)
        return Session(live.username, live.csrf, flash, token=str(token), expires_at=expires)

    def start(self, conn, username: str, policy: SignInPolicy) -> Session:
        """A new stored session for ``username``, signed in now."""
        now = self.clock()
        token, csrf = signin.start_session(
            conn, username, now, lifetime=policy.lifetime, idle=policy.idle
        )
        expires = now + dt.timedelta(seconds=policy.lifetime)
        return Session(username, csrf, token=token, expires_at=expires, changed=True)

    def save(self, request: Request, response: Response, session: Session) -> None:
        if session.token and session.expires_at:
            value = self.serializer.dumps({"s": session.token, "f": session.flash})
            max_age = max(0, int((session.expires_at - self.clock()).total_seconds()))
        else:
            value = self.serializer.dumps({"c": session.csrf, "f": session.flash})
            max_age = MAX_AGE
        response.set_cookie(
            COOKIE,
            value,
            max_age=max_age,
            path=request.scope.get("root_path") or "/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    def end(self, request: Request, response: Response, store: Store, session: Session) -> None:
        """Sign out: revoke the stored session and delete the cookie."""
        if session.token:
            with store.transaction() as conn:
                signin.revoke_session(conn, session.token, self.clock())
        self.clear(request, response)

    @staticmethod
    def clear(request: Request, response: Response) -> None:
        response.delete_cookie(COOKIE, path=request.scope.get("root_path") or "/")


def check_csrf(session: Session, token: str | None) -> None:
    if not token or not hmac.compare_digest(token.encode(), session.csrf.encode()):
        raise CsrfError("the form's security token is missing or stale; reload the page")
