"""Sign-in sessions and CSRF protection for the dashboard.

The session is a cookie signed with a key derived from the hub's master key (itsdangerous,
timestamped: it expires after :data:`MAX_AGE`), holding the username and a CSRF token; the
user's role is read from the store on every request, so a disabled user or a changed role
takes effect at once. Every form that changes something carries the token and every POST
checks it (synchronizer token pattern); the cookie is HttpOnly and SameSite=Strict.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "hub_session"
MAX_AGE = 8 * 3600


class CsrfError(Exception):
    """A form arrived without the session's CSRF token."""


@dataclass
class Session:
    username: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    flash: list[str] = field(default_factory=list)
    changed: bool = False

    def add_flash(self, message: str) -> None:
        self.flash.append(message)
        self.changed = True

    def pop_flash(self) -> list[str]:
        messages, self.flash = self.flash, []
        if messages:
            self.changed = True
        return messages


class SessionStore:
    def __init__(self, secret: str):
        self.serializer = URLSafeTimedSerializer(secret, salt="hub-dashboard-session")

    def load(self, request: Request) -> Session:
        raw = request.cookies.get(COOKIE)
        if raw:
            try:
                data: dict[str, Any] = self.serializer.loads(raw, max_age=MAX_AGE)
                return Session(data.get("u"), data["c"], list(data.get("f", [])))
            except (BadSignature, KeyError, TypeError):
                pass
        return Session(changed=True)

    def save(self, request: Request, response: Response, session: Session) -> None:
        value = self.serializer.dumps(
            {"u": session.username, "c": session.csrf, "f": session.flash}
        )
        response.set_cookie(
            COOKIE,
            value,
            max_age=MAX_AGE,
            path=request.scope.get("root_path") or "/",
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )

    @staticmethod
    def clear(request: Request, response: Response) -> None:
        response.delete_cookie(COOKIE, path=request.scope.get("root_path") or "/")


def check_csrf(session: Session, token: str | None) -> None:
    if not token or not hmac.compare_digest(token, session.csrf):
        raise CsrfError("the form's security token is missing or stale; reload the page")
