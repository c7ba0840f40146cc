"""Pages: the Jinja2 templates with their filters, and :class:`View`, what a handler answers
with (a page or a redirect, carrying the session cookie)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, pass_context

from hub.engine import Hub
from hub.ops.health import aware
from hub.store.users import User
from hub.web.dashboard import Dashboard
from hub.web.session import Session

#: the templates the package carries, found through importlib.resources
templates = Jinja2Templates(
    env=Environment(loader=PackageLoader("hub.web", "templates"), autoescape=True)
)


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


@pass_context
def _path_for(context: dict, name: str, /, **params: Any) -> str:
    """Links as absolute paths (with the mount point, e.g. /hub/…): right behind a reverse
    proxy and inside Airflow's frame, whatever the Host header says."""
    return context["request"].url_for(name, **params).path


templates.env.filters["ago"] = _ago
templates.env.filters["when"] = _when
templates.env.globals["url_for"] = _path_for


@dataclasses.dataclass
class View:
    """One request as the dashboard serves it: who asks (``user``, None before signing in)
    and their session. Every answer goes through :meth:`page` or :meth:`redirect`, which
    save the session (its flash messages, its CSRF token) in the cookie."""

    request: Request
    board: Dashboard
    session: Session
    user: User | None

    @property
    def hub(self) -> Hub:
        return self.board.hub

    @property
    def actor(self) -> str:
        """Who acts, for the access log and notes: ``dashboard:<user>``."""
        assert self.user is not None
        return f"dashboard:{self.user.username}"

    def flash(self, message: str) -> None:
        """Show ``message`` on the next page."""
        self.session.add_flash(message)

    def page(self, name: str, *, status_code: int = 200, **context: Any) -> Response:
        """The template ``name`` with ``context``, the user, the CSRF token and the flash."""
        response = templates.TemplateResponse(
            self.request,
            name,
            {
                "user": self.user,
                "csrf": self.session.csrf,
                "flash": self.session.pop_flash(),
                "exchanges": sorted(self.hub.config.exchanges),
                **context,
            },
            status_code=status_code,
        )
        return self._finish(response)

    def redirect(self, route: str, **params: Any) -> Response:
        """See Other to the page ``route`` (a GET after a POST)."""
        url = self.request.url_for(route, **params).path
        return self._finish(RedirectResponse(url, status_code=303))

    def signed_in_as(self, user: User) -> View:
        """This view with a new session for ``user`` (a new CSRF token: no fixation)."""
        return dataclasses.replace(self, session=Session(username=user.username), user=user)

    def _finish(self, response: Response) -> Response:
        self.board.sessions.save(self.request, response, self.session)
        return response
