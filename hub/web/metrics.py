"""The endpoints machines read: ``/healthz`` (the app answers) and ``/metrics``, in
Prometheus text format (prometheus_client), computed from the store on each scrape: runs,
records, failures, open dead letters and lag per exchange. No metric carries client data.

``/metrics`` is protected by default: a scrape sends ``Authorization: Bearer <token>`` with
the token of ``HUB_METRICS_TOKEN``, or comes from a signed-in user.
"""

from __future__ import annotations

import hmac
import os
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select

from hub.engine import Hub
from hub.ops.health import all_health
from hub.store import outbox
from hub.store import schema as t
from hub.store.runs import COUNTERS
from hub.web.dashboard import Dashboard, dashboard


async def authorise(request: Request, board: Annotated[Dashboard, Depends(dashboard)]) -> None:
    """A dependency: 401 unless the scrape carries ``HUB_METRICS_TOKEN`` as a bearer token
    or comes from a signed-in user of the dashboard (inside Airflow: an Airflow user with
    the hub's view). With no token set, only signed-in users read the metrics."""
    from hub.web.airflow_auth import AirflowSignInNeeded
    from hub.web.auth import SignInNeeded, airflow_gate, viewer, visitor

    token = os.environ.get("HUB_METRICS_TOKEN")
    sent = request.headers.get("authorization", "")
    if token and hmac.compare_digest(sent, f"Bearer {token}"):
        return
    try:
        user = await airflow_gate(request, board)
        await viewer(user, visitor(request, board))
    except (SignInNeeded, AirflowSignInNeeded):
        raise HTTPException(
            401,
            "a bearer token (HUB_METRICS_TOKEN) or a signed-in user is needed",
            {"WWW-Authenticate": "Bearer"},
        ) from None


class _HubCollector:
    def __init__(self, hub: Hub):
        self.hub = hub

    def collect(self):
        x = ["exchange"]
        runs = CounterMetricFamily(
            "hub_runs", "Runs of an exchange by final state", labels=[*x, "state"]
        )
        records = CounterMetricFamily(
            "hub_records", "Records handled by an exchange, by outcome", labels=[*x, "outcome"]
        )
        letters = GaugeMetricFamily("hub_dead_letters_open", "Failed records waiting", labels=x)
        pending = GaugeMetricFamily(
            "hub_outbox_pending", "Records read but not yet delivered (lag)", labels=x
        )
        since = GaugeMetricFamily(
            "hub_seconds_since_last_success", "Seconds since the last successful run", labels=x
        )
        stale = GaugeMetricFamily("hub_exchange_stale", "1 if no success for too long", labels=x)
        last_failed = GaugeMetricFamily(
            "hub_last_run_failed", "1 if the latest run of the exchange failed", labels=x
        )
        c = t.runs.c
        with self.hub.store.transaction() as conn:
            for exchange, state, n in conn.execute(
                select(c.exchange, c.state, func.count()).group_by(c.exchange, c.state)
            ):
                runs.add_metric([exchange, state], n)
            sums = [func.coalesce(func.sum(getattr(c, k)), 0) for k in COUNTERS]
            for exchange, *totals in conn.execute(select(c.exchange, *sums).group_by(c.exchange)):
                for outcome, total in zip(COUNTERS, totals, strict=True):
                    records.add_metric([exchange, outcome], total)
            for exchange, n in conn.execute(
                select(t.outbox.c.exchange, func.count())
                .where(t.outbox.c.status.in_([outbox.PENDING, outbox.SENDING]))
                .group_by(t.outbox.c.exchange)
            ):
                pending.add_metric([exchange], n)
            for h in all_health(conn, self.hub.config):
                letters.add_metric([h.name], h.open_dead_letters)
                stale.add_metric([h.name], int(h.stale))
                last_failed.add_metric([h.name], int(h.last_state == "failed"))
                if h.since_success is not None:
                    since.add_metric([h.name], h.since_success.total_seconds())
        yield from (runs, records, letters, pending, since, stale, last_failed)


def render(hub: Hub) -> tuple[bytes, str]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_HubCollector(hub))
    return generate_latest(registry), CONTENT_TYPE_LATEST


router = APIRouter()


@router.get("/metrics", name="metrics", dependencies=[Depends(authorise)])
def prometheus(board: Annotated[Dashboard, Depends(dashboard)]):
    body, content_type = render(board.hub)
    return Response(body, media_type=content_type)


@router.get("/healthz", name="healthz")
def healthz():
    return {"ok": True}
