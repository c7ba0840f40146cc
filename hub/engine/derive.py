"""Extract with the hub as the source: records derived from the store.

The hub derives :class:`~hub.model.Indicator` s from the service episodes, attendance and
assessments it holds (:mod:`hub.indicators`). Reading those records is logged in the access
log, person by person, with the purpose. The derived records go through the same path as
any read record — validation, versioned upsert, outbox — so an indicator whose value did not
change is not published again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from pydantic import ValidationError

from hub import indicators
from hub.adapter import NativeRecord
from hub.engine.context import Hub
from hub.engine.extract import store_batch
from hub.engine.reader import stage
from hub.engine.translate import Translated
from hub.exchanges import DERIVED, HUB, Exchange
from hub.model import Assessment, Attendance, CanonicalEntity, ServiceEpisode
from hub.store import audit, records

log = logging.getLogger(__name__)


def _load(hub: Hub, exchange: Exchange, entity: type[CanonicalEntity]) -> list:
    """Every stored record of ``entity`` as a model, its reading written to the access log."""
    out, seen = [], []
    with hub.store.transaction() as conn:
        for rec in records.iter_entity(conn, hub.keys, entity.entity_name):
            try:
                out.append(entity.model_validate(rec.data))
            except ValidationError:  # stored under an older model: left out, not fatal
                log.warning(
                    "%s: record %s is not a valid %s today; left out",
                    exchange.name,
                    rec.id,
                    entity.entity_name,
                )
                continue
            if rec.subject_id:
                seen.append(audit.Access(rec.subject_id, rec.id))
        audit.log_access(
            conn,
            actor=f"exchange:{exchange.name}",
            action="aggregate",
            purpose=f"aggregate indicators for {exchange.target} under: {exchange.legal_basis}",
            items=seen,
            exchange=exchange.name,
        )
    return out


def _indicators(hub: Hub, exchange: Exchange) -> list[tuple[str, CanonicalEntity]]:
    computed = indicators.compute(
        _load(hub, exchange, ServiceEpisode),
        _load(hub, exchange, Attendance),
        _load(hub, exchange, Assessment),
        today=dt.date.today(),
    )
    return [(indicators.native_id(i), i) for i in computed]


DERIVERS: dict[str, Callable[[Hub, Exchange], list[tuple[str, CanonicalEntity]]]] = {
    "Indicator": _indicators,
}
assert set(DERIVERS) == set(DERIVED), "hub.exchanges.DERIVED lists what this module derives"


def derive(hub: Hub, exchange: Exchange, run_id: str | None) -> None:
    for flow in exchange.entities:
        stream = DERIVED[flow.entity]
        derived = DERIVERS[flow.entity](hub, exchange)
        for start in range(0, max(len(derived), 1), exchange.batch_size):
            chunk = derived[start : start + exchange.batch_size]
            items = [Translated(NativeRecord(nid, {}), entity) for nid, entity in chunk]
            staged = stage(hub, HUB, stream, items)
            stats = store_batch(hub, HUB, exchange, flow, stream, staged, run_id, cursor=None)
            log.info(
                "%s: derived %d %s records: %d new or changed, %d unchanged",
                exchange.name,
                stats.read,
                flow.entity,
                stats.upserted,
                stats.unchanged,
            )
