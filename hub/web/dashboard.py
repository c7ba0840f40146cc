"""The hub the dashboard reads, opened on first use (mounting into Airflow costs nothing),
and the dependency that gives it to a request's handler."""

from __future__ import annotations

import threading
from collections.abc import Callable

from fastapi import Request

from hub.engine import Hub
from hub.web.session import SessionStore


class Dashboard:
    """The hub and the session store (its key derives from the hub's master key), opened on
    the first request."""

    def __init__(self, open_hub: Callable[[], Hub], *, airflow_signin: bool = False):
        self._open, self._hub, self._lock = open_hub, None, threading.Lock()
        #: inside Airflow: users and roles come from Airflow (:mod:`hub.web.airflow_auth`)
        self.airflow_signin = airflow_signin
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


def dashboard(request: Request) -> Dashboard:
    """The app's :class:`Dashboard` (a dependency)."""
    return request.app.state.dashboard
