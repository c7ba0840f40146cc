"""The lease this thread of execution runs under, for the store to fence its commits.

Kept apart from :mod:`hub.store.leases` (which uses the store's tables) so that
:class:`hub.store.Store` can consult it without importing the repository modules. A lease
is set here by :func:`hub.engine.lease.holding`."""

from __future__ import annotations

import contextvars
from typing import Any, Protocol


class Fenced(Protocol):
    """A held lease: the store it lives in, and its check-and-renew."""

    store_url: str

    def fence(self, conn: Any) -> None: ...


_HELD: contextvars.ContextVar[Any] = contextvars.ContextVar("hub_lease", default=None)


def held() -> Any:
    """The lease this thread of execution runs under (None: none)."""
    return _HELD.get()


def hold(lease: Fenced | None) -> contextvars.Token:
    return _HELD.set(lease)


def let_go(token: contextvars.Token) -> None:
    _HELD.reset(token)


def check(conn: Any, store_url: str) -> None:
    """Fence ``conn``'s transaction with the held lease, if it lives in ``store_url``."""
    lease = _HELD.get()
    if lease is not None and lease.store_url == store_url:
        lease.fence(conn)
