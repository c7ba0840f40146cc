"""Records the hub derives from its store: indicators per practice model.

The indicators (:mod:`hub.indicators`) are computed from the service episodes, attendance and
assessments the hub holds; reading those records is logged in the access log, person by
person, with the exchange's purpose. The derived records then take the path of any read
record — validation, versioned upsert, outbox — so an indicator whose value did not change
is not published again. The stream is read whole on every run (``replication = "full"``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator

from pydantic import ValidationError

from hub import indicators
from hub.adapter import FULL, Batch, NativeRecord, RunContext, Stream
from hub.model import Assessment, Attendance, CanonicalEntity, Indicator, ServiceEpisode
from hub.store import audit, records

log = logging.getLogger(__name__)


class IndicatorsStream(Stream):
    name = "indicators"
    entity = Indicator
    description = "indicators per practice model and year, with small counts suppressed"
    replication = FULL

    def read(self, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        computed = indicators.compute(
            self._load(ServiceEpisode),
            self._load(Attendance),
            self._load(Assessment),
            today=dt.date.today(),
        )
        derived = [
            NativeRecord(indicators.native_id(i), i.model_dump(mode="json")) for i in computed
        ]
        for start in range(0, len(derived), batch_size):
            yield Batch(derived[start : start + batch_size], next_cursor=None)

    def to_canonical(self, record: NativeRecord) -> Indicator:
        return Indicator.model_validate(record.data)

    def _load(self, entity: type[CanonicalEntity]) -> list:
        exchange = self.adapter.run.exchange
        return load_logged(
            self.adapter.run,
            entity,
            action="aggregate",
            purpose=f"aggregate indicators for {exchange.target} under: {exchange.legal_basis}",
        )


def load_logged(
    run: RunContext, entity: type[CanonicalEntity], *, action: str, purpose: str
) -> list:
    """Every stored record of ``entity`` as a model, its reading written to the access log
    (``action``, ``purpose``: the exchange's) person by person, for a stream that derives
    records from the store."""
    hub, exchange = run.hub, run.exchange
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
            action=action,
            purpose=purpose,
            items=seen,
            exchange=exchange.name,
        )
    return out
