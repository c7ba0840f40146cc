"""Records the hub derives from its store: the activation plans the law requires.

The obligations (:mod:`hub.obligations`) are derived from Kela's benefit-day counts, the
income support months and the activation plans the hub holds, with the limits of the rules
file (``activation_plan``); reading those records is logged in the access log, person by
person, with the exchange's purpose. The derived records then take the path of any read
record — validation, versioned upsert, outbox — so an obligation that did not change (no
plan yet, still due by the same day) is not sent again, and one whose plan was drawn up is
sent once more with ``has_plan``. The stream is read whole on every run
(``replication = "full"``). Each obligation's id is a keyed pseudonym of the client's
identity code with the condition met: never the code itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from hub import obligations
from hub.adapter import FULL, Batch, NativeRecord, Stream
from hub.ends.derived import load_logged
from hub.model import ActivationPlan, ActivationPlanObligation, BenefitDays, IncomeSupportMonth


class ActivationPlanObligationsStream(Stream):
    name = "activation_plan_obligations"
    entity = ActivationPlanObligation
    description = "activation plans the law requires (189/2001 § 3): who, by when, drawn up or not"
    replication = FULL

    def read(self, cursor: str | None, batch_size: int) -> Iterator[Batch]:
        run = self.adapter.run
        exchange = run.exchange
        purpose = (
            f"derive the activation plans required for {exchange.target} under: "
            f"{exchange.legal_basis}"
        )

        def load(entity):
            return load_logged(run, entity, action="derive", purpose=purpose)

        derived = [
            NativeRecord(obligations.native_id(o, run.hub.keys), o.model_dump(mode="json"))
            for o in obligations.derive(
                load(BenefitDays),
                load(IncomeSupportMonth),
                load(ActivationPlan),
                rules=run.hub.rules.activation_plan,
                today=dt.date.today(),
            )
        ]
        for start in range(0, len(derived), batch_size):
            yield Batch(derived[start : start + batch_size], next_cursor=None)

    def to_canonical(self, record: NativeRecord) -> ActivationPlanObligation:
        return ActivationPlanObligation.model_validate(record.data)
