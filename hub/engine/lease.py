"""One run of an exchange at a time: the lease every run holds (Airflow task, ``hub exchanges
run``, a replay from the CLI or the dashboard).

:func:`holding` takes the exchange's lease (:mod:`hub.store.leases`) or waits for it a
bounded time (``HUB_LEASE_WAIT``), then ends with :class:`~hub.store.leases.ExchangeBusy`:
"exchange X is running (run …, since …)" — a transient error: nothing was done, try later.
While held, every transaction the store commits in this thread checks the lease's fencing
token and renews it (:meth:`hub.store.Store.transaction`), and a thread renews it every
quarter of its time to live, so a long call to a slow system does not lose it. A holder
that loses it anyway (its machine stalled past the time to live and another run took over)
commits nothing more: its next transaction fails with :class:`~hub.store.leases.LeaseLost`.

Held leases are re-entrant: a run holding its exchange's lease calls its phases, each of
which asks for the lease again and gets the one it holds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator

from hub.engine.context import Hub
from hub.privacy import redact
from hub.store import fencing, leases
from hub.store.leases import ExchangeBusy, Lease, LeaseLost

log = logging.getLogger(__name__)
_POLL = 0.5  # seconds between attempts while waiting for a lease


def busy_message(exchange: str, who: leases.Holder | None) -> str:
    if who is None:  # freed between the attempt and the look
        return f"exchange {exchange} is running; try again when it has finished"
    run = f"run {who.run_id}" if who.run_id else (who.holder or "another run")
    since = who.since.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S %Z") if who.since else "?"
    where = f" on {who.host}, process {who.pid}" if who.host else ""
    holder = f", {who.holder}" if who.run_id and who.holder else ""
    return (
        f"exchange {exchange} is running ({run}{holder}, since {since}{where}); "
        "try again when it has finished"
    )


def _try(hub: Hub, exchange: str, holder: str) -> tuple[Lease | None, leases.Holder | None]:
    with hub.store.engine.connect() as conn:  # a lease plainly held: no write to find out
        who = leases.holder_of(conn, exchange)
    if who is not None and leases.live(who):
        return None, who
    with hub.store.engine.begin() as conn:  # outside any other lease's fencing
        lease = leases.acquire(
            conn, exchange, holder, hub.settings.lease.ttl, str(hub.store.engine.url)
        )
        return lease, (None if lease else leases.holder_of(conn, exchange))


def acquire(hub: Hub, exchange: str, holder: str, wait: float | None = None) -> Lease:
    """The lease of ``exchange``, waiting up to ``wait`` seconds (default ``HUB_LEASE_WAIT``)."""
    wait = hub.settings.lease.wait if wait is None else wait
    deadline = time.monotonic() + wait
    while True:
        lease, who = _try(hub, exchange, holder)
        if lease is not None:
            return lease
        left = deadline - time.monotonic()
        if left <= 0:
            raise ExchangeBusy(busy_message(exchange, who))
        time.sleep(min(_POLL, left))


class _Heartbeat(threading.Thread):
    """Renews a lease that has gone a quarter of its time to live unrenewed, until stopped
    or lost."""

    def __init__(self, hub: Hub, lease: Lease):
        super().__init__(name=f"hub-lease-{lease.exchange}", daemon=True)
        self.hub, self.lease = hub, lease
        self.done = threading.Event()

    def run(self) -> None:
        quarter = self.lease.ttl / 4
        while not self.done.wait(quarter):
            if leases.renewed_ago(self.lease) < quarter:
                continue  # the holder's own commits keep it (fewer writers on SQLite)
            try:
                with self.hub.store.engine.begin() as conn:
                    leases.fence(conn, self.lease)
            except LeaseLost as exc:
                log.error("%s", exc)
                return
            except Exception as exc:  # a busy store: the next beat (or commit) tries again
                log.warning("%s: could not renew the lease: %s", self.lease.exchange, redact(exc))

    def stop(self) -> None:
        self.done.set()
        self.join()


@contextlib.contextmanager
def holding(hub: Hub, exchange: str, *, holder: str, wait: float | None = None) -> Iterator[Lease]:
    """Run the block holding the lease of ``exchange`` (see the module's documentation)."""
    current = leases.held()
    if current is not None and current.exchange == exchange:
        yield current  # re-entrant: the run already holds it
        return
    lease = acquire(hub, exchange, holder, wait)
    token = fencing.hold(lease)
    beat = _Heartbeat(hub, lease)
    beat.start()
    try:
        yield lease
    finally:
        beat.stop()
        fencing.let_go(token)
        leases.forget(lease)
        try:
            with hub.store.engine.begin() as conn:
                leases.release(conn, lease)
        except Exception as exc:  # it expires by itself
            log.warning("%s: could not release the lease: %s", exchange, redact(exc))


def note_run(hub: Hub, run_id: str) -> None:
    """Record which run holds the current lease (shown to a run that has to wait)."""
    lease = leases.held()
    if lease is not None:
        with hub.store.engine.begin() as conn:
            leases.fence(conn, lease, run_id=run_id)


__all__ = ["ExchangeBusy", "LeaseLost", "acquire", "busy_message", "holding", "note_run"]
